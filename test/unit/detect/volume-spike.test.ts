import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { detectRange } from '../../../collector/detect/run.js';
import { at, background, call, emit, iso, load, onlyDetectors, range, spread, useStore } from './fixtures.js';

const only = onlyDetectors(['volume_spike']);

describe('volume_spike', () => {
  const s = useStore();
  before(async () => {
    await load(s.store, background(9));
    // Day 8 (a Tuesday), 13:00-14:00: analytics makes 400 calls where it usually makes ~15.
    await load(s.store, emit(spread(400, at(8, 13, 0), at(8, 13, 59), (ts) => call(ts, { cloud_app: 'analytics' }))));
    // A nightly job at 02:10-02:50 that runs an hour later on day 8 (a daylight saving change).
    const nightly = [];
    for (let day = 0; day < 9; day++) {
      const h = day === 8 ? 3 : 2;
      nightly.push(...spread(100, at(day, h, 10), at(day, h, 50), (ts) => call(ts, { cloud_app: 'nightly-sync', principal: '' })));
    }
    await load(s.store, emit(nightly, 'connector-inject-2'));
  });

  it('flags the app, against the same hour of earlier weekdays, and not its subaccount as well', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.equal(findings.length, 1, JSON.stringify(findings, null, 2));
    const f = findings[0]!;
    assert.deepEqual([f.detector, f.subaccount, f.entity_type, f.entity], ['volume_spike', 'acme', 'cloud_app', 'analytics']);
    assert.deepEqual([f.window_start, f.window_end], [iso(at(8, 13)), iso(at(8, 14))]);
    assert.ok((f.evidence.observed as number) > 400);
    assert.ok((f.evidence.median as number) < 40, JSON.stringify(f.evidence));
    assert.equal(f.evidence.basis, 'weekdays');
    assert.match(f.explanation, /Baseline: median \d+ over \d+ earlier weekdays at the same time of day \(8 days of history\): the highest of this window's median \(\d+, MAD [\d.]+\) and its neighbours'/);
    assert.match(f.explanation, /robust z = /);
  });

  it('does not take a rhythm shifted by an hour for a spike', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.deepEqual(findings.filter((f) => f.entity === 'nightly-sync'), []);
  });

  it('stays quiet over days of ordinary traffic', async () => {
    assert.deepEqual(await detectRange(s.store, range(at(3, 0), at(8, 0)), only), []);
  });

  it('does not judge before the warm-up (nothing to compare with)', async () => {
    assert.deepEqual(await detectRange(s.store, range(at(0, 0), at(2, 0)), only), []);
  });
});
