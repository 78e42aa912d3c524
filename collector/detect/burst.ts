// The burst baseline shared by deny_burst, auth_failure_burst, backend_failure, path_enumeration and
// cross_subaccount: a count per entity and window, compared with the entity's busiest window of a typical
// day. ClickHouse computes the per-window figure, each day's maximum of it and the windows at or above
// the absolute floor in one pass; the judgement (median of the daily maxima over the baseline days,
// times a factor, never below the floor) is done here on those few candidates.
//
// Why the median of daily maxima: it is what the entity reaches on an ordinary day at its busiest, so a
// regular daily peak does not alarm, and one earlier burst (one high day) does not raise the bar. Days
// without any event count as 0, so an entity that never had denials has a baseline of 0 and is judged
// by the floor alone.
import type { DetectContext } from './detector.js';
import { HASH } from './facts.js';
import { median } from './score.js';
import { chTime, DAY_MS, n, nums, WINDOW_KEY_SQL, windowGrid, windowKey, type WindowGrid, type WindowKey } from './sql.js';

export interface BurstSpec {
  /** Table read: audit_events, audit_minute or audit_denied_1m (constant text, never input). */
  readonly source: string;
  /** Its time column. */
  readonly time: string;
  /** Extra condition (constant SQL with bound parameters only). */
  readonly where: string;
  /**
   * A cheap condition on one or two columns that `where` implies, read first (PREWHERE; a MergeTree source
   * only): when `where` is an OR over several columns the engine no longer finds one by itself and reads
   * every column of every row (backend_failure: 150 -> 260 ms on 1.7 million rollup rows without it).
   */
  readonly prewhere?: string;
  /** Expressions of the subaccount and the entity the count is per. */
  readonly subaccount: string;
  readonly entity: string;
  /** Aggregate whose value per window is compared (count(), sum(calls), uniqExact(path), ...). */
  readonly metric: string;
  /** More aggregates for the evidence, computed for the candidate windows only. */
  readonly extras?: Readonly<Record<string, string>>;
  /** The rows the extras read (default: `where`); wider when they put the count in proportion. */
  readonly extrasWhere?: string;
  /**
   * Another table the extras are read from, with its own time, filter, subaccount and entity expressions
   * (the count from an aggregate, the evidence from the calls themselves).
   */
  readonly extrasSource?: { readonly source: string; readonly time: string; readonly where: string; readonly subaccount: string; readonly entity: string };
  readonly params?: Readonly<Record<string, unknown>>;
  /**
   * An aggregate that is, over a whole day, at least the metric of any window of that day (default: the
   * metric itself, which must not shrink when rows are added: count(), sum() of non-negative values,
   * uniqExact()); path_enumeration bounds uniqExact(path) by the cheaper count().
   */
  readonly dayBound?: string;
  /**
   * Group by a hash of subaccount and entity, checked (facts.ts, HASH): for text entities (principal,
   * client IP), whose grouping by value costs the most.
   */
  readonly hashed?: boolean;
}

export interface BurstCandidate {
  readonly subaccount: string;
  readonly entity: string;
  readonly win: number;
  readonly observed: number;
  readonly extras: Record<string, unknown>;
  /** Busiest-window value of each baseline day the store has data for (0 = nothing that day). */
  readonly dailyMax: number[];
}

/** Windows of the range where the metric reached `floor`, with the daily maxima of their baseline days. */
export async function burstCandidates(ctx: DetectContext, windowMinutes: number, floor: number, spec: BurstSpec, offsetMinutes = 0): Promise<{ grid: WindowGrid; candidates: BurstCandidate[] }> {
  // On a grid shifted by offsetMinutes (long windows: half a window), days are shifted alike, so that a
  // window still lies within one of them (the day totals bound its windows; its daily maxima are per day).
  const grid = windowGrid(ctx, windowMinutes, offsetMinutes);
  // Entities with a judged day whose total reaches the floor: no window of any other can (a window lies
  // within one day, and the day's value bounds its windows'). On traffic without bursts that is a handful,
  // and the per-window pass below, the costly one, only reads their rows.
  // With spec.hashed, grouped by a hash of subaccount and entity (facts.ts, HASH), the values kept as their
  // least and greatest: an entity group that mixed two keys is `mixed` up to the result, and then the
  // query runs again grouped by the values. A mixed group without a candidate window changes nothing: the
  // metric only grows when rows are added, so neither of its keys had one.
  const sql = (hashed: boolean) => {
    const key = hashed ? HASH.key([spec.subaccount, spec.entity]) : undefined;
    const busy = `
          SELECT ${key ? 'h' : 'sub, entity'} FROM (
            SELECT ${key ? `${key} AS h` : `${spec.subaccount} AS sub, ${spec.entity} AS entity`}, toInt64(intDiv(toUnixTimestamp(${spec.time}) - {woff:UInt32}, 86400)) AS day, ${spec.dayBound ?? spec.metric} AS x
            FROM ${spec.source}${spec.prewhere ? ` PREWHERE ${spec.prewhere}` : ''}
            WHERE ${spec.time} >= {jfrom:DateTime64(3, 'UTC')} AND ${spec.time} < {hto:DateTime64(3, 'UTC')} AND (${spec.where})
            GROUP BY ${key ? 'h' : 'sub, entity'}, day
          )
          WHERE x >= {floor:Float64}
          GROUP BY ${key ? 'h' : 'sub, entity'}`;
    // Per window, then per day (its busiest window, and the windows at the floor), then per entity: plain
    // max() and mostly-empty arrays at each level, cheaper than a map aggregate over every window.
    return `
    SELECT sub, entity, c.1 AS win, c.2 AS x, mixed,
      arrayFilter(d -> d >= {data_day:Int64}, arrayMap(k -> toInt64(intDiv(c.1, {spd:UInt32})) - k, range(1, {bdays:UInt32} + 1))) AS bdays_list,
      arrayMap(d -> toFloat64(arrayFirst(t -> t.1 = d, dm).2), bdays_list) AS bvals
    FROM (
      SELECT ${key ? 'any(sub) AS sub, any(entity) AS entity, max(mixed) AS mixed' : 'sub, entity, false AS mixed'}, arrayFlatten(groupArray(day_cand)) AS cand, groupArray((day, dmax)) AS dm
      FROM (
        SELECT ${key ? 'h, any(sub) AS sub, any(entity) AS entity, max(mixed) AS mixed' : 'sub, entity'}, intDiv(win, {spd:UInt32}) AS day, max(x) AS dmax,
          groupArrayIf((win, x), win >= {from_win:Int64} AND win < {to_win:Int64} AND x >= {floor:Float64}) AS day_cand
        FROM (
          SELECT ${key
            ? `${key} AS h, min(${spec.subaccount}) AS sub, min(${spec.entity}) AS entity, sub != max(${spec.subaccount}) OR entity != max(${spec.entity}) AS mixed`
            : `${spec.subaccount} AS sub, ${spec.entity} AS entity`},
            toInt64(intDiv(toUnixTimestamp(${spec.time}) - {woff:UInt32}, {wsec:UInt32})) AS win, ${spec.metric} AS x
          FROM ${spec.source}${spec.prewhere ? ` PREWHERE ${spec.prewhere}` : ''}
          WHERE ${spec.time} >= {hfrom:DateTime64(3, 'UTC')} AND ${spec.time} < {hto:DateTime64(3, 'UTC')} AND (${spec.where})
            AND ${key ? `${key} IN (${busy})` : `(sub, entity) IN (${busy})`}
          GROUP BY ${key ? 'h' : 'sub, entity'}, win
        )
        GROUP BY ${key ? 'h' : 'sub, entity'}, day
      )
      GROUP BY ${key ? 'h' : 'sub, entity'}
      HAVING notEmpty(cand)
    )
    ARRAY JOIN cand AS c`;
  };
  const params = { ...grid.params, jfrom: chTime(Math.max(grid.fromWin * grid.windowMs + grid.offsetMs, grid.horizonMs)), floor, ...spec.params };
  let rows = await ctx.store.query<Record<string, unknown>>(sql(spec.hashed === true), params);
  if (rows.some((r) => r.mixed === true || r.mixed === 1)) rows = await ctx.store.query<Record<string, unknown>>(sql(false), params);
  const extras = await extrasOf(ctx, grid, spec, rows.map((r) => ({ subaccount: String(r.sub), entity: String(r.entity), win: n(r.win) })));
  const candidates = rows.map((r) => {
    const key = windowKey({ subaccount: String(r.sub), entity: String(r.entity), win: n(r.win) });
    return {
      subaccount: String(r.sub),
      entity: String(r.entity),
      win: n(r.win),
      observed: n(r.x),
      extras: extras.get(key) ?? {},
      dailyMax: nums(r.bvals),
    };
  });
  return { grid, candidates };
}

/**
 * The evidence aggregates of the candidate windows only: computed for every window of the horizon they
 * would cost more than the count itself (a groupUniqArray per window), and only a few windows need them.
 */
async function extrasOf(ctx: DetectContext, grid: WindowGrid, spec: BurstSpec, keys: readonly WindowKey[]): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  const extras = Object.entries(spec.extras ?? {});
  if (keys.length === 0 || extras.length === 0) return out;
  let lo = Infinity;
  let hi = -Infinity;
  for (const k of keys) {
    lo = Math.min(lo, k.win);
    hi = Math.max(hi, k.win + 1);
  }
  const from = spec.extrasSource ?? { source: spec.source, time: spec.time, where: spec.extrasWhere ?? spec.where, subaccount: spec.subaccount, entity: spec.entity };
  const rows = await ctx.store.query<Record<string, unknown>>(`
    SELECT ${from.subaccount} AS sub, ${from.entity} AS entity, toInt64(intDiv(toUnixTimestamp(${from.time}) - {woff:UInt32}, {wsec:UInt32})) AS win
      ${extras.map(([name, agg]) => `, ${agg} AS ${name}`).join('')}
    FROM ${from.source}
    WHERE ${from.time} >= {lo:DateTime64(3, 'UTC')} AND ${from.time} < {hi:DateTime64(3, 'UTC')} AND (${from.where})
      AND ${WINDOW_KEY_SQL} IN {keys:Array(String)}
    GROUP BY sub, entity, win`,
  { ...spec.params, wsec: grid.wsec, woff: grid.offsetMs / 1000, lo: chTime(lo * grid.windowMs + grid.offsetMs), hi: chTime(hi * grid.windowMs + grid.offsetMs), keys: keys.map(windowKey) });
  for (const r of rows) out.set(windowKey({ subaccount: String(r.sub), entity: String(r.entity), win: n(r.win) }), Object.fromEntries(extras.map(([name]) => [name, r[name]])));
  return out;
}

export interface BurstVerdict {
  readonly baseline: number;
  readonly threshold: number;
  readonly historyDays: number;
  /** Fewer baseline days in the store than warmup_days: the hit is kept at low severity. */
  readonly partial: boolean;
  readonly ratio: number;
}

/** Threshold = max(floor, factor x median of the daily maxima); undefined when the value stays below it. */
export function judgeBurst(ctx: DetectContext, c: BurstCandidate, floor: number, factor: number): BurstVerdict | undefined {
  const baseline = median(c.dailyMax);
  const threshold = Math.max(floor, factor * baseline);
  if (c.observed < threshold || c.observed <= baseline) return undefined;
  const historyDays = c.dailyMax.length;
  return { baseline, threshold, historyDays, partial: historyDays < ctx.warmupDays, ratio: c.observed / Math.max(threshold, 1e-9) };
}

/** The baseline sentence every burst explanation ends with. */
export function burstBaselineText(v: BurstVerdict, unit: string, floor: number, factor: number, windowMinutes: number): string {
  const history = v.historyDays === 0
    ? 'no earlier history in the store, so only the fixed floor applies (warm-up: severity capped at low)'
    : `the median of the daily busiest ${windowMinutes}-minute window over the last ${v.historyDays} day${v.historyDays === 1 ? '' : 's'} is ${fmtNum(v.baseline)} ${unit}` +
      (v.partial ? ` (warm-up: fewer days than warmup_days, severity capped at low)` : '');
  return `Baseline: ${history}. Threshold: at least ${fmtNum(floor)} and at least ${fmtNum(factor)} x baseline, so ${fmtNum(v.threshold)}.`;
}

function fmtNum(x: number): string {
  return Number.isInteger(x) ? x.toLocaleString('en-US') : x.toFixed(1);
}

/**
 * Slow bursts: a second, long window per entity (hours) with its own floor and its own baseline (the
 * median of the daily busiest long window), for what stays below the short window's floor in every short
 * window: a scan or a probe spread over a working day. Judged on the plain grid and on the one shifted by
 * half a window (an 8-hour scan from 08:00 is half in each plain 6-hour window, most of it in one shifted
 * window); a shifted window only where no plain one of the entity overlaps it (withShifted). A long window
 * is reported only where no short window of the same entity inside it was reported: a fast burst keeps
 * its exact short window, and is not reported twice.
 *
 * The short pass is run over the sweep widened back to the start of the long window its first window lies
 * in (`widened`), so that which long windows a short one explains does not depend on where a live run's
 * range begins; its hits before the sweep's own range are only used for that, not reported (`inRange`).
 * Long windows divide a day, so the widened range starts on the same UTC day: the baseline horizon, and
 * every scratch table of the sweep, stay the same.
 */
export function widened(ctx: DetectContext, longWindowMinutes: number): DetectContext {
  const longMs = longWindowMinutes * 60_000;
  // The start of the long window containing the range's start, on the plain or the shifted grid (long
  // windows are judged on both), but not before that day: the horizon stays the sweep's. (A shifted long
  // window across midnight is then judged against the short windows of its second day only.)
  const plain = Math.floor(ctx.fromMs / longMs) * longMs;
  const off = longMs / 2;
  const shifted = Math.floor((ctx.fromMs - off) / longMs) * longMs + off;
  return { ...ctx, fromMs: Math.max(Math.floor(ctx.fromMs / DAY_MS) * DAY_MS, Math.min(plain, shifted)) };
}

/** The hits whose window ends after the sweep's start: those of its own range on their grid. */
export function inRange<H extends { readonly windowEndMs: number }>(ctx: DetectContext, hits: readonly H[]): H[] {
  return hits.filter((h) => h.windowEndMs > ctx.fromMs);
}

/** Long-window hits that no short-window hit of the same subaccount, entity type and entity overlaps. */
export function slowOnly<H extends { readonly subaccount: string; readonly entity_type: string; readonly entity: string; readonly windowStartMs: number; readonly windowEndMs: number }>(short: readonly H[], long: readonly H[]): H[] {
  return long.filter((l) => !short.some((s) => s.subaccount === l.subaccount && s.entity_type === l.entity_type && s.entity === l.entity && s.windowStartMs < l.windowEndMs && s.windowEndMs > l.windowStartMs));
}
