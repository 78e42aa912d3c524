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
