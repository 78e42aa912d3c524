// How busy an app is at a given local time: office hours with a lunch dip, quiet nights and weekends,
// holidays like Sundays, busier month-ends for finance; integrations run around the clock on top.
import type { LocalTime } from './calendar.js';
import type { App, Principal, Subaccount } from './profiles.js';

// Share of the peak rate by local hour, interpolated between the knots.
const OFFICE: readonly (readonly [number, number])[] = [
  [0, 0.004], [5, 0.004], [6, 0.03], [7, 0.18], [8, 0.6], [9, 0.95], [10, 1], [11, 1], [12, 0.72], [13, 0.85],
  [14, 1], [15, 0.95], [16, 0.8], [17, 0.5], [18, 0.25], [19, 0.1], [20, 0.05], [22, 0.012], [24, 0.004],
];

export function officeCurve(hour: number): number {
  for (let i = 1; i < OFFICE.length; i++) {
    const [h1, v1] = OFFICE[i] as readonly [number, number];
    if (hour <= h1) {
      const [h0, v0] = OFFICE[i - 1] as readonly [number, number];
      return v0 + ((v1 - v0) * (hour - h0)) / (h1 - h0);
    }
  }
  return OFFICE[OFFICE.length - 1]?.[1] ?? 0;
}

export interface DayInfo {
  readonly date: string;
  readonly weekday: number;
  readonly businessDay: boolean;
  readonly holiday: string | undefined;
  readonly monthEnd: boolean;
}

export function dayInfo(sub: Subaccount, local: LocalTime): DayInfo {
  const holiday = sub.calendar.holiday(local.date);
  return {
    date: local.date,
    weekday: local.weekday,
    businessDay: sub.calendar.isBusinessDay(local.date),
    holiday,
    monthEnd: sub.calendar.isMonthEnd(local.date),
  };
}

/** People's share of a weekday's traffic on this day. */
function peopleDay(day: DayInfo): number {
  if (!day.businessDay) return day.weekday === 6 && day.holiday === undefined ? 0.07 : 0.04;
  return day.weekday === 5 ? 0.85 : day.weekday === 1 ? 0.95 : 1;
}

/** Expected calls per minute of an app (batch jobs and monitors are scheduled elsewhere). */
export function appRate(app: App, local: LocalTime, day: DayInfo): number {
  const curve = officeCurve(local.hour);
  switch (app.kind) {
    case 'web':
      return app.peak * curve * peopleDay(day) * (day.monthEnd ? 1.15 : 1);
    case 'office': {
      // Analysts and accountants: office hours on business days only; closing the books doubles the load.
      if (!day.businessDay || local.hour < 7 || local.hour >= 19.5) return 0;
      return app.peak * curve * (day.monthEnd ? 2.6 : 1);
    }
    case 'integration':
      return app.peak * (0.3 + 0.7 * curve * peopleDay(day)) * (day.monthEnd ? 1.3 : 1);
    case 'batch': {
      const b = app.batch;
      if (!b || (b.weekdaysOnly && !day.businessDay)) return 0;
      const into = (local.hour - b.start) * 60;
      return into >= 0 && into < b.minutes ? app.peak : 0;
    }
    case 'monitor':
      return 0;
  }
}

/** Whether a person is at work at that local time. */
export function onShift(p: Principal, local: LocalTime, day: DayInfo): boolean {
  if (p.onCall) return true;
  if (!day.businessDay) return p.saturdays && day.weekday === 6 && day.holiday === undefined && local.hour >= 9 && local.hour < 13;
  return local.hour >= p.start && local.hour < p.end;
}
