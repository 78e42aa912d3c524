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
    // Day 8, 15:30-16:30: erp-portal makes 50 extra calls on top of its ~17 an hour: half of them in each
    // plain hourly window (2.5x each), all of them in the window shifted by half an hour (4x).
    await load(s.store, emit(spread(50, at(8, 15, 30), at(8, 16, 29), (ts) => call(ts, { cloud_app: 'erp-portal' })), 'connector-inject-3'));
  });

  it('flags the app, against the same hour of earlier weekdays, and not its subaccount as well', async () => {
    const findings = (await detectRange(s.store, range(at(8, 0), at(9, 0)), only)).filter((f) => f.entity !== 'erp-portal');
    assert.equal(findings.length, 1, JSON.stringify(findings, null, 2));
    const f = findings[0]!;
    assert.deepEqual([f.detector, f.subaccount, f.entity_type, f.entity], ['volume_spike', 'acme', 'cloud_app', 'analytics']);
    assert.deepEqual([f.window_start, f.window_end], [iso(at(8, 13)), iso(at(8, 14))]);
    assert.ok((f.evidence.observed as number) > 400);
    assert.ok((f.evidence.median as number) < 40, JSON.stringify(f.evidence));
    assert.equal(f.evidence.basis, 'weekdays');
    assert.match(f.explanation, /Baseline \d+: for each of \d+ earlier weekdays \(8 days of history\), this window, or its busier neighbour where their mean was 1.5 times the window \(traffic moved by an hour\), so an hour's shift is not a spike: median \d+ \(MAD [\d.]+; this window alone \d+\); the same weekday in earlier weeks: \d+\./);
    assert.match(f.explanation, /at least 3 x baseline and at least 30 calls above it/);
    assert.match(f.explanation, /robust z = /);
    assert.equal(f.evidence.month_end_factor, 1);
  });

  it('sees a spike straddling two hourly windows whole in the window shifted by half an hour', async () => {
    const findings = (await detectRange(s.store, range(at(8, 0), at(9, 0)), only)).filter((f) => f.entity === 'erp-portal');
    assert.deepEqual(findings.map((f) => [f.window_start, f.window_end]), [[iso(at(8, 15, 30)), iso(at(8, 16, 30))]], JSON.stringify(findings, null, 2));
    assert.ok((findings[0]!.evidence.observed as number) >= 50);
    const plainOnly = await detectRange(s.store, range(at(8, 0), at(9, 0)), onlyDetectors(['volume_spike'], { volume_spike: { shifted_windows: false } }));
    assert.deepEqual(plainOnly.filter((f) => f.entity === 'erp-portal'), []);
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

describe('volume_spike in a sweep over a later range (a live run) knows entities from before its horizon', () => {
  const s = useStore();
  // Baseline 7 days: judging day 17, the horizon begins on day 10.
  const config = { ...only, baseline_days: 7 };
  before(async () => {
    await load(s.store, background(18));
    // "reports" of acme: 15 calls at 10:00 on days 0-6, idle on days 7-14 (the horizon begins idle), back
    // on days 15-16, then 400 calls at 10:00 on day 17.
    const days = [0, 1, 2, 3, 4, 5, 6, 15, 16];
    const calls = days.flatMap((d) => spread(15, at(d, 10, 0), at(d, 10, 59), (ts) => call(ts, { cloud_app: 'reports' })));
    calls.push(...spread(400, at(17, 10, 0), at(17, 10, 59), (ts) => call(ts, { cloud_app: 'reports' })));
    // "ledger": the same, but seen only on days 0-1, more than the baseline before the horizon.
    for (const d of [0, 1, 15, 16]) calls.push(...spread(15, at(d, 12, 0), at(d, 12, 59), (ts) => call(ts, { cloud_app: 'ledger' })));
    calls.push(...spread(400, at(17, 12, 0), at(17, 12, 59), (ts) => call(ts, { cloud_app: 'ledger' })));
    await load(s.store, emit(calls, 'connector-inject-4'));
  });

  it('judges an app idle when the horizon begins with the history a whole-store sweep gives it', async () => {
    const whole = (await detectRange(s.store, range(at(0, 0), at(18, 0)), config)).filter((f) => f.entity === 'reports');
    const later = (await detectRange(s.store, range(at(17, 0), at(18, 0)), config)).filter((f) => f.entity === 'reports');
    assert.deepEqual(whole.map((f) => [f.window_start, f.evidence.history_days]), [[iso(at(17, 10)), 7]], JSON.stringify(whole, null, 2));
    // Counted from its first day in the horizon (day 15) it would have 2 days of history, under the warm-up.
    assert.deepEqual(later.map((f) => [f.window_start, f.evidence.history_days, f.evidence.samples, f.evidence.median]),
      whole.map((f) => [f.window_start, f.evidence.history_days, f.evidence.samples, f.evidence.median]));
  });

  it('counts an app seen only longer than the baseline before the horizon from its first day in it', async () => {
    // The documented limit of a later range: the whole-store sweep still knows "ledger" from day 0.
    const later = (await detectRange(s.store, range(at(17, 0), at(18, 0)), config)).filter((f) => f.entity === 'ledger');
    assert.deepEqual(later, []);
    const whole = (await detectRange(s.store, range(at(0, 0), at(18, 0)), config)).filter((f) => f.entity === 'ledger');
    assert.deepEqual(whole.map((f) => f.window_start), [iso(at(17, 12))]);
  });
});
