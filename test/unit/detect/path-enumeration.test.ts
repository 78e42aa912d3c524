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
  });

  it('flags the client IP that hit 70 distinct refused or missing paths in one window', async () => {
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
