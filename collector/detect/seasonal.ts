// The seasonal baseline of volume_spike and exfiltration: a value per entity and window compared with the
// same time of day on earlier days of the same kind (weekdays with weekdays, weekends with weekends in the
// subaccount's local week, local-week.ts: the hour-of-week rhythm folded onto two day types, so 14 days
// give ~10 samples instead of 2, and never below the same weekday in earlier weeks), by median and median
// absolute deviation (MAD), which one earlier spike in the samples does not move; month-ends get a raised
// baseline (month-end.ts).
//
// ClickHouse computes the value per entity and window and hands back the candidate windows (value >= floor
// and well above the median of this window on earlier days); the values of those few windows and their
// neighbours on the earlier days are then read by key, and the judgement (judgeSeasonal) is done here.
import type { DetectContext } from './detector.js';
import { localOffsetSql, localWeek, weekendMaskSql } from './local-week.js';
import { inMonthEnd } from './month-end.js';
import { mad, median } from './score.js';
import { chTime, DAY_MS, HOUR_MS, n, WINDOW_KEY_SQL, windowGrid, windowKey, type WindowGrid } from './sql.js';

export interface SeasonalSpec {
  /** Table read and its time column (constant text, never input). */
  readonly source: string;
  readonly time: string;
  readonly where: string;
  readonly subaccount: string;
  /** Columns the value is per; with several, the entity is them joined by NUL (grouped first, joined after). */
  readonly entity: readonly string[];
  /** Aggregate per window (count(), sum(bytes_out), ...). */
  readonly metric: string;
  readonly extras?: Readonly<Record<string, string>>;
  readonly params?: Readonly<Record<string, unknown>>;
  /** Where the entities seen before the horizon are read (knownBefore()). */
  readonly history: SeasonalHistory;
}

/**
 * A table of the store (never a sweep's scratch table, which holds the horizon only) in which the entities
 * of a spec are seen: its columns for subaccount and entity (as many as the spec's), time and filter.
 */
export interface SeasonalHistory {
  /** Name of the per-sweep set (scratch.ts); specs of the same entities share it. */
  readonly name: string;
  readonly source: string;
  readonly time: string;
  readonly where: string;
  readonly subaccount: string;
  readonly entity: readonly string[];
}

export interface SeasonalCandidate {
  readonly subaccount: string;
  readonly entity: string;
  readonly win: number;
  readonly observed: number;
  readonly extras: Record<string, unknown>;
  readonly weekend: boolean;
  /** Days the entity has been known for, up to baseline_days. */
  readonly historyDays: number;
  /**
   * Each earlier day since the entity was first seen, newest first (index k - 1 is k days before): the
   * value of this window on that day and of the windows before and after it (0 = no events), and whether
   * that day is a weekend day.
   */
  readonly days: readonly SeasonalDay[];
}

export interface SeasonalDay {
  readonly same: number;
  readonly before: number;
  readonly after: number;
  readonly weekend: boolean;
}

/** Entity columns as one key: grouped as columns (cheap), joined after the aggregation. */
export function entityKey(columns: readonly string[]): { select: string; names: string; key: string } {
  const names = columns.map((_, i) => `e${i}`);
  return {
    select: columns.map((c, i) => `${c} AS e${i}`).join(', '),
    names: names.join(', '),
    key: names.length === 1 ? 'e0' : `concat(${names.map((x) => `toString(${x})`).join(", '\\0', ")})`,
  };
}

/**
 * The offset (minutes) of the shifted grid of a detector's windows, 0 for none: half a window, when its
 * `shifted_windows` is on and its sources are that fine (whole hours come from half-hour rows).
 */
export function shiftOf(p: { readonly window_minutes: number; readonly shifted_windows?: number | boolean }): number {
  const window = p.window_minutes;
  if (p.shifted_windows !== true || window % 2 !== 0) return 0;
  return window % 60 === 0 || window < 60 ? window / 2 : 0;
}

/**
 * Hits of the plain grid, and those of the shifted grid that no plain hit of the same entity overlaps: a
 * spike inside one plain window keeps its exact window, one straddling two is still seen.
 */
export function withShifted<H extends { readonly subaccount: string; readonly entity: string; readonly windowStartMs: number; readonly windowEndMs: number }>(plain: readonly H[], shifted: readonly H[]): H[] {
  const overlapped = (h: H) => plain.some((x) => x.subaccount === h.subaccount && x.entity === h.entity && x.windowStartMs < h.windowEndMs && x.windowEndMs > h.windowStartMs);
  return [...plain, ...shifted.filter((h) => !overlapped(h))];
}

/** The history of the seasonal entities: cloud apps (any call), subaccounts, backends (allowed calls). */
export const KNOWN_APPS: SeasonalHistory = { name: 'known_apps', source: 'audit_events', time: 'ts', where: "cloud_app != ''", subaccount: 'subaccount', entity: ['cloud_app'] };
export const KNOWN_SUBACCOUNTS: SeasonalHistory = { name: 'known_subaccounts', source: 'audit_hour', time: 'hour', where: "subaccount != ''", subaccount: 'subaccount', entity: ['subaccount'] };
/** Principals over all subaccounts (subaccount ''), as off_hours reads a person's rhythm. */
export const KNOWN_PRINCIPALS: SeasonalHistory = { name: 'known_principals', source: 'audit_events', time: 'ts', where: "subaccount != '' AND principal != ''", subaccount: "''", entity: ['principal'] };
export const KNOWN_BACKENDS: SeasonalHistory = {
  name: 'known_backends', source: 'audit_hour', time: 'hour', where: "decision = 'allow' AND virtual_host != ''", subaccount: 'subaccount', entity: ['virtual_host', 'virtual_port'],
};

/**
 * The entities seen in the baseline_days before the horizon, or undefined when the horizon begins with the
 * data. Without it a sweep over a later range (every live run) would count an entity from its first day in
 * the horizon: one idle when the horizon begins would look new (too little history: warm-up, or fewer
 * earlier days of its kind) where a sweep over the whole store knows it from before. Such an entity counts
 * as known since before the horizon, as the whole-store sweep counts it. One seen only longer ago still
 * counts from its first day in the horizon (docs/detectors.md, "Live against replay"). Read once per sweep
 * and entity set (apps from audit_events over baseline_days: 0.05-0.2 s of a live run on 10M events).
 */
async function knownBefore(ctx: DetectContext, h: SeasonalHistory): Promise<{ table: string; day: number } | undefined> {
  // The horizon is the same for every window length (whole days before the first judged day, facts.ts).
  const grid = windowGrid(ctx, 60);
  const dataDayMs = grid.dataDay * DAY_MS;
  if (grid.horizonMs <= dataDayMs) return undefined;
  const hk = entityKey(h.entity);
  const table = await ctx.scratch.table(h.name, `
    SELECT sub, ${hk.key} AS entity FROM (
      SELECT ${h.subaccount} AS sub, ${hk.select} FROM ${h.source}
      WHERE ${h.time} >= {kfrom:DateTime64(3, 'UTC')} AND ${h.time} < {hfrom:DateTime64(3, 'UTC')} AND (${h.where})
      GROUP BY sub, ${hk.names}
    )`, { kfrom: chTime(Math.max(grid.horizonMs - ctx.baselineDays * DAY_MS, dataDayMs)), hfrom: grid.params.hfrom });
  return { table, day: grid.horizonMs / DAY_MS - 1 };
}

/**
 * SQL of an entity's first day: `seen` (its first day in the horizon), or, for an entity whose `key` (a
 * (subaccount, entity) tuple) is in the set of knownBefore(), at most the day before the horizon; with the
 * bound parameters it needs.
 */
export async function firstDaySql(ctx: DetectContext, h: SeasonalHistory, key: string, seen: string): Promise<{ sql: string; params: Record<string, number> }> {
  const known = await knownBefore(ctx, h);
  if (known === undefined) return { sql: seen, params: {} };
  return { sql: `if(${key} IN (SELECT sub, entity FROM ${known.table}), least({known_day:Int64}, ${seen}), ${seen})`, params: { known_day: known.day } };
}

/** Candidate windows of the grid of `windowMinutes` shifted by `offsetMinutes` (the source's time column must be that fine). */
export async function seasonalCandidates(ctx: DetectContext, windowMinutes: number, floor: number, prefilter: { ratio: number; unit: number; minSamples: number }, spec: SeasonalSpec, offsetMinutes = 0): Promise<{ grid: WindowGrid; candidates: SeasonalCandidate[] }> {
  const grid = windowGrid(ctx, windowMinutes, offsetMinutes);
  const extras = Object.entries(spec.extras ?? {});
  const extraCols = extras.map(([name, agg]) => `, ${agg} AS ${name}`).join('');
  const extraOut = extras.map(([name]) => `, ${name}`).join('');
  const ek = entityKey(spec.entity);
  const level1 = `
          SELECT ${spec.subaccount} AS sub, ${ek.select},
            toInt64(intDiv(toUnixTimestamp(${spec.time}) - {woff:UInt32}, {wsec:UInt32})) AS win, toFloat64(${spec.metric}) AS x${extraCols}
          FROM ${spec.source}
          WHERE ${spec.time} >= {hfrom:DateTime64(3, 'UTC')} AND ${spec.time} < {hto:DateTime64(3, 'UTC')} AND (${spec.where})
          GROUP BY sub, ${ek.names}, win`;
  // Per entity and slot of the day, its windows as an array sorted by day (no window functions: they
  // cost more than the rest of the sweep's seasonal work together); then one row per candidate window of
  // the range (value >= floor) with the values of the same slot on the previous bdays days (all, and those
  // of the same kind of day). The outer WHERE keeps windows whose value reaches ratio x the lower median of
  // this window's samples: a superset of what judgeSeasonal() accepts, whose baseline is never lower.
  // The kind of the candidate's day and of each baseline day is read in the week known on the candidate's
  // day (local-week.ts), for the candidate rows only rather than for every window of the horizon.
  const hourOfSlot = 'intDiv(slot * {wsec:UInt32} + {woff:UInt32}, 3600)';
  // Bit k of wkbits: the slot's hour is on a local weekend on days with day % 7 = k (the week known on the
  // candidate's day). Read once per candidate row, the lambdas over its earlier days only test a bit: the
  // nested parameter array read per element cost a quarter of the query.
  const weekBits = `arraySum(arrayMap(k -> bitShiftLeft(toUInt8(bitTest(${weekendMaskSql('off', 'k')}, ${hourOfSlot})), k), range(7)))`;
  const weekendAsKnown = (dd: string) => `bitTest(wkbits, ${dd} % 7)`;
  const tupleExtras = extras.map(([name]) => `, ${name}`).join('');
  // An entity known from before the horizon counts from the day before it (knownBefore()).
  const firstDay = await firstDaySql(ctx, spec.history, '(sub, entity)', 'min(first) OVER (PARTITION BY sub, entity)');
  const fromTuple = extras.map(([name], i) => `, c.${i + 3} AS ${name}`).join('');
  const sql = `
    SELECT sub, entity, win, x${extraOut}, wk, n_all FROM (
      SELECT sub, entity, c.1 AS day, c.2 AS x${fromTuple}, day * {spd:UInt32} + slot AS win,
        ${localOffsetSql('sub', 'day')} AS off, ${weekBits} AS wkbits, ${weekendAsKnown('day')} AS wk,
        arrayMap(t -> t.2, arrayFilter(t -> t.1 >= day - {bdays:UInt32} AND t.1 < day AND ${weekendAsKnown('t.1')} = wk, pts)) AS s_same,
        arrayMap(t -> t.2, arrayFilter(t -> t.1 >= day - {bdays:UInt32} AND t.1 < day, pts)) AS s_all,
        greatest(day - {bdays:UInt32}, first_day, {data_day:Int64}) AS lo,
        day - lo AS n_all,
        arrayCount(dd -> ${weekendAsKnown('dd')} = wk, range(lo, day)) AS n_same,
        if(n_same >= {min_samples:UInt32}, arraySort(s_same), arraySort(s_all)) AS use,
        if(n_same >= {min_samples:UInt32}, n_same, n_all) AS n_use,
        n_use - length(use) AS zeros,
        intDiv(n_use - 1, 2) AS mid,
        if(n_use = 0, 0, if(mid < zeros, 0, use[mid - zeros + 1])) AS low_median
      FROM (
        SELECT sub, entity, slot, pts, ${firstDay.sql} AS first_day
        FROM (
          SELECT sub, ${ek.key} AS entity, slot, arraySort(groupArray((day, x${tupleExtras}))) AS pts, min(day) AS first
          FROM (
            SELECT sub, ${ek.names}, x${extraOut}, intDiv(win, {spd:UInt32}) AS day, win % {spd:UInt32} AS slot
            FROM (${level1})
          )
          GROUP BY sub, ${ek.names}, slot
        )
      )
      ARRAY JOIN arrayFilter(t -> t.1 * {spd:UInt32} + slot >= {from_win:Int64} AND t.1 * {spd:UInt32} + slot < {to_win:Int64} AND t.2 >= {floor:Float64}, pts) AS c
    )
    WHERE n_use >= {min_samples:UInt32} AND x >= {ratio:Float64} * greatest(low_median, {unit:Float64})`;
  const lw = await localWeek(ctx);
  const rows = await ctx.store.query<Record<string, unknown>>(sql, { ...grid.params, ...lw.params, floor, ratio: prefilter.ratio, unit: prefilter.unit, min_samples: prefilter.minSamples, ...firstDay.params, ...spec.params });
  const base = rows.map((r) => ({ r, sub: String(r.sub), entity: String(r.entity), win: n(r.win), history: n(r.n_all) }));
  // This window and its neighbours on the candidates' earlier days, read for those keys only.
  const wanted: string[] = [];
  for (const b of base) for (let k = 1; k <= b.history; k++) for (const d of [-1, 0, 1]) wanted.push(windowKey({ subaccount: b.sub, entity: b.entity, win: b.win + d - k * grid.spd }));
  const near = new Map<string, number>();
  if (wanted.length > 0) {
    const found = await ctx.store.query<{ sub: string; entity: string; win: string | number; x: number }>(`
      SELECT sub, ${ek.key} AS entity, win, x FROM (${level1})
      WHERE ${WINDOW_KEY_SQL} IN {keys:Array(String)}`, { ...grid.params, ...spec.params, keys: wanted });
    for (const f of found) near.set(windowKey({ subaccount: f.sub, entity: f.entity, win: n(f.win) }), n(f.x));
  }
  const candidates = base.map(({ r, sub, entity, win, history }) => {
    const at = (w: number) => near.get(windowKey({ subaccount: sub, entity, win: w })) ?? 0;
    return {
      subaccount: sub,
      entity,
      win,
      observed: n(r.x),
      extras: Object.fromEntries(extras.map(([name]) => [name, r[name]])),
      weekend: r.wk === true || r.wk === 1,
      historyDays: history,
      days: Array.from({ length: history }, (_, i) => {
        const w = win - (i + 1) * grid.spd;
        return { same: at(w), before: at(w - 1), after: at(w + 1), weekend: lw.isWeekend(sub, w * grid.windowMs + grid.offsetMs, Math.floor(win / grid.spd)) };
      }),
    };
  });
  return { grid, candidates };
}


export interface SeasonalParams {
  /** Robust z-score the value must reach: (value - baseline) / scale. */
  readonly z: number;
  /** And at least this multiple of the baseline (of `unit` when the baseline is smaller). */
  readonly ratio: number;
  /** And at least this much above the baseline: a tiny count several times a tinier one is no spike. */
  readonly minExcess: number;
  /** Fewest samples for a baseline; with fewer the window is not judged (warm-up). */
  readonly minSamples: number;
  /** Smallest value of the scale. */
  readonly unit: number;
  /**
   * The value is a sum of events of about this size (1 for a count of calls; for bytes the size-weighted
   * mean response, sum(b^2) / sum(b), of the entity): its noise is then sqrt(baseline x size) (Poisson,
   * compound Poisson for bytes), a floor of the scale. 0: no such floor.
   */
  readonly eventSize: number;
  /** Baseline multiplier on month-end days (month-end.ts); 1 = none. */
  readonly monthEndFactor: number;
  /** How many last weekdays of a month are month-end. */
  readonly monthEndDays: number;
}

export interface SeasonalVerdict {
  /** The baseline the value is compared with (month-end factor included). */
  readonly median: number;
  /** Median over the earlier days of this window alone (no neighbours), for the explanation. */
  readonly sameWindowMedian: number;
  /** Median of daySample() over the earlier days of the same kind. */
  readonly dayTypeMedian: number;
  /** The same weekday in earlier weeks (null: none in the history yet). */
  readonly weekdayMedian: number | null;
  readonly monthEndFactor: number;
  readonly mad: number;
  readonly scale: number;
  readonly z: number;
  readonly threshold: number;
  readonly sampleCount: number;
  /** 'weekdays', 'weekend days' or 'days' (too few samples of the same kind yet). */
  readonly basis: string;
  /** Whether a busier neighbouring window could stand in for an earlier day's sample (windows of an hour or less). */
  readonly neighbours: boolean;
  readonly historyDays: number;
  readonly ratio: number;
}

/**
 * One earlier day's sample of a window: its own value, unless the mean of its two neighbours is more than
 * 1.5 times that; then that day's traffic has most likely moved by a window (a daylight saving change, a
 * nightly job starting an hour later) and the busier neighbour is the sample. Ramps and lunch dips, which
 * every day has at the same time, are shallower than that and keep the window's own value, so they do not
 * raise the bar for a spike.
 */
export function daySample(d: SeasonalDay): number {
  return (d.before + d.after) / 2 > 1.5 * d.same ? Math.max(d.before, d.after) : d.same;
}

/**
 * The baseline of a window: for each earlier day, daySample() (an hour's shift of the daily rhythm moves
 * traffic into a neighbouring window and is not a spike, even while only some of the earlier days are shifted);
 * the median of that over the days of the same kind (weekdays, weekend days), or at least the median of
 * the same weekday in earlier weeks (a tenant whose Monday morning falls on a UTC Sunday); times the
 * month-end factor on month-end days. undefined when the value is within it or there is too little history.
 */
export function judgeSeasonal(ctx: DetectContext, c: SeasonalCandidate, p: SeasonalParams, grid: Pick<WindowGrid, 'windowMs' | 'offsetMs'>): SeasonalVerdict | undefined {
  if (c.historyDays < ctx.warmupDays) return undefined;
  // An hour's shift moves a window of an hour or less into its neighbour; it moves only a sliver of a
  // longer window, whose neighbours are other times of day altogether: those are judged on the window itself.
  const neighbours = grid.windowMs <= HOUR_MS;
  const perDay = c.days.map((d) => (neighbours ? daySample(d) : d.same));
  const sameType = c.days.map((d, i) => ({ d, i })).filter(({ d }) => d.weekend === c.weekend).map(({ i }) => i);
  const useSame = sameType.length >= p.minSamples;
  const picked = useSame ? sameType : c.days.map((_, i) => i);
  if (picked.length < p.minSamples) return undefined;
  const samples = picked.map((i) => perDay[i] as number);
  const dayType = median(samples);
  const d = mad(samples, dayType);
  // Same weekday: every 7th day back (index 6, 13, ...).
  const weekly = perDay.filter((_, i) => (i + 1) % 7 === 0);
  const weekday = weekly.length > 0 ? median(weekly) : null;
  const winStart = c.win * grid.windowMs + grid.offsetMs;
  const factor = p.monthEndFactor > 0 && inMonthEnd(winStart, winStart + grid.windowMs, p.monthEndDays) ? p.monthEndFactor : 1;
  const m = Math.max(dayType, weekday ?? 0) * factor;
  // The MAD of a steady series can be 0; the floors keep a small wobble from looking like a spike.
  const scale = Math.max(1.4826 * d * factor, p.eventSize > 0 ? Math.sqrt(Math.max(m, 1) * p.eventSize) : 0, 0.1 * m, p.unit);
  const threshold = Math.max(m + p.z * scale, p.ratio * Math.max(m, p.unit), m + p.minExcess);
  if (c.observed < threshold) return undefined;
  return {
    median: m,
    sameWindowMedian: median(picked.map((i) => (c.days[i] as SeasonalDay).same)),
    dayTypeMedian: dayType,
    weekdayMedian: weekday,
    monthEndFactor: factor,
    mad: d,
    scale,
    z: (c.observed - m) / scale,
    threshold,
    sampleCount: samples.length,
    basis: useSame ? (c.weekend ? 'weekend days' : 'weekdays') : 'days',
    neighbours,
    historyDays: c.historyDays,
    ratio: c.observed / threshold,
  };
}

/** The baseline sentence of a seasonal finding, `show` formatting values (counts or bytes). */
export function seasonalBaselineText(v: SeasonalVerdict, show: (x: number) => string): string {
  const parts = [
    v.neighbours
      ? `for each of ${v.sampleCount} earlier ${v.basis} (${v.historyDays} days of history), this window, or its busier neighbour where their mean was 1.5 times the window (traffic moved by an hour), so an hour's shift is not a spike: median ${show(v.dayTypeMedian)} (MAD ${show(v.mad)}; this window alone ${show(v.sameWindowMedian)})`
      : `this window on each of ${v.sampleCount} earlier ${v.basis} (${v.historyDays} days of history): median ${show(v.dayTypeMedian)} (MAD ${show(v.mad)})`,
  ];
  if (v.weekdayMedian !== null) parts.push(`the same weekday in earlier weeks: ${show(v.weekdayMedian)}`);
  if (v.monthEndFactor !== 1) parts.push(`month-end (the last business days of a month), so x ${fmtFactor(v.monthEndFactor)}`);
  return `Baseline ${show(v.median)}: ${parts.join('; ')}.`;
}

function fmtFactor(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}
