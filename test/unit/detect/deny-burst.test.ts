import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { detectRange } from '../../../collector/detect/run.js';
import { at, background, call, emit, iso, load, onlyDetectors, range, spread, useStore } from './fixtures.js';

const only = onlyDetectors(['deny_burst']);
const denied = { decision: 'deny', deny_reason: 'path_not_allowed', status: 403, rule_id: '' } as const;

describe('deny_burst', () => {
  const s = useStore();
  before(async () => {
    await load(s.store, background(9));
    // Day 8, 10:01-10:04: analytics (no end user, from its usual addresses) tries 80 paths it may not use.
    await load(s.store, emit(spread(80, at(8, 10, 1), at(8, 10, 4), (ts, i) => call(ts, {
      ...denied, cloud_app: 'analytics', principal: '', client_ip: `203.0.113.${1 + (i % 20)}`, path: `/admin/probe/${i}`,
    }))));
    // Day 8, 12:00-12:03: an address never seen before uses erp-portal's token against forbidden paths.
    await load(s.store, emit(spread(60, at(8, 12, 0), at(8, 12, 3), (ts, i) => call(ts, {
      ...denied, principal: '', client_ip: '198.51.100.77', path: `/internal/${i % 7}`,
    })), 'connector-inject-2'));
    // hr-portal: Mallory and eight colleagues use it every day, never refused. Day 8, 15:00-15:10: Mallory
    // tries its admin functions 40 times from three addresses, while each colleague is refused once: the
    // app's count (48) is a little higher than hers, against the same empty baseline.
    const hr = (ts: number, principal: string, extra: Record<string, unknown> = {}) => call(ts, { cloud_app: 'hr-portal', principal, client_ip: '192.0.2.99', ...extra });
    const people = ['mallory@acme.example', ...Array.from({ length: 8 }, (_, i) => `user${i}@acme.example`)];
    await load(s.store, emit([
      ...Array.from({ length: 8 }, (_, day) => people.flatMap((who) => spread(6, at(day, 9), at(day, 17), (ts) => hr(ts, who)))).flat(),
      ...spread(40, at(8, 15, 0), at(8, 15, 10), (ts, i) => hr(ts, 'mallory@acme.example', { ...denied, client_ip: `192.0.2.${10 + (i % 3)}`, path: `/admin/${i % 4}` })),
      ...people.slice(1).map((who, i) => hr(at(8, 15, 1 + i), who, denied)),
    ], 'connector-inject-3'));
  });

  it('flags the app denied 80 times in one 15-minute window, with the window, figures and samples', async () => {
    const findings = await detectRange(s.store, range(at(8, 9), at(8, 11)), only);
    assert.equal(findings.length, 1, JSON.stringify(findings, null, 2));
    const f = findings[0]!;
    assert.deepEqual([f.detector, f.subaccount, f.entity_type, f.entity], ['deny_burst', 'acme', 'cloud_app', 'analytics']);
    assert.equal(f.window_start, iso(at(8, 10, 0)));
    assert.equal(f.window_end, iso(at(8, 10, 15)));
    assert.ok((f.evidence.observed as number) >= 80, JSON.stringify(f.evidence));
    assert.equal(f.evidence.sample_event_ids?.length, 20);
    assert.match(f.explanation, /denied \d+ times in 15 minutes \(path_not_allowed \d+\)/);
    assert.match(f.explanation, /Baseline: the median of the daily busiest 15-minute window over the last 8 days is \d+/);
    assert.match(f.explanation, /Threshold: at least 20 and at least 3 x baseline/);
    assert.notEqual(f.severity, 'low');
  });

  it('names the new client IP rather than the app whose token it used', async () => {
    const findings = await detectRange(s.store, range(at(8, 11), at(8, 13)), only);
    assert.equal(findings.length, 1, JSON.stringify(findings, null, 2));
    const f = findings[0]!;
    assert.deepEqual([f.entity_type, f.entity, f.window_start], ['client_ip', '198.51.100.77', iso(at(8, 12, 0))]);
    assert.equal(f.evidence.new_entity, true);
    assert.deepEqual((f.evidence.also_seen_as as { entity: string }[]).map((a) => a.entity), ['erp-portal']);
    assert.match(f.explanation, /made no call in this subaccount before that day/);
  });

  it('names the employee behind a burst rather than the app that carried it and a few other refusals', async () => {
    const findings = await detectRange(s.store, range(at(8, 14), at(8, 16)), only);
    assert.deepEqual(findings.map((f) => [f.entity_type, f.entity, f.window_start]), [['principal', 'mallory@acme.example', iso(at(8, 15, 0))]], JSON.stringify(findings, null, 2));
    assert.ok((findings[0]!.evidence.also_seen_as as { entity: string }[]).some((a) => a.entity === 'hr-portal'), JSON.stringify(findings[0]!.evidence));
  });

  it('stays quiet over days of ordinary traffic', async () => {
    assert.deepEqual(await detectRange(s.store, range(at(3, 0), at(8, 0)), only), []);
  });
});

describe('deny_burst of a slow probe', () => {
  const s = useStore();
  before(async () => {
    await load(s.store, background(9));
    // Day 8, 12:00-17:50: a principal never seen before is refused 100 times, one every 3.5 minutes (4 or 5
    // per 15 minutes, far below the short window's floor of 20).
    const probe = (principal: string) => (ts: number, i: number) => call(ts, {
      principal, decision: 'deny', deny_reason: i % 2 === 0 ? 'method_not_allowed' : 'path_not_allowed', status: 403, rule_id: '', method: i % 2 === 0 ? 'DELETE' : 'GET',
    });
    await load(s.store, emit([
      ...spread(100, at(8, 12, 0), at(8, 17, 50), probe('mallory@acme.example')),
      // Day 7, 08:00-15:56: 120 refusals of another new principal, 60 in each plain 6-hour window it
      // touches, 90 in the shifted one from 09:00.
      ...spread(120, at(7, 8, 0), at(7, 15, 56), probe('trudy@acme.example')),
    ], 'connector-inject-slow'));
  });

  it('flags the principal in the long window', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.deepEqual(findings.map((f) => [f.entity_type, f.entity, f.window_start, f.window_end]), [['principal', 'mallory@acme.example', iso(at(8, 12)), iso(at(8, 18))]], JSON.stringify(findings, null, 2));
    assert.equal(findings[0]!.evidence.observed, 100);
    assert.match(findings[0]!.title, /Burst of 100 denied calls by principal mallory@acme\.example in 6 hours/);
  });

  it('flags a slow probe split between two plain long windows in the shifted one', async () => {
    const findings = await detectRange(s.store, range(at(7, 0), at(8, 0)), only);
    assert.deepEqual(findings.map((f) => [f.entity, f.window_start, f.window_end, f.evidence.observed]), [['trudy@acme.example', iso(at(7, 9)), iso(at(7, 15)), 90]], JSON.stringify(findings, null, 2));
  });
});
