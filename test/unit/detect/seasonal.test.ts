// The seasonal judgement of volume_spike and exfiltration on crafted candidates (no store): the busiest of a
// window and its neighbours per earlier day, the same weekday, the month-end allowance, the absolute
// excess and the noise of a sum of large responses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DetectContext } from '../../../collector/detect/detector.js';
import { inMonthEnd, monthEndPeriod } from '../../../collector/detect/month-end.js';
import { daySample, judgeSeasonal, type SeasonalCandidate, type SeasonalDay, type SeasonalParams } from '../../../collector/detect/seasonal.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ctx = { warmupDays: 3 } as DetectContext;
const GRID = { windowMs: HOUR, offsetMs: 0 };
const COUNTS: SeasonalParams = { z: 5, ratio: 3, minExcess: 30, minSamples: 3, unit: 1, eventSize: 1, monthEndFactor: 2, monthEndDays: 2 };

function isWeekend(ms: number): boolean {
  return [0, 6].includes(new Date(ms).getUTCDay());
}

/** A candidate for the hourly window starting at `start`, with `history` earlier days (newest first) given by `value(k)`. */
function candidate(start: number, observed: number, history: number, value: (k: number) => Partial<SeasonalDay>): SeasonalCandidate {
  const days = Array.from({ length: history }, (_, i) => ({ same: 0, before: 0, after: 0, weekend: isWeekend(start - (i + 1) * DAY), ...value(i + 1) }));
  return { subaccount: 'acme', entity: 'app', win: start / HOUR, observed, extras: {}, weekend: isWeekend(start), historyDays: history, days };
}

// Wednesday 2026-10-21 10:00 UTC: an ordinary weekday, far from a month-end.
const WED = Date.parse('2026-10-21T10:00:00Z');

describe('seasonal judgement', () => {
  it('flags 4x the usual calls and reports the baseline it used', () => {
    const v = judgeSeasonal(ctx, candidate(WED, 200, 14, () => ({ same: 50, before: 45, after: 40 })), COUNTS, GRID);
    assert.ok(v);
    assert.equal(v.median, 50);
    assert.equal(v.basis, 'weekdays');
    assert.equal(v.sampleCount, 10);
    assert.equal(v.weekdayMedian, 50);
    assert.equal(v.monthEndFactor, 1);
    assert.equal(v.threshold, 150);
  });

  it('reads a window longer than an hour on its own: its neighbours are other times of day, not an hour\'s shift', () => {
    // Six-hour windows: 06:00-12:00 is quiet, the office hours fall in 12:00-18:00 (the window after).
    const SIX = { windowMs: 6 * HOUR, offsetMs: 0 };
    const start = Date.parse('2026-10-21T06:00:00Z');
    const days = Array.from({ length: 10 }, (_, i) => ({ same: 2_000_000, before: 200_000, after: 30_000_000, weekend: isWeekend(start - (i + 1) * DAY) }));
    const drip: SeasonalCandidate = { subaccount: 'acme', entity: 'app', win: start / (6 * HOUR), observed: 18_000_000, extras: {}, weekend: false, historyDays: 10, days };
    const bytes: SeasonalParams = { ...COUNTS, ratio: 3, minExcess: 10_000_000, unit: 100_000, eventSize: 20_000 };
    const v = judgeSeasonal(ctx, drip, bytes, SIX);
    assert.equal(v?.median, 2_000_000, 'the window itself, not the busy afternoon after it');
    assert.equal(v?.neighbours, false);
  });

  it('reads a day whose traffic moved by an hour in the busier neighbour: no spike from a shifted job, no excuse from a ramp or a dip', () => {
    // A nightly job ran in the window before on the older days and in this window on the newer ones.
    const c = candidate(WED, 150, 9, (k) => (k <= 4 ? { same: 150 } : { before: 150, same: 10 }));
    assert.equal(judgeSeasonal(ctx, c, COUNTS, GRID), undefined);
    assert.equal(daySample(c.days[5] as SeasonalDay), 150, 'an older day is read in the window before');
    // Without the neighbours the older days would make it 150 against 10.
    const alone = candidate(WED, 150, 9, (k) => (k <= 4 ? { same: 150 } : { same: 10 }));
    assert.equal(judgeSeasonal(ctx, alone, COUNTS, GRID)?.median, 10);
    // Office hours ramping up, and a lunch dip: the neighbours' mean within 1.5 times the window.
    const ramp = judgeSeasonal(ctx, candidate(WED, 500, 10, () => ({ before: 100, same: 150, after: 200 })), COUNTS, GRID);
    assert.equal(ramp?.median, 150);
    const dip = judgeSeasonal(ctx, candidate(WED, 500, 10, () => ({ before: 200, same: 150, after: 190 })), COUNTS, GRID);
    assert.equal(dip?.median, 150);
  });

  it('keeps a weekend window at least as busy as the same weekday a week before (a Monday morning on a UTC Sunday)', () => {
    const sunday = Date.parse('2026-11-01T23:00:00Z');
    // Saturdays quiet, the previous Sunday at this hour busy: another time zone's Monday morning.
    const c = candidate(sunday, 70, 13, (k) => (new Date(sunday - k * DAY).getUTCDay() === 0 ? { same: 60 } : new Date(sunday - k * DAY).getUTCDay() === 6 ? { same: 2 } : { same: 55 }));
    assert.equal(judgeSeasonal(ctx, c, COUNTS, GRID), undefined);
    const noWeekAgo = { ...c, historyDays: 6, days: c.days.slice(0, 6) };
    // Without a week of history the weekend days are too few and all days are the baseline: still quiet.
    assert.equal(judgeSeasonal(ctx, noWeekAgo, COUNTS, GRID), undefined);
    const v = judgeSeasonal(ctx, { ...c, days: c.days.map((d, i) => (i === 6 ? { ...d, same: 2 } : d)) }, COUNTS, GRID);
    assert.ok(v, 'with a quiet Sunday a week before, 70 calls against 2 is a spike');
    assert.equal(v.basis, 'weekend days');
  });

  it('allows a month-end closing twice the usual baseline, and only on the last business days', () => {
    const monthEnd = Date.parse('2026-10-29T10:00:00Z');
    const days = () => ({ same: 30, before: 28, after: 25 });
    assert.equal(judgeSeasonal(ctx, candidate(monthEnd, 110, 10, days), COUNTS, GRID), undefined);
    assert.ok(judgeSeasonal(ctx, candidate(WED, 110, 10, days), COUNTS, GRID));
    const v = judgeSeasonal(ctx, candidate(monthEnd, 200, 10, days), COUNTS, GRID);
    assert.equal(v?.monthEndFactor, 2);
    assert.equal(v?.median, 60);
    assert.equal(judgeSeasonal(ctx, candidate(monthEnd, 110, 10, days), { ...COUNTS, monthEndFactor: 1 }, GRID)?.median, 30);
  });

  it('needs an absolute excess: a quiet hour\'s 20 calls against 2 are no spike', () => {
    assert.equal(judgeSeasonal(ctx, candidate(WED, 20, 10, () => ({ same: 2, before: 1, after: 2 })), COUNTS, GRID), undefined);
    assert.ok(judgeSeasonal(ctx, candidate(WED, 40, 10, () => ({ same: 2, before: 1, after: 2 })), COUNTS, GRID));
  });

  it('scales a byte total by the size of the responses it is made of (compound Poisson)', () => {
    const bytes: SeasonalParams = { z: 6, ratio: 4, minExcess: 5_000_000, minSamples: 3, unit: 100_000, eventSize: 0, monthEndFactor: 2, monthEndDays: 2 };
    const steady = () => ({ same: 1_200_000, before: 1_100_000, after: 1_000_000 });
    // 6.6 MB against 1.2 MB: a spike for an app of small responses, three reports for one whose responses weigh ~1.5 MB.
    assert.ok(judgeSeasonal(ctx, candidate(WED, 6_600_000, 10, steady), { ...bytes, eventSize: 20_000 }, GRID));
    const heavy = judgeSeasonal(ctx, candidate(WED, 6_600_000, 10, steady), { ...bytes, eventSize: 1_500_000 }, GRID);
    assert.equal(heavy, undefined);
    assert.ok(judgeSeasonal(ctx, candidate(WED, 40_000_000, 10, steady), { ...bytes, eventSize: 1_500_000 }, GRID), 'a 40 MB dump is still far above');
  });

  it('does not judge with less history than the warm-up or fewer samples than min_samples', () => {
    assert.equal(judgeSeasonal(ctx, candidate(WED, 500, 2, () => ({ same: 10 })), COUNTS, GRID), undefined);
    assert.equal(judgeSeasonal(ctx, candidate(WED, 500, 3, () => ({ same: 10 })), { ...COUNTS, minSamples: 4 }, GRID), undefined);
  });
});

describe('month-end', () => {
  it('is the last two weekdays of the month, widened to business hours in every time zone', () => {
    // October 2026 ends on a Saturday: Thursday 29th and Friday 30th.
    assert.deepEqual(monthEndPeriod(Date.parse('2026-10-10T00:00:00Z'), 2), { startMs: Date.parse('2026-10-28T20:00:00Z'), endMs: Date.parse('2026-10-31T06:00:00Z') });
    // November 2026 ends on a Monday: Friday 27th and Monday 30th, reaching into December 1st.
    const nov = monthEndPeriod(Date.parse('2026-11-03T00:00:00Z'), 2);
    assert.deepEqual(nov, { startMs: Date.parse('2026-11-26T20:00:00Z'), endMs: Date.parse('2026-12-01T06:00:00Z') });
    assert.equal(inMonthEnd(Date.parse('2026-12-01T03:00:00Z'), Date.parse('2026-12-01T04:00:00Z'), 2), true);
    assert.equal(inMonthEnd(Date.parse('2026-12-01T07:00:00Z'), Date.parse('2026-12-01T08:00:00Z'), 2), false);
    assert.equal(inMonthEnd(Date.parse('2026-10-28T16:00:00Z'), Date.parse('2026-10-28T17:00:00Z'), 2), false, 'the day before is an ordinary day');
    assert.equal(inMonthEnd(Date.parse('2026-10-28T21:00:00Z'), Date.parse('2026-10-28T22:00:00Z'), 2), true, 'already the 29th in Auckland');
    assert.equal(monthEndPeriod(Date.parse('2026-10-10T00:00:00Z'), 0), undefined);
  });
});
