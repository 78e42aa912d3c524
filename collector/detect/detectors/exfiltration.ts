// exfiltration: bytes sent back to cloud apps far above what they receive at that time of day on
// comparable days (the seasonal baseline of seasonal.ts, on bytes_out), judged per app and per backend:
// an app pulling far more than usual from anywhere, or a backend serving far more than usual to anyone.
// Each unusual window is then attributed to the app and backend pair that moved the most bytes in it; the
// finding names that app, the backend is in the evidence. Large exports at the same hour every day are in
// the baseline; a dump pulled at an unusual size or hour is not. (Per pair directly would group apps x
// backends x windows, several times the work of the two levels, for the rare case of an app whose total
// and whose backend's total both stay normal.)
//
// Bytes are a sum of response sizes, and an office app pulling a few large reports an hour has a far
// noisier total than an integration of many small calls: the scale has a compound-Poisson floor,
// sqrt(baseline x the entity's size-weighted mean response), so three reports instead of one are not a
// theft while a dump of thousands of records is.
//
// A slow drip (a few MB an hour for a day, below the hourly thresholds in every hour) is judged over a long
// window too (6 hours by default), per app, against the same long window of earlier days, where no hourly
// window of the app inside it was reported (burst.ts, slowOnly).
import { inRange, slowOnly, widened } from '../burst.js';
import type { DetectContext, Detector, Hit } from '../detector.js';
import { appHalfHourTable } from '../facts.js';
import { fmt, fmtBytes, scoreOf } from '../score.js';
import { judgeSeasonal, KNOWN_APPS, KNOWN_BACKENDS, seasonalBaselineText, seasonalCandidates, shiftOf, withShifted, type SeasonalCandidate, type SeasonalVerdict } from '../seasonal.js';
import { chTime, DAY_MS, isoOf, n, windowGrid, type WindowGrid } from '../sql.js';
import type { DetectorParams } from '../config.js';

export const exfiltration: Detector = {
  id: 'exfiltration',
  summary: 'bytes sent to an app, or from a backend, far above the seasonal baseline',
  defaults: {
    enabled: true, window_minutes: 60, shifted_windows: true, min_excess_bytes: 5_000_000, z: 6, ratio: 4, min_samples: 3, month_end_factor: 2, month_end_days: 2,
    long_window_minutes: 360, min_excess_bytes_long: 10_000_000, ratio_long: 3, base_score: 60,
  },
  paramDocs: {
    window_minutes: 'window length (minutes); the baseline takes the same window of earlier days',
    shifted_windows: 'also judge app windows shifted by half their length, so that a dump straddling two windows is seen whole',
    min_excess_bytes: 'fewest bytes out above the baseline (of the app or of the backend, one window) that can raise a finding',
    z: 'robust z-score the bytes must reach: (bytes - baseline) / max(1.4826 x MAD, sqrt(baseline x size-weighted mean response), 0.1 x baseline, 100 kB)',
    ratio: 'bytes must also reach this multiple of the baseline',
    min_samples: 'fewest earlier days at that time of day needed to judge (warm-up: quiet before)',
    month_end_factor: 'the baseline is multiplied by this on month-end days (closing the books); 1 = no month-end allowance',
    month_end_days: 'month-end: the last this many weekdays of a month (by UTC date, widened to business hours in every time zone)',
    long_window_minutes: 'a second, long window for a slow drip to one app (must divide a day; 0 = none), judged the same way against the same window of earlier days, reported only where no window of window_minutes of the app inside it was',
    min_excess_bytes_long: 'fewest bytes out above the baseline in a long window that can raise a finding',
    ratio_long: 'bytes of a long window must reach this multiple of its baseline (long windows average out the hour-to-hour noise)',
    base_score: 'score at the threshold (+20 per doubling above it)',
  },
  async detect(ctx, p) {
    const longWindow = p.long_window_minutes as number;
    const hourly = { floor: p.min_excess_bytes as number, ratio: p.ratio as number };
    const hourlyCtx = longWindow > 0 ? widened(ctx, longWindow) : ctx;
    const shortLevels = await candidateLevels(hourlyCtx, p, p.window_minutes, shiftOf(p), hourly);
    if (!(longWindow > 0)) return judgeLevels(ctx, p, shortLevels, await responseSizes(ctx, shortLevels), hourly);
    const long = { floor: p.min_excess_bytes_long as number, ratio: p.ratio_long as number };
    // Long windows per app only: a drip goes to one app's token; a backend serving many apps a little more
    // each for hours is left to the hourly windows (one seasonal pass less).
    const longLevels = (await candidateLevels(ctx, p, longWindow, 0, long, false));
    // One read of the response sizes for both (the same horizon: the widened range starts on the same day).
    const sizes = await responseSizes(ctx, [...shortLevels, ...longLevels]);
    const short = await judgeLevels(hourlyCtx, p, shortLevels, sizes, hourly);
    return [...inRange(ctx, short), ...slowOnly(short, await judgeLevels(ctx, p, longLevels, sizes, long))];
  },
};

type Level = { level: 'app' | 'backend'; grid: WindowGrid; candidates: SeasonalCandidate[] };

/** The candidate app and backend windows of one length (plain grid, and the one shifted by `shift` minutes if any). */
async function candidateLevels(ctx: DetectContext, p: DetectorParams, window: number, shift: number, t: { floor: number; ratio: number }, backends = true): Promise<Level[]> {
  const hourly = window % 60 === 0;
  const prefilter = { ratio: t.ratio, unit: 100_000, minSamples: p.min_samples as number };
  const appSpec = hourly
    // Whole hours: the sweep's per-app half-hour aggregate (facts.ts, shared with volume_spike).
    ? { source: await appHalfHourTable(ctx), time: 'half', where: '1 = 1', subaccount: 'sub', entity: ['entity'], metric: 'sum(bytes)', history: KNOWN_APPS }
    : { source: 'audit_events', time: 'ts', where: "cloud_app != '' AND decision = 'allow'", subaccount: 'subaccount', entity: ['cloud_app'], metric: 'sum(bytes_out)', history: KNOWN_APPS };
  const backendSpec = {
    source: hourly ? 'audit_hour' : 'audit_minute', time: hourly ? 'hour' : 'minute', where: "decision = 'allow' AND virtual_host != ''", subaccount: 'subaccount', entity: ['virtual_host', 'virtual_port'], metric: 'sum(bytes_out)', history: KNOWN_BACKENDS,
  };
  // Apps on the plain grid and on the one shifted by half a window (a dump straddling two windows is
  // seen whole); backends, read from the hourly rollup, on the plain grid.
  return [
    { level: 'app', ...await seasonalCandidates(ctx, window, t.floor, prefilter, appSpec) },
    ...(shift > 0 ? [{ level: 'app' as const, ...await seasonalCandidates(ctx, window, t.floor, prefilter, appSpec, shift) }] : []),
    ...(backends ? [{ level: 'backend' as const, ...await seasonalCandidates(ctx, window, t.floor, prefilter, backendSpec) }] : []),
  ];
}

/** The unusual windows of the levels, attributed, as hits (a shifted window only where no plain one of the app overlaps). */
async function judgeLevels(ctx: DetectContext, p: DetectorParams, levels: readonly Level[], sizes: Awaited<ReturnType<typeof responseSizes>>, t: { floor: number; ratio: number }): Promise<Hit[]> {
  const plain: Hit[] = [];
  const shifted: Hit[] = [];
  for (const { level, grid, candidates } of levels) {
    const unusual: Unusual[] = [];
    for (const c of candidates) {
      const eventSize = sizes.of(level, c, grid);
      const v = judgeSeasonal(ctx, c, {
        z: p.z as number, ratio: t.ratio, minExcess: t.floor, minSamples: p.min_samples as number, unit: 100_000,
        eventSize, monthEndFactor: p.month_end_factor as number, monthEndDays: p.month_end_days as number,
      }, grid);
      if (v) unusual.push({ level, c, v, eventSize });
    }
    (grid.offsetMs === 0 ? plain : shifted).push(...await attribute(ctx, p, grid, unusual, t));
  }
  return withShifted(plain, shifted);
}

interface Unusual {
  readonly level: 'app' | 'backend';
  readonly c: SeasonalCandidate;
  readonly v: SeasonalVerdict;
  /** The size-weighted mean response of the entity over its baseline days (bytes). */
  readonly eventSize: number;
}

/**
 * The size-weighted mean response, sum(bytes^2) / sum(bytes) of the allowed calls, of each candidate app
 * and backend over its baseline days: the noise floor of a byte total (compound Poisson). Read for the
 * candidates' subaccounts only, per day, and summed here over each candidate's own baseline days.
 */
async function responseSizes(ctx: DetectContext, levels: readonly { candidates: readonly SeasonalCandidate[] }[]): Promise<{ of: (level: 'app' | 'backend', c: SeasonalCandidate, grid: WindowGrid) => number }> {
  const perDay = new Map<string, Map<number, { s: number; q: number }>>();
  const subs = [...new Set(levels.flatMap((l) => l.candidates.map((c) => c.subaccount)))];
  if (subs.length > 0) {
    const { params } = windowGrid(ctx, 60);
    const rows = await ctx.store.query<{ sub: string; app: string; backend: string; day: string | number; s: number; q: number }>(`
      SELECT subaccount AS sub, cloud_app AS app, concat(virtual_host, '\\0', toString(virtual_port)) AS backend, toInt64(intDiv(toUnixTimestamp(ts), 86400)) AS day,
        toFloat64(sum(bytes_out)) AS s, sum(toFloat64(bytes_out) * toFloat64(bytes_out)) AS q
      FROM audit_events
      WHERE ts >= {hfrom:DateTime64(3, 'UTC')} AND ts < {hto:DateTime64(3, 'UTC')} AND decision = 'allow' AND subaccount IN {subs:Array(String)}
      GROUP BY sub, app, backend, day`, { hfrom: params.hfrom as string, hto: params.hto as string, subs });
    const add = (key: string, day: number, s: number, q: number) => {
      let days = perDay.get(key);
      if (!days) perDay.set(key, (days = new Map()));
      const cur = days.get(day) ?? { s: 0, q: 0 };
      days.set(day, { s: cur.s + s, q: cur.q + q });
    };
    for (const r of rows) {
      const day = n(r.day);
      if (r.app !== '') add(`app\u0000${r.sub}\u0000${r.app}`, day, n(r.s), n(r.q));
      if (!r.backend.startsWith('\u0000')) add(`backend\u0000${r.sub}\u0000${r.backend}`, day, n(r.s), n(r.q));
    }
  }
  return {
    of(level, c, grid) {
      const days = perDay.get(`${level}\u0000${c.subaccount}\u0000${c.entity}`);
      if (!days) return 0;
      const today = Math.floor((c.win * grid.windowMs + grid.offsetMs) / DAY_MS);
      let s = 0;
      let q = 0;
      for (const [day, x] of days) {
        if (day < today && day >= today - c.historyDays) {
          s += x.s;
          q += x.q;
        }
      }
      return s > 0 ? q / s : 0;
    },
  };
}

interface Pair { sub: string; app: string; host: string; port: string; win: string | number; bytes: string; calls: string; biggest: string; principals: string[]; ids: string[] }

async function attribute(ctx: DetectContext, p: DetectorParams, grid: WindowGrid, unusual: readonly Unusual[], t: { floor: number; ratio: number }): Promise<Hit[]> {
  if (unusual.length === 0) return [];
  const { windowMs, offsetMs } = grid;
  const wsec = windowMs / 1000;
  const keys = [...new Set(unusual.map((u) => `${u.c.subaccount}\u0000${u.c.win}`))];
  const wins = unusual.map((u) => u.c.win);
  const pairs = await ctx.store.query<Pair>(`
    SELECT subaccount AS sub, cloud_app AS app, virtual_host AS host, toString(virtual_port) AS port,
      toInt64(intDiv(toUnixTimestamp(ts) - {woff:UInt32}, {wsec:UInt32})) AS win, sum(bytes_out) AS bytes, count() AS calls, max(bytes_out) AS biggest,
      groupUniqArrayIf(3)(principal, principal != '') AS principals,
      arrayMap(t -> t.2, groupArraySorted({samples:UInt32})((-toInt64(bytes_out), event_id))) AS ids
    FROM audit_events
    WHERE ts >= {lo:DateTime64(3, 'UTC')} AND ts < {hi:DateTime64(3, 'UTC')} AND decision = 'allow' AND cloud_app != ''
      AND concat(subaccount, '\\0', toString(win)) IN {keys:Array(String)}
    GROUP BY sub, app, host, port, win`,
  { wsec, woff: offsetMs / 1000, samples: Math.max(1, ctx.maxSamples), lo: chTime(Math.min(...wins) * windowMs + offsetMs), hi: chTime((Math.max(...wins) + 1) * windowMs + offsetMs), keys });
  const hits: Hit[] = [];
  for (const u of unusual) {
    const inWindow = pairs.filter((x) => x.sub === u.c.subaccount && n(x.win) === u.c.win &&
      (u.level === 'app' ? x.app === u.c.entity : `${x.host}\u0000${x.port}` === u.c.entity));
    const top = inWindow.sort((a, b) => n(b.bytes) - n(a.bytes))[0];
    if (!top) continue;
    const backend = `${top.host}:${top.port}`;
    const what = u.level === 'app' ? `cloud app "${top.app}"` : `backend ${backend}`;
    const v = u.v;
    const threshold = v.threshold;
    hits.push({
      subaccount: u.c.subaccount,
      entity_type: 'cloud_app',
      entity: top.app,
      windowStartMs: u.c.win * windowMs + offsetMs,
      windowEndMs: (u.c.win + 1) * windowMs + offsetMs,
      score: scoreOf(p.base_score as number, u.c.observed / threshold),
      title: `Cloud app ${top.app} received ${fmtBytes(n(top.bytes))} from ${backend} in ${windowMs / 60_000} minutes; ${what.replace(/"/g, '')} moved ${fmt(u.c.observed / Math.max(v.median, 1))}x its usual`,
      explanation: `Observed: ${what} of subaccount "${u.c.subaccount}" moved ${fmtBytes(u.c.observed)} in the ${windowMs / 60_000} minutes from ${isoOf(u.c.win * windowMs + offsetMs).slice(11, 16)} UTC; ` +
        `the largest part, ${fmtBytes(n(top.bytes))} over ${fmt(n(top.calls))} calls (largest response ${fmtBytes(n(top.biggest))}), went from backend ${backend} to cloud app "${top.app}"` +
        `${top.principals.length ? ` for principal(s) ${top.principals.join(', ')}` : ''}. ` +
        `${seasonalBaselineText(v, fmtBytes).replace('Baseline ', `Baseline of the ${u.level} `)} ` +
        `Threshold: baseline + ${fmt(p.z as number)} x scale ${fmtBytes(v.scale)} (at least sqrt(baseline x ${fmtBytes(u.eventSize)}, its size-weighted mean response)), at least ${fmt(t.ratio)} x baseline ` +
        `and at least ${fmtBytes(t.floor)} above it, so ${fmtBytes(threshold)}.`,
      evidence: {
        observed: u.c.observed, window_minutes: windowMs / 60_000, level: u.level, backend, pair_bytes: n(top.bytes), calls: n(top.calls), largest_response_bytes: n(top.biggest), principals: top.principals,
        median: v.median, same_window_median: v.sameWindowMedian, day_type_median: v.dayTypeMedian, weekday_median: v.weekdayMedian, month_end_factor: v.monthEndFactor,
        mad: v.mad, weighted_mean_response_bytes: u.eventSize, scale: v.scale, z: v.z, threshold, samples: v.sampleCount, basis: v.basis, history_days: v.historyDays,
      },
      sampleEventIds: ctx.maxSamples === 0 ? [] : top.ids,
    });
  }
  return hits;
}
