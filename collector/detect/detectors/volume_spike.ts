// volume_spike: calls of one cloud app (or of a whole subaccount) far above what it makes at that time of
// day on comparable days. Seasonal baseline and robust statistics (seasonal.ts): a busy month-end or a
// new release that doubles traffic stays below the ratio; a scraping run or a runaway client does not.
// Per app from audit_events (the app is not in the rollups), per subaccount from audit_hour / audit_minute;
// a subaccount-wide spike is only reported when no single app of it explains the window.
import type { Detector, DetectContext, Hit } from '../detector.js';
import { appHourTable } from '../facts.js';
import { finishHits, type HitDraft } from '../hits.js';
import { fmt, scoreOf } from '../score.js';
import { judgeSeasonal, seasonalCandidates, type SeasonalCandidate, type SeasonalVerdict } from '../seasonal.js';
import { isoOf } from '../sql.js';
import type { DetectorParams } from '../config.js';

export const volumeSpike: Detector = {
  id: 'volume_spike',
  summary: 'call volume of an app or subaccount far above its seasonal (time of day, day type) baseline',
  defaults: { enabled: true, window_minutes: 60, min_calls: 30, z: 5, ratio: 3, min_samples: 3, base_score: 45 },
  paramDocs: {
    window_minutes: 'window length (minutes); the baseline takes the same window of earlier days',
    min_calls: 'fewest calls in a window that can raise a finding',
    z: 'robust z-score the calls must reach: (calls - median) / max(1.4826 x MAD, sqrt(median), 0.1 x median, 1)',
    ratio: 'calls must also reach this multiple of the baseline median',
    min_samples: 'fewest earlier days at that time of day needed to judge (warm-up: quiet before)',
    base_score: 'score at the threshold (+20 per doubling above it)',
  },
  async detect(ctx, p) {
    const apps = await level(ctx, p, 'cloud_app');
    const subs = await level(ctx, p, 'subaccount');
    const explained = new Set(apps.map((h) => `${h.subaccount}\u0000${h.windowStartMs}`));
    return [...apps, ...subs.filter((h) => !explained.has(`${h.subaccount}\u0000${h.windowStartMs}`))];
  },
};

async function level(ctx: DetectContext, p: DetectorParams, type: 'cloud_app' | 'subaccount'): Promise<Hit[]> {
  const window = p.window_minutes;
  const hourly = window % 60 === 0;
  const perApp = type === 'cloud_app'
    ? (window % 60 === 0
      // Whole hours: the sweep's per-app hourly aggregate (facts.ts, shared with exfiltration and off_hours).
      ? { source: await appHourTable(ctx), time: 'hour', where: '1 = 1', subaccount: 'sub', entity: ['entity'], metric: 'sum(calls)', extras: { denied: 'sum(denied)' } }
      : { source: 'audit_events', time: 'ts', where: "cloud_app != ''", subaccount: 'subaccount', entity: ['cloud_app'], metric: 'count()', extras: { denied: "countIf(decision = 'deny')" } })
    : undefined;
  const { grid, candidates } = await seasonalCandidates(ctx, window, p.min_calls as number, { ratio: p.ratio as number, unit: 1, minSamples: p.min_samples as number }, perApp ??
    { source: hourly ? 'audit_hour' : 'audit_minute', time: hourly ? 'hour' : 'minute', where: "subaccount != ''", subaccount: 'subaccount', entity: ['subaccount'], metric: 'sum(calls)', extras: { denied: "sumIf(calls, decision = 'deny')" } });
  const drafts: HitDraft[] = [];
  for (const c of candidates) {
    const v = judgeSeasonal(ctx, c, { z: p.z as number, ratio: p.ratio as number, minSamples: p.min_samples as number, unit: 1, poisson: true });
    if (!v) continue;
    drafts.push(draft(c, v, type, window, p));
  }
  const spec = type === 'cloud_app'
    ? { subaccount: 'subaccount', entity: 'cloud_app', where: "cloud_app != ''" }
    : { subaccount: 'subaccount', entity: 'subaccount', where: "subaccount != ''" };
  return finishHits(ctx, grid, spec, drafts);
}

function draft(c: SeasonalCandidate, v: SeasonalVerdict, type: string, window: number, p: DetectorParams): HitDraft {
  const who = type === 'cloud_app' ? `cloud app "${c.entity}" of subaccount "${c.subaccount}"` : `subaccount "${c.subaccount}"`;
  const start = isoOf(c.win * window * 60_000).slice(11, 16);
  return {
    win: c.win,
    subaccount: c.subaccount,
    entity_type: type,
    entity: c.entity,
    score: scoreOf(p.base_score as number, v.ratio),
    title: `${type === 'cloud_app' ? `Cloud app ${c.entity}` : `Subaccount ${c.subaccount}`}: ${fmt(c.observed)} calls in ${window} minutes, ${fmt(c.observed / Math.max(v.median, 1))}x its usual`,
    explanation: `Observed: ${who} made ${fmt(c.observed)} calls in the ${window} minutes from ${start} UTC (${fmt(Number(c.extras.denied))} denied). ` +
      `Baseline: median ${fmt(v.median)} over ${v.sampleCount} earlier ${v.basis} at the same time of day (${v.historyDays} days of history): the highest of this window's median (${fmt(v.sameWindowMedian)}, MAD ${fmt(v.mad)}) ` +
      `and its neighbours' (${fmt(v.neighbourMedians[0])} before, ${fmt(v.neighbourMedians[1])} after), so an hour's shift of the daily rhythm is not a spike. ` +
      `Threshold: median + ${fmt(p.z as number)} x scale ${fmt(v.scale)}, and at least ${fmt(p.ratio as number)} x median, so ${fmt(v.threshold)}; robust z = ${fmt(v.z)}.`,
    evidence: { observed: c.observed, median: v.median, same_window_median: v.sameWindowMedian, neighbour_medians: v.neighbourMedians, mad: v.mad, scale: v.scale, z: v.z, threshold: v.threshold, samples: v.sampleCount, basis: v.basis, history_days: v.historyDays, denied_calls: Number(c.extras.denied) },
  };
}
