// exfiltration: bytes sent back to cloud apps far above what they receive at that time of day on
// comparable days (the seasonal baseline of seasonal.ts, on bytes_out), judged per app and per backend:
// an app pulling far more than usual from anywhere, or a backend serving far more than usual to anyone.
// Each unusual window is then attributed to the app and backend pair that moved the most bytes in it; the
// finding names that app, the backend is in the evidence. Large exports at the same hour every day are in
// the baseline; a dump pulled at an unusual size or hour is not. (Per pair directly would group apps x
// backends x windows, several times the work of the two levels, for the rare case of an app whose total
// and whose backend's total both stay normal.)
import type { DetectContext, Detector, Hit } from '../detector.js';
import { appHourTable } from '../facts.js';
import { fmt, fmtBytes, scoreOf } from '../score.js';
import { judgeSeasonal, seasonalCandidates, type SeasonalCandidate, type SeasonalVerdict } from '../seasonal.js';
import { chTime, isoOf, n } from '../sql.js';
import type { DetectorParams } from '../config.js';

export const exfiltration: Detector = {
  id: 'exfiltration',
  summary: 'bytes sent to an app, or from a backend, far above the seasonal baseline',
  defaults: { enabled: true, window_minutes: 60, min_bytes: 5_000_000, z: 6, ratio: 4, min_samples: 3, base_score: 60 },
  paramDocs: {
    window_minutes: 'window length (minutes); the baseline takes the same window of earlier days',
    min_bytes: 'fewest bytes out (of the app or of the backend, one window) that can raise a finding',
    z: 'robust z-score the bytes must reach: (bytes - median) / max(1.4826 x MAD, 0.1 x median, 100 kB)',
    ratio: 'bytes must also reach this multiple of the baseline median',
    min_samples: 'fewest earlier days at that time of day needed to judge (warm-up: quiet before)',
    base_score: 'score at the threshold (+20 per doubling above it)',
  },
  async detect(ctx, p) {
    const window = p.window_minutes;
    const hourly = window % 60 === 0;
    const prefilter = { ratio: p.ratio as number, unit: 100_000, minSamples: p.min_samples as number };
    const judge = { z: p.z as number, ratio: p.ratio as number, minSamples: p.min_samples as number, unit: 100_000, poisson: false };
    const apps = await seasonalCandidates(ctx, window, p.min_bytes as number, prefilter, hourly
      // Whole hours: the sweep's per-app hourly aggregate (facts.ts, shared with volume_spike).
      ? { source: await appHourTable(ctx), time: 'hour', where: '1 = 1', subaccount: 'sub', entity: ['entity'], metric: 'sum(bytes)' }
      : { source: 'audit_events', time: 'ts', where: "cloud_app != '' AND decision = 'allow'", subaccount: 'subaccount', entity: ['cloud_app'], metric: 'sum(bytes_out)' });
    const backends = await seasonalCandidates(ctx, window, p.min_bytes as number, prefilter, {
      source: hourly ? 'audit_hour' : 'audit_minute', time: hourly ? 'hour' : 'minute', where: "decision = 'allow' AND virtual_host != ''", subaccount: 'subaccount', entity: ['virtual_host', 'virtual_port'], metric: 'sum(bytes_out)',
    });
    const unusual: Unusual[] = [];
    for (const c of apps.candidates) {
      const v = judgeSeasonal(ctx, c, judge);
      if (v) unusual.push({ level: 'app', c, v });
    }
    for (const c of backends.candidates) {
      const v = judgeSeasonal(ctx, c, judge);
      if (v) unusual.push({ level: 'backend', c, v });
    }
    return attribute(ctx, p, apps.grid.windowMs, unusual);
  },
};

interface Unusual {
  readonly level: 'app' | 'backend';
  readonly c: SeasonalCandidate;
  readonly v: SeasonalVerdict;
}

interface Pair { sub: string; app: string; host: string; port: string; win: string | number; bytes: string; calls: string; biggest: string; principals: string[]; ids: string[] }

async function attribute(ctx: DetectContext, p: DetectorParams, windowMs: number, unusual: readonly Unusual[]): Promise<Hit[]> {
  if (unusual.length === 0) return [];
  const wsec = windowMs / 1000;
  const keys = [...new Set(unusual.map((u) => `${u.c.subaccount}\u0000${u.c.win}`))];
  const wins = unusual.map((u) => u.c.win);
  const pairs = await ctx.store.query<Pair>(`
    SELECT subaccount AS sub, cloud_app AS app, virtual_host AS host, toString(virtual_port) AS port,
      toInt64(intDiv(toUnixTimestamp(ts), {wsec:UInt32})) AS win, sum(bytes_out) AS bytes, count() AS calls, max(bytes_out) AS biggest,
      groupUniqArrayIf(3)(principal, principal != '') AS principals,
      arrayMap(t -> t.2, groupArraySorted({samples:UInt32})((-toInt64(bytes_out), event_id))) AS ids
    FROM audit_events
    WHERE ts >= {lo:DateTime64(3, 'UTC')} AND ts < {hi:DateTime64(3, 'UTC')} AND decision = 'allow' AND cloud_app != ''
      AND concat(subaccount, '\\0', toString(win)) IN {keys:Array(String)}
    GROUP BY sub, app, host, port, win`,
  { wsec, samples: Math.max(1, ctx.maxSamples), lo: chTime(Math.min(...wins) * windowMs), hi: chTime((Math.max(...wins) + 1) * windowMs), keys });
  const hits: Hit[] = [];
  for (const u of unusual) {
    const inWindow = pairs.filter((x) => x.sub === u.c.subaccount && n(x.win) === u.c.win &&
      (u.level === 'app' ? x.app === u.c.entity : `${x.host}\u0000${x.port}` === u.c.entity));
    const top = inWindow.sort((a, b) => n(b.bytes) - n(a.bytes))[0];
    if (!top) continue;
    const backend = `${top.host}:${top.port}`;
    const what = u.level === 'app' ? `cloud app "${top.app}"` : `backend ${backend}`;
    const v = u.v;
    const threshold = Math.max(v.threshold, p.min_bytes as number);
    hits.push({
      subaccount: u.c.subaccount,
      entity_type: 'cloud_app',
      entity: top.app,
      windowStartMs: u.c.win * windowMs,
      windowEndMs: (u.c.win + 1) * windowMs,
      score: scoreOf(p.base_score as number, u.c.observed / threshold),
      title: `Cloud app ${top.app} received ${fmtBytes(n(top.bytes))} from ${backend} in ${windowMs / 60_000} minutes; ${what.replace(/"/g, '')} moved ${fmt(u.c.observed / Math.max(v.median, 1))}x its usual`,
      explanation: `Observed: ${what} of subaccount "${u.c.subaccount}" moved ${fmtBytes(u.c.observed)} in the ${windowMs / 60_000} minutes from ${isoOf(u.c.win * windowMs).slice(11, 16)} UTC; ` +
        `the largest part, ${fmtBytes(n(top.bytes))} over ${fmt(n(top.calls))} calls (largest response ${fmtBytes(n(top.biggest))}), went from backend ${backend} to cloud app "${top.app}"` +
        `${top.principals.length ? ` for principal(s) ${top.principals.join(', ')}` : ''}. ` +
        `Baseline: median ${fmtBytes(v.median)} for the ${u.level} over ${v.sampleCount} earlier ${v.basis} at the same time of day, the highest of this window's (${fmtBytes(v.sameWindowMedian)}, MAD ${fmtBytes(v.mad)}) and its neighbours' (${fmtBytes(v.neighbourMedians[0])}, ${fmtBytes(v.neighbourMedians[1])}). ` +
        `Threshold: median + ${fmt(p.z as number)} x scale ${fmtBytes(v.scale)}, at least ${fmt(p.ratio as number)} x median and at least ${fmtBytes(p.min_bytes as number)}, so ${fmtBytes(threshold)}.`,
      evidence: {
        observed: u.c.observed, level: u.level, backend, pair_bytes: n(top.bytes), calls: n(top.calls), largest_response_bytes: n(top.biggest), principals: top.principals,
        median: v.median, same_window_median: v.sameWindowMedian, neighbour_medians: v.neighbourMedians, mad: v.mad, scale: v.scale, z: v.z, threshold, samples: v.sampleCount, basis: v.basis, history_days: v.historyDays,
      },
      sampleEventIds: ctx.maxSamples === 0 ? [] : top.ids,
    });
  }
  return hits;
}
