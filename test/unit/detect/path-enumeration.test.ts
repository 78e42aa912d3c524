import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { detectRange } from '../../../collector/detect/run.js';
import { at, background, call, emit, iso, load, onlyDetectors, range, spread, useStore } from './fixtures.js';

const only = onlyDetectors(['path_enumeration']);

describe('path_enumeration', () => {
  const s = useStore();
  before(async () => {
    await load(s.store, background(9));
    // Day 8, 15:00-15:08: a new address walks 70 paths, half refused, half not found.
    await load(s.store, emit(spread(70, at(8, 15, 0), at(8, 15, 8), (ts, i) => call(ts, {
      cloud_app: 'analytics', principal: '', client_ip: '198.51.100.23', path: `/hidden/${['backup', 'old', 'test', 'v0', 'dev'][i % 5]}-${i}`,
      ...(i % 2 === 0 ? { decision: 'deny', deny_reason: 'path_not_allowed', status: 403, rule_id: '' } : { status: 404 }),
    }))));
    // Day 8, 03:00-03:08: the connector restarts and the relay refuses 80 ordinary calls of an app, on as
    // many paths (no_connector); at 06:00 an app whose trust was revoked is refused on 80 paths
    // (app_not_trusted). Any path would have been refused: neither is a scan.
    const refusedAll = (reason: 'no_connector' | 'app_not_trusted', hh: number, app: string) => emit(spread(80, at(8, hh, 0), at(8, hh, 8), (ts, i) => call(ts, {
      cloud_app: app, principal: '', client_ip: '203.0.113.50', path: `/api/orders/${1000 + i}`, decision: 'deny', deny_reason: reason, status: reason === 'no_connector' ? 503 : 403, rule_id: '',
    })), `relay-inject-${reason}`);
    await load(s.store, [...refusedAll('no_connector', 3, 'erp-portal'), ...refusedAll('app_not_trusted', 6, 'erp-portal')]);
  });

  it('flags the client IP that hit 70 distinct refused or missing paths in one window, not refusals that any path would have got', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.equal(findings.length, 1, JSON.stringify(findings, null, 2));
    const f = findings[0]!;
    assert.deepEqual([f.detector, f.subaccount, f.entity_type, f.entity], ['path_enumeration', 'acme', 'client_ip', '198.51.100.23']);
    assert.deepEqual([f.window_start, f.window_end], [iso(at(8, 15, 0)), iso(at(8, 15, 10))]);
    assert.equal(f.evidence.observed, 70);
    assert.equal(f.evidence.denied_calls, 35);
    assert.equal(f.evidence.not_found_calls, 35);
    assert.equal((f.evidence.example_paths as string[]).length, 5);
    assert.ok((f.evidence.also_seen_as as { entity_type: string }[]).some((a) => a.entity_type === 'cloud_app'));
  });

  it('stays quiet over days of ordinary traffic (scattered 404s and refusals)', async () => {
    assert.deepEqual(await detectRange(s.store, range(at(3, 0), at(8, 0)), only), []);
  });
});

describe('path_enumeration beyond refusals and 404s', () => {
  const s = useStore();
  const WORDS = ['admin', 'backup', 'config', 'debug', 'export', 'internal', 'logs', 'old', 'secrets', 'test'];
  before(async () => {
    await load(s.store, background(9));
    await load(s.store, emit([
      // Day 8, 10:00-10:08: a new address runs a wordlist; the backend's WAF answers 403 (and 401 where a
      // login is asked for), never 404.
      ...spread(60, at(8, 10, 0), at(8, 10, 8), (ts, i) => call(ts, {
        cloud_app: 'analytics', principal: '', client_ip: '198.51.100.40', path: `/api/${WORDS[i % 10]}/${Math.floor(i / 10)}`, status: i % 3 === 0 ? 401 : 403, bytes_out: 150,
      })),
      // Day 8, 16:00-16:10: the ERP stops accepting erp-portal's credentials: 90 of its ordinary calls from its
      // usual address, on as many order ids, answered 401. An outage, not a scan.
      ...spread(90, at(8, 16, 0), at(8, 16, 10), (ts, i) => call(ts, { principal: '', client_ip: '203.0.113.7', path: `/api/orders/${7000 + i}`, status: 401, bytes_out: 150 })),
      // Day 8, 12:00-12:08: bob walks object ids in the query string of one path, most not found.
      ...spread(80, at(8, 12, 0), at(8, 12, 8), (ts, i) => call(ts, {
        principal: 'bob@acme.example', path: '/api/orders/lookup', query: `id=${50_000 + i}`, status: i % 7 === 0 ? 200 : 404, bytes_out: 150,
      })),
    ], 'connector-inject-4xx'));
  });

  it('counts the 403 answers of a WAF, and ids walked in the query string, not a backend refusing an app\'s credentials (401)', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.deepEqual(findings.map((f) => [f.entity_type, f.entity, f.window_start]).sort(), [
      ['client_ip', '198.51.100.40', iso(at(8, 10, 0))],
      ['principal', 'bob@acme.example', iso(at(8, 12, 0))],
    ], JSON.stringify(findings, null, 2));
    const waf = findings.find((f) => f.entity === '198.51.100.40')!;
    assert.equal(waf.evidence.observed, 40);
    assert.deepEqual(waf.evidence.answered_statuses, { 403: 40 });
    const walk = findings.find((f) => f.entity === 'bob@acme.example')!;
    assert.ok((walk.evidence.observed as number) >= 68, JSON.stringify(walk.evidence));
    assert.equal(walk.evidence.distinct_paths, 1);
    assert.match(walk.explanation, /distinct targets \(path and query; 1 distinct paths\)/);
  });
});

describe('path_enumeration of a slow scan', () => {
  const s = useStore();
  before(async () => {
    await load(s.store, background(9));
    await load(s.store, emit([
      // Day 8, 06:00-11:50: a new address asks for 150 paths, one every 140 seconds (3 to 5 per 10 minutes).
      ...spread(150, at(8, 6, 0), at(8, 11, 50), (ts, i) => call(ts, {
        cloud_app: 'analytics', principal: '', client_ip: '198.51.100.77', path: `/files/${i}.bak`, status: 404, bytes_out: 150,
      })),
      // Day 7, 08:00-15:50: 160 paths from a third new address, one every 3 minutes: 82 and 78 in the plain
      // 6-hour windows it touches (06:00-12:00, 12:00-18:00), 122 in the shifted one from 09:00.
      ...spread(160, at(7, 8, 0), at(7, 15, 50), (ts, i) => call(ts, {
        cloud_app: 'analytics', principal: '', client_ip: '198.51.100.79', path: `/files/${i}.tmp`, status: 403, bytes_out: 150,
      })),
      // Day 8, 15:00-15:08: a fast scan of 150 paths from another new address: the short window's.
      ...spread(150, at(8, 15, 0), at(8, 15, 8), (ts, i) => call(ts, {
        cloud_app: 'erp-portal', principal: '', client_ip: '198.51.100.78', path: `/files/${i}.old`, status: 404, bytes_out: 150,
      })),
    ], 'connector-inject-slow'));
  });

  it('flags the slow scan in its long window, and the fast one in its short window only', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.deepEqual(findings.map((f) => [f.entity, f.window_start, f.window_end]), [
      ['198.51.100.77', iso(at(8, 6)), iso(at(8, 12))],
      ['198.51.100.78', iso(at(8, 15, 0)), iso(at(8, 15, 10))],
    ], JSON.stringify(findings, null, 2));
    assert.equal(findings[0]!.evidence.observed, 150);
    assert.equal(findings[0]!.evidence.window_minutes, 360);
    assert.match(findings[0]!.title, /150 distinct refused or failing targets in 6 hours/);
  });

  it('flags a slow scan split between two plain long windows in the shifted one', async () => {
    const findings = await detectRange(s.store, range(at(7, 0), at(8, 0)), only);
    assert.deepEqual(findings.map((f) => [f.entity, f.window_start, f.window_end]), [['198.51.100.79', iso(at(7, 9)), iso(at(7, 15))]], JSON.stringify(findings, null, 2));
    assert.equal(findings[0]!.evidence.observed, 122);
  });

  it('finds the same findings, with the same ids, in a live run whose range starts inside the long window', async () => {
    const whole = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    const live = await detectRange(s.store, range(at(8, 10), at(8, 16)), only);
    assert.deepEqual(live.map((f) => f.finding_id), whole.map((f) => f.finding_id));
    // From 16:00 the fast scan's short window lies before the range, inside the long window still judged:
    // it is reported there by an earlier run, and the long window is still not reported for it.
    assert.deepEqual(await detectRange(s.store, range(at(8, 16), at(8, 18)), only), []);
  });
});
