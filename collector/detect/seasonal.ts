// The seasonal baseline of volume_spike and exfiltration: a value per entity and window compared with the
// same time of day on earlier days of the same kind (weekdays with weekdays, weekends with weekends: the
// hour-of-week rhythm folded onto two day types, so 14 days give ~10 samples instead of 2), by median and
// median absolute deviation (MAD), which one earlier spike in the samples does not move.
//
// ClickHouse computes the value per entity and window and hands back the candidate windows (value >= floor
// and well above the samples' median) with their samples; the judgement is done here on those few rows.
import type { DetectContext } from './detector.js';
import { mad, median } from './score.js';
import { n, windowGrid, type WindowGrid } from './sql.js';

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
}

export interface SeasonalCandidate {
  readonly subaccount: string;
  readonly entity: string;
  readonly win: number;
  readonly observed: number;
  readonly extras: Record<string, unknown>;
  readonly weekend: boolean;
  /** Values at the same time of earlier days of the same kind since the entity was first seen (0 = none that day). */
  readonly sameType: readonly number[];
  /** The same over all earlier days. */
  readonly allDays: readonly number[];
  /** Days the entity has been known for, up to baseline_days. */
  readonly historyDays: number;
  /**
   * Values in the window before and the window after, on the same earlier days as `allDays` (newest
   * first), with whether each day was a weekend day: an hour's shift of the daily rhythm (daylight saving,
   * a nightly job starting a little later) moves traffic into a neighbouring window, not a spike.
   */
  readonly neighbours: { readonly before: readonly number[]; readonly after: readonly number[]; readonly weekend: readonly boolean[] };
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

export async function seasonalCandidates(ctx: DetectContext, windowMinutes: number, floor: number, prefilter: { ratio: number; unit: number; minSamples: number }, spec: SeasonalSpec): Promise<{ grid: WindowGrid; candidates: SeasonalCandidate[] }> {
  const grid = windowGrid(ctx, windowMinutes);
  const extras = Object.entries(spec.extras ?? {});
  const extraCols = extras.map(([name, agg]) => `, ${agg} AS ${name}`).join('');
  const extraOut = extras.map(([name]) => `, ${name}`).join('');
  const ek = entityKey(spec.entity);
  const level1 = `
          SELECT ${spec.subaccount} AS sub, ${ek.select},
            toInt64(intDiv(toUnixTimestamp(${spec.time}), {wsec:UInt32})) AS win, toFloat64(${spec.metric}) AS x${extraCols}
          FROM ${spec.source}
          WHERE ${spec.time} >= {hfrom:DateTime64(3, 'UTC')} AND ${spec.time} < {hto:DateTime64(3, 'UTC')} AND (${spec.where})
          GROUP BY sub, ${ek.names}, win`;
  // One row per entity and window; window functions over the same slot of the day on the previous
  // bdays days collect the samples (a window without events is no row: a sample of 0 once the entity
  // existed, filled in below from the count of days). The outer WHERE keeps windows whose value reaches
  // ratio x the lower median of their samples: a superset of what judgeSeasonal() accepts.
  const sql = `
    SELECT sub, entity, win, x${extraOut}, wk, s_same, s_all, n_same, n_all FROM (
      SELECT sub, entity, win, x${extraOut}, wk, s_same, s_all,
        greatest(day - {bdays:UInt32}, first_day, {data_day:Int64}) AS lo,
        day - lo AS n_all,
        arrayCount(dd -> (toDayOfWeek(toDateTime(dd * 86400, 'UTC')) >= 6) = wk, range(lo, day)) AS n_same,
        if(n_same >= {min_samples:UInt32}, arraySort(s_same), arraySort(s_all)) AS use,
        if(n_same >= {min_samples:UInt32}, n_same, n_all) AS n_use,
        n_use - length(use) AS zeros,
        intDiv(n_use - 1, 2) AS mid,
        if(n_use = 0, 0, if(mid < zeros, 0, use[mid - zeros + 1])) AS low_median
      FROM (
        SELECT sub, ${ek.key} AS entity, win, x${extraOut},
          intDiv(win, {spd:UInt32}) AS day, win % {spd:UInt32} AS slot,
          toDayOfWeek(toDateTime(win * {wsec:UInt32}, 'UTC')) >= 6 AS wk,
          groupArray(x) OVER (PARTITION BY sub, ${ek.names}, slot, wk ORDER BY day RANGE BETWEEN {bdays:UInt32} PRECEDING AND 1 PRECEDING) AS s_same,
          groupArray(x) OVER (PARTITION BY sub, ${ek.names}, slot ORDER BY day RANGE BETWEEN {bdays:UInt32} PRECEDING AND 1 PRECEDING) AS s_all,
          min(day) OVER (PARTITION BY sub, ${ek.names}) AS first_day
        FROM (${level1})
      )
      WHERE win >= {from_win:Int64} AND win < {to_win:Int64} AND x >= {floor:Float64}
    )
    WHERE n_use >= {min_samples:UInt32} AND x >= {ratio:Float64} * greatest(low_median, {unit:Float64})`;
  const rows = await ctx.store.query<Record<string, unknown>>(sql, { ...grid.params, floor, ratio: prefilter.ratio, unit: prefilter.unit, min_samples: prefilter.minSamples, ...spec.params });
  const withZeros = (values: unknown, count: unknown) => {
    const v = (values as unknown[]).map(n);
    return [...v, ...new Array<number>(Math.max(0, n(count) - v.length)).fill(0)];
  };
  const base = rows.map((r) => ({ r, sub: String(r.sub), entity: String(r.entity), win: n(r.win), history: n(r.n_all) }));
  // The neighbouring windows of the candidates' earlier days, read for those keys only.
  const wanted: string[] = [];
  for (const b of base) for (let k = 1; k <= b.history; k++) for (const d of [-1, 1]) wanted.push(`${b.sub}\u0000${b.entity}\u0000${b.win + d - k * grid.spd}`);
  const near = new Map<string, number>();
  if (wanted.length > 0) {
    const found = await ctx.store.query<{ sub: string; entity: string; win: string | number; x: number }>(`
      SELECT sub, ${ek.key} AS entity, win, x FROM (${level1})
      WHERE concat(sub, '\\0', entity, '\\0', toString(win)) IN {keys:Array(String)}`, { ...grid.params, ...spec.params, keys: wanted });
    for (const f of found) near.set(`${f.sub}\u0000${f.entity}\u0000${n(f.win)}`, n(f.x));
  }
  const candidates = base.map(({ r, sub, entity, win, history }) => {
    const ks = Array.from({ length: history }, (_, i) => i + 1);
    const at = (w: number) => near.get(`${sub}\u0000${entity}\u0000${w}`) ?? 0;
    return {
      subaccount: sub,
      entity,
      win,
      observed: n(r.x),
      extras: Object.fromEntries(extras.map(([name]) => [name, r[name]])),
      weekend: r.wk === true || r.wk === 1,
      sameType: withZeros(r.s_same, r.n_same),
      allDays: withZeros(r.s_all, r.n_all),
      historyDays: history,
      neighbours: {
        before: ks.map((k) => at(win - 1 - k * grid.spd)),
        after: ks.map((k) => at(win + 1 - k * grid.spd)),
        weekend: ks.map((k) => isWeekend((win - k * grid.spd) * grid.windowMs)),
      },
    };
  });
  return { grid, candidates };
}

function isWeekend(ms: number): boolean {
  const day = new Date(ms).getUTCDay();
  return day === 0 || day === 6;
}

export interface SeasonalParams {
  /** Robust z-score the value must reach: (value - median) / scale. */
  readonly z: number;
  /** And at least this multiple of the median (of `unit` when the median is smaller). */
  readonly ratio: number;
  /** Fewest samples for a baseline; with fewer the window is not judged (warm-up). */
  readonly minSamples: number;
  /** Smallest value of the scale: for counts the Poisson noise sqrt(median) also applies. */
  readonly unit: number;
  readonly poisson: boolean;
}

export interface SeasonalVerdict {
  /** The baseline: the highest of the medians of this window and of its two neighbours. */
  readonly median: number;
  readonly sameWindowMedian: number;
  readonly neighbourMedians: readonly [number, number];
  readonly mad: number;
  readonly scale: number;
  readonly z: number;
  readonly threshold: number;
  readonly sampleCount: number;
  /** 'same day type' or 'all days' (too few samples of the same kind yet). */
  readonly basis: string;
  readonly historyDays: number;
  readonly ratio: number;
}

/** undefined when the value is within the baseline or the baseline is too short to judge. */
export function judgeSeasonal(ctx: DetectContext, c: SeasonalCandidate, p: SeasonalParams): SeasonalVerdict | undefined {
  if (c.historyDays < ctx.warmupDays) return undefined;
  const useSame = c.sameType.length >= p.minSamples;
  const samples = useSame ? c.sameType : c.allDays;
  if (samples.length < p.minSamples) return undefined;
  const same = median(samples);
  const d = mad(samples, same);
  // The baseline is the busiest of this window and its two neighbours at that time of day.
  const pick = (values: readonly number[]) => values.filter((_, i) => !useSame || c.neighbours.weekend[i] === c.weekend);
  const before = median(pick(c.neighbours.before));
  const after = median(pick(c.neighbours.after));
  const m = Math.max(same, before, after);
  // The MAD of a steady series can be 0; the floors keep a small wobble from looking like a spike.
  const scale = Math.max(1.4826 * d, p.poisson ? Math.sqrt(Math.max(m, 1)) : 0, 0.1 * m, p.unit);
  const threshold = Math.max(m + p.z * scale, p.ratio * Math.max(m, p.unit));
  if (c.observed < threshold) return undefined;
  return {
    median: m,
    sameWindowMedian: same,
    neighbourMedians: [before, after],
    mad: d,
    scale,
    z: (c.observed - m) / scale,
    threshold,
    sampleCount: samples.length,
    basis: useSame ? (c.weekend ? 'weekend days' : 'weekdays') : 'days',
    historyDays: c.historyDays,
    ratio: c.observed / threshold,
  };
}
