import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { readFindings } from '../../../collector/detect/findings-store.js';
import { createLiveDetector } from '../../../collector/detect/live.js';
import { at, background, call, emit, iso, load, onlyDetectors, spread, useStore } from './fixtures.js';

describe('live detection', () => {
  const s = useStore();
  let clock = at(8, 10, 8);
  const seen: string[] = [];
  before(async () => {
    await load(s.store, background(9));
    // A probe that goes on for 20 minutes: 10:00-10:20.
    await load(s.store, emit(spread(200, at(8, 10, 0), at(8, 10, 20), (ts, i) => call(ts, {
      cloud_app: 'analytics', principal: '', client_ip: `203.0.113.${1 + (i % 20)}`, decision: 'deny', deny_reason: 'path_not_allowed', status: 403, rule_id: '', path: `/admin/${i}`,
    }))));
  });

  it('stores what each run finds, updates it as the window fills and continues an episode across runs', async () => {
    const live = createLiveDetector({
      store: s.store, config: onlyDetectors(['deny_burst'], { deny_burst: { window_minutes: 5 } }), now: () => clock, settleMs: 0, lookbackMs: 10 * 60_000,
      onFindings: (r) => void seen.push(...r.created.map((f) => `created ${f.window_start}..${f.window_end}`), ...r.updated.map((f) => `updated ${f.window_start}..${f.window_end}`)),
    });
    const first = await live.runOnce();
    assert.equal(first?.created, 1);
    const [f1] = await readFindings(s.store);
    assert.deepEqual([f1?.entity, f1?.window_start], ['analytics', iso(at(8, 10, 0))]);

    const again = await live.runOnce();
    assert.deepEqual([again?.created, again?.updated], [0, 0], 'nothing new: nothing written');

    // 12 minutes later the lookback no longer reaches 10:00, yet the finding is the same one, longer.
    clock = at(8, 10, 20);
    await live.runOnce();
    const all = await readFindings(s.store);
    assert.equal(all.length, 1, JSON.stringify(all, null, 2));
    assert.deepEqual([all[0]?.finding_id, all[0]?.window_start, all[0]?.window_end], [f1?.finding_id, iso(at(8, 10, 0)), iso(at(8, 10, 20))]);
    assert.deepEqual(seen, [`created ${iso(at(8, 10, 0))}..${iso(at(8, 10, 10))}`, `updated ${iso(at(8, 10, 0))}..${iso(at(8, 10, 20))}`]);
  });

  it('starts, ticks and stops without overlapping runs', async () => {
    const live = createLiveDetector({ store: s.store, config: onlyDetectors(['deny_burst']), now: () => clock, settleMs: 0, intervalMs: 20 });
    live.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await live.stop();
    assert.ok(live.lastRun, 'ran at least once');
  });
});
