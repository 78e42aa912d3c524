// The month-end of the seasonal detectors: closing the books makes finance and reporting apps (and the
// integrations feeding them) much busier on the last business days of a month, a rhythm a 14-day
// baseline never contains (the previous month-end is further back). Business days are taken as Monday
// to Friday by UTC date; the period is widened so that it covers the business hours (08:00-20:00 local) of
// those days in every time zone from UTC-10 to UTC+12: from 20:00 UTC the day before (08:00 in
// Auckland) to 06:00 UTC the day after (20:00 in Honolulu). Not wider: the day before a month-end is an
// ordinary day wherever the office hours are. Local holidays are not known here.
import { DAY_MS, HOUR_MS } from './sql.js';

const BEFORE_MS = 4 * HOUR_MS;
const AFTER_MS = 6 * HOUR_MS;

function isWeekday(dayMs: number): boolean {
  const d = new Date(dayMs).getUTCDay();
  return d !== 0 && d !== 6;
}

/** [start, end) of the last `days` weekdays of the month containing `ms` (UTC), widened to every time zone's business hours. */
export function monthEndPeriod(ms: number, days: number): { startMs: number; endMs: number } | undefined {
  if (days <= 0) return undefined;
  const d = new Date(ms);
  const nextMonth = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  const weekdays: number[] = [];
  for (let day = nextMonth - DAY_MS; weekdays.length < days && new Date(day).getUTCMonth() === d.getUTCMonth(); day -= DAY_MS) {
    if (isWeekday(day)) weekdays.push(day);
  }
  const first = weekdays.at(-1);
  const last = weekdays[0];
  if (first === undefined || last === undefined) return undefined;
  return { startMs: first - BEFORE_MS, endMs: last + DAY_MS + AFTER_MS };
}

/** Whether the window [startMs, endMs) overlaps a month-end period (its own month's or the previous one's). */
export function inMonthEnd(startMs: number, endMs: number, days: number): boolean {
  for (const probe of [startMs, startMs - DAY_MS]) {
    const p = monthEndPeriod(probe, days);
    if (p && startMs < p.endMs && endMs > p.startMs) return true;
  }
  return false;
}
