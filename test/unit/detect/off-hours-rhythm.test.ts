// The rhythm rules of off_hours on crafted hour counts (no store).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DetectContext } from '../../../collector/detect/detector.js';
import { inUsualSpan, judgeHour, quietChance } from '../../../collector/detect/off-hours-rhythm.js';

/** Active-day counts by hour: `days` at each of the given hours, 0 elsewhere. */
function counts(hours: readonly number[], days: number): number[] {
  return Array.from({ length: 24 }, (_, h) => (hours.includes(h) ? days : 0));
}

const office = counts([9, 10, 11, 12, 13, 14, 15, 16], 10);

describe('off_hours rhythm', () => {
  it('has a span of usual hours, widened by the margin, that may wrap around midnight', () => {
    assert.equal(inUsualSpan(office, 10, 0.1, 12), true);
    assert.equal(inUsualSpan(office, 10, 0.1, 3), false);
    assert.equal(inUsualSpan(office, 10, 0.1, 18, 2), true, 'two hours after the last usual hour');
    assert.equal(inUsualSpan(office, 10, 0.1, 19, 2), false);
    assert.equal(inUsualSpan(office, 10, 0.1, 7, 2), true);
    const night = counts([22, 23, 0, 1, 2, 3, 4, 5], 10);
    assert.equal(inUsualSpan(night, 10, 0.1, 1), true);
    assert.equal(inUsualSpan(night, 10, 0.1, 12, 2), false);
    // An hour active on one day in ten is not usual: it does not stretch the span.
    const withOneNight = office.map((x, h) => (h === 2 ? 1 : x));
    assert.equal(inUsualSpan(withOneNight, 10, 0.1, 4), false);
    // Nor is one late evening among nine days, though it is more than 10 % of them.
    const withOneEvening = counts([9, 10, 11, 12, 13, 14, 15, 16], 9).map((x, h) => (h === 23 ? 1 : x));
    assert.equal(inUsualSpan(withOneEvening, 9, 0.1, 0, 2), false);
    assert.equal(inUsualSpan(counts([], 10), 10, 0.1, 4), false, 'no usual hours: nothing is inside');
  });

  it('tells a regular rhythm from a sparse one', () => {
    assert.equal(quietChance(office, 10), 0);
    // Active an hour or two a day at random office hours: its busiest hour on 2 of 5 days.
    const sparse = counts([7], 2).map((x, h) => ([9, 11, 13].includes(h) ? 1 : x));
    assert.ok(Math.abs(quietChance(sparse, 5) - 0.6 ** 5) < 1e-12);
    assert.ok(quietChance(sparse, 5) > 0.05);
    assert.equal(quietChance(counts([], 4), 4), 0, 'never active on such days: any hour is unusual');
  });

  it('judges an hour of a principal from its day masks', () => {
    const day0 = Date.parse('2026-10-05T00:00:00Z') / 86_400_000;
    const ctx = { baselineDays: 14, warmupDays: 3, dataStartMs: day0 * 86_400_000 } as DetectContext;
    const p = { maxShare: 0.1, neighbourShare: 0.25, minActiveShare: 0.5, minTypeDays: 3, maxChance: 0.05, spanMarginHours: 2 };
    // 09:00-17:00 on the weekdays of the first week.
    const work = [9, 10, 11, 12, 13, 14, 15, 16].reduce((m, h) => m | (1 << h), 0);
    const masks = new Map<number, number>([0, 1, 2, 3, 4].map((d) => [day0 + d, work]));
    assert.deepEqual(judgeHour(masks, day0 + 7, 3, ctx, p), { known: true, off: true });
    assert.deepEqual(judgeHour(masks, day0 + 7, 10, ctx, p), { known: true, off: false });
    assert.deepEqual(judgeHour(masks, day0 + 7, 18, ctx, p), { known: true, off: false }, 'staying two hours late');
    assert.deepEqual(judgeHour(masks, day0 + 2, 3, ctx, p), { known: false, off: false }, 'within the warm-up');
    assert.deepEqual(judgeHour(new Map(), day0 + 7, 3, ctx, p), { known: false, off: false });
  });
});
