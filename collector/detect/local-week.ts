// The local week of each subaccount, learned from its own traffic. Weekdays are compared with weekdays and
// weekend days with weekend days (seasonal.ts, off_hours), but a tenant's weekend is not the UTC one: a
// Tokyo tenant's Monday morning is Sunday evening in UTC, a New York tenant's Friday evening is Saturday.
// The store does not know time zones, so each subaccount's offset from UTC is the one (whole hours, -11 to
// +14) that puts the fewest of its calls on a local Saturday or Sunday, over the baseline days before the
// judged day (so a replay learns it as a live run would have). Offsets within 10 % of the best share
// as many calls (the boundary moving through quiet night hours) and their middle is taken. With less than a
// week of history, or a subaccount without a weekly rhythm (integrations around the clock), UTC it is.
// A judged day's baseline days are all read in the week known on the judged day, not each in the week
// known on itself: the first days of a store were read as UTC weeks (too little history yet), and a Tokyo
// office worker's Monday morning (a UTC Sunday evening) then counted as weekend activity against a later
// weekend day, and which days were read how depended on where a sweep started. Still no look-ahead: the
// week known on a day is learned from the days before it.
import type { DetectContext } from './detector.js';
import { DAY_MS, HOUR_MS, n, windowGrid } from './sql.js';

export interface LocalWeek {
  /** Offset from UTC (hours) of the subaccount's local week, as known on that day (days since the epoch). */
  offsetHours(subaccount: string, day: number): number;
  /** Whether the instant falls on a local Saturday or Sunday of the subaccount, in the week known on `knownOn` (default: the instant's own day). */
  isWeekend(subaccount: string, ms: number, knownOn?: number): boolean;
  /**
   * Bound parameters of localOffsetSql() and weekendMasksSql(): the subaccounts, the first day, per
   * subaccount its offset as known on each day from then on (arrays: one lookup per row), and the
   * weekend masks of a UTC day by offset and weekday.
   */
  readonly params: { lw_subs: string[]; lw_day0: number; lw_offs: number[][]; lw_dow_masks: number[][] };
}

const MIN_DAYS = 7;
/** The best weekend share must be this far below an even spread (2/7) to count as a weekly rhythm. */
const RHYTHM = 0.75;
const OFFSETS = Array.from({ length: 26 }, (_, i) => i - 11);

/** SQL: the offset (hours) for a subaccount expression and a day expression (Int64 days since the epoch); 0 when not known. */
export function localOffsetSql(sub: string, day: string): string {
  return `{lw_offs:Array(Array(Int64))}[indexOf({lw_subs:Array(String)}, ${sub})][${day} - {lw_day0:Int64} + 1]`;
}

/**
 * SQL: the weekend mask (bit h: hour h of the UTC day is on a local weekend) of UTC day `day` in the week
 * of offset `offset` (an SQL expression, e.g. localOffsetSql()). A day's mask depends only on its weekday
 * and the offset: lw_dow_masks[offset + 12][day % 7 + 1].
 */
export function weekendMaskSql(offset: string, day: string): string {
  return `{lw_dow_masks:Array(Array(Int64))}[${offset} + ${-OFFSETS[0]! + 1}][${day} % 7 + 1]`;
}

/**
 * SQL: the weekend masks of the days from `lo` to `hi` inclusive, as an array, all in the week of offset
 * `offset`: a column or alias (e.g. of localOffsetSql() for the day the week is known on), not the lookup
 * itself, which inside the lambda would run once per day of the array (indexOf over the subaccounts each
 * time: 5-9 % of off_hours' principal query on 10 million events).
 */
export function weekendMasksSql(offset: string, lo: string, hi: string): string {
  return `arrayMap(k -> ${weekendMaskSql(offset, 'k')}, range(${lo}, ${hi} + 1))`;
}

function maskOf(day: number, offsetHours: number): number {
  let mask = 0;
  for (let h = 0; h < 24; h++) if (weekendAt(day * DAY_MS + h * HOUR_MS, offsetHours)) mask |= 1 << h;
  return mask;
}

function weekendAt(ms: number, offsetHours: number): boolean {
  const d = new Date(ms + offsetHours * HOUR_MS).getUTCDay();
  return d === 0 || d === 6;
}

/** The offset whose local weekend holds the fewest calls, from calls per UTC hour (hour index -> calls). */
export function learnOffset(callsByHour: ReadonlyMap<number, number>): number {
  let total = 0;
  for (const c of callsByHour.values()) total += c;
  if (total <= 0) return 0;
  const shares = OFFSETS.map((o) => {
    let weekend = 0;
    for (const [h, c] of callsByHour) if (weekendAt(h * HOUR_MS, o)) weekend += c;
    return weekend / total;
  });
  const best = Math.min(...shares);
  if (best > RHYTHM * (2 / 7)) return 0;
  const near = OFFSETS.filter((_, i) => (shares[i] as number) <= best * 1.1 + 1e-9);
  return near[Math.floor((near.length - 1) / 2)] as number;
}

const cache = new WeakMap<object, Promise<LocalWeek>>();

/** The local weeks of every subaccount for the days of this sweep (computed once per sweep). */
export function localWeek(ctx: DetectContext): Promise<LocalWeek> {
  let found = cache.get(ctx.scratch);
  if (!found) {
    found = learn(ctx);
    cache.set(ctx.scratch, found);
  }
  return found;
}

async function learn(ctx: DetectContext): Promise<LocalWeek> {
  const { params } = windowGrid(ctx, 60);
  const rows = await ctx.store.query<{ sub: string; h: string | number; c: string | number }>(`
    SELECT subaccount AS sub, toInt64(intDiv(toUnixTimestamp(hour), 3600)) AS h, sum(calls) AS c FROM audit_hour
    WHERE hour >= {hfrom:DateTime64(3, 'UTC')} AND hour < {hto:DateTime64(3, 'UTC')} AND subaccount != ''
    GROUP BY sub, h`, { hfrom: params.hfrom as string, hto: params.hto as string });
  const bySub = new Map<string, Map<number, number>>();
  for (const r of rows) {
    let m = bySub.get(r.sub);
    if (!m) bySub.set(r.sub, (m = new Map()));
    m.set(n(r.h), n(r.c));
  }
  const dataDay = Math.floor(ctx.dataStartMs / DAY_MS);
  const firstDay = Math.floor(Number(params.win0) / 24);
  const lastDay = Math.floor((ctx.toMs - 1) / DAY_MS);
  const offsets = new Map<string, number>();
  for (const [sub, hours] of bySub) {
    for (let day = firstDay; day <= lastDay; day++) {
      const lo = Math.max(day - ctx.baselineDays, dataDay);
      if (day - lo < MIN_DAYS) continue;
      const window = new Map([...hours].filter(([h]) => h >= lo * 24 && h < day * 24));
      const o = learnOffset(window);
      if (o !== 0) offsets.set(`${sub}|${day}`, o);
    }
  }
  const offsetHours = (sub: string, day: number) => offsets.get(`${sub}|${day}`) ?? 0;
  const subs = [...bySub.keys()];
  const days = Array.from({ length: Math.max(0, lastDay - firstDay + 1) }, (_, i) => firstDay + i);
  return {
    offsetHours,
    isWeekend: (sub, ms, knownOn) => weekendAt(ms, offsetHours(sub, knownOn ?? Math.floor(ms / DAY_MS))),
    params: {
      lw_subs: subs,
      lw_day0: firstDay,
      lw_offs: subs.map((sub) => days.map((day) => offsetHours(sub, day))),
      // Days since the epoch 0..6 are every weekday once.
      lw_dow_masks: OFFSETS.map((o) => Array.from({ length: 7 }, (_, k) => maskOf(k, o))),
    },
  };
}
