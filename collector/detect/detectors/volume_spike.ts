// volume_spike: calls of one cloud app (or of a whole subaccount) far above what it makes at that time of
// day on comparable days. Seasonal baseline and robust statistics (seasonal.ts): a new release that doubles
// traffic stays below the ratio, a month-end closing below the raised month-end baseline, a quiet hour's
// few calls below the absolute excess; a scraping run or a runaway client does not.
// Per app from audit_events (the app is not in the rollups), per subaccount from audit_hour / audit_minute;
// a subaccount-wide spike is only reported when no single app of it explains the window.
import type { Detector, DetectContext, Hit } from '../detector.js';
import { appHalfHourTable } from '../facts.js';
import { finishHits, type HitDraft } from '../hits.js';
import { fmt, scoreOf } from '../score.js';
import { judgeSeasonal, KNOWN_APPS, KNOWN_SUBACCOUNTS, seasonalBaselineText, seasonalCandidates, shiftOf, withShifted, type SeasonalCandidate, type SeasonalVerdict } from '../seasonal.js';
import { isoOf, type WindowGrid } from '../sql.js';
import type { DetectorParams } from '../config.js';

export const volumeSpike: Detector = {
  id: 'volume_spike',
  summary: 'call volume of an app or subaccount far above its seasonal (time of day, day type) baseline',
  defaults: { enabled: true, window_minutes: 60, shifted_windows: true, min_excess: 30, z: 5, ratio: 3, min_samples: 3, month_end_factor: 2, month_end_days: 2, base_score: 45 },
  paramDocs: {
    window_minutes: 'window length (minutes); the baseline takes the same window of earlier days',
    shifted_windows: 'also judge app windows shifted by half their length, so that a spike straddling two windows is seen whole',
    min_excess: 'fewest calls above the baseline in a window that can raise a finding (a quiet hour\'s 12 calls against 3 are no spike)',
    z: 'robust z-score the calls must reach: (calls - baseline) / max(1.4826 x MAD, sqrt(baseline), 0.1 x baseline, 1)',
    ratio: 'calls must also reach this multiple of the baseline',
    min_samples: 'fewest earlier days at that time of day needed to judge (warm-up: quiet before)',
    month_end_factor: 'the baseline is multiplied by this on month-end days (closing the books); 1 = no month-end allowance',
    month_end_days: 'month-end: the last this many weekdays of a month (by UTC date, widened to business hours in every time zone)',
    base_score: 'score at the threshold (+20 per doubling above it)',
  },
  async detect(ctx, p) {
    const apps = withShifted(await level(ctx, p, 'cloud_app', 0), shiftOf(p) > 0 ? await level(ctx, p, 'cloud_app', shiftOf(p)) : []);
    const subs = await level(ctx, p, 'subaccount', 0);
    // A subaccount-wide spike that one of its apps explains (an app's window overlapping it) is the app's.
    return [...apps, ...subs.filter((s) => !apps.some((a) => a.subaccount === s.subaccount && a.windowStartMs < s.windowEndMs && a.windowEndMs > s.windowStartMs))];
  },
};

async function level(ctx: DetectContext, p: DetectorParams, type: 'cloud_app' | 'subaccount', offset: number): Promise<Hit[]> {
  const window = p.window_minutes;
  const hourly = window % 60 === 0;
  const perApp = type === 'cloud_app'
    ? (hourly
      // Whole hours: the sweep's per-app half-hour aggregate (facts.ts, shared with exfiltration and off_hours).
      ? { source: await appHalfHourTable(ctx), time: 'half', where: '1 = 1', subaccount: 'sub', entity: ['entity'], metric: 'sum(calls)', extras: { denied: 'sum(denied)' }, history: KNOWN_APPS }
      : { source: 'audit_events', time: 'ts', where: "cloud_app != ''", subaccount: 'subaccount', entity: ['cloud_app'], metric: 'count()', extras: { denied: "countIf(decision = 'deny')" }, history: KNOWN_APPS })
    : undefined;
  const { grid, candidates } = await seasonalCandidates(ctx, window, p.min_excess as number, { ratio: p.ratio as number, unit: 1, minSamples: p.min_samples as number }, perApp ??
    { source: hourly ? 'audit_hour' : 'audit_minute', time: hourly ? 'hour' : 'minute', where: "subaccount != ''", subaccount: 'subaccount', entity: ['subaccount'], metric: 'sum(calls)', extras: { denied: "sumIf(calls, decision = 'deny')" }, history: KNOWN_SUBACCOUNTS }, offset);
  const drafts: HitDraft[] = [];
  for (const c of candidates) {
    const v = judgeSeasonal(ctx, c, {
      z: p.z as number, ratio: p.ratio as number, minExcess: p.min_excess as number, minSamples: p.min_samples as number, unit: 1,
      eventSize: 1, monthEndFactor: p.month_end_factor as number, monthEndDays: p.month_end_days as number,
    }, grid);
    if (!v) continue;
    drafts.push(draft(c, v, type, grid, p));
  }
  const spec = type === 'cloud_app'
    ? { subaccount: 'subaccount', entity: 'cloud_app', where: "cloud_app != ''" }
    : { subaccount: 'subaccount', entity: 'subaccount', where: "subaccount != ''" };
  return finishHits(ctx, grid, spec, drafts);
}

function draft(c: SeasonalCandidate, v: SeasonalVerdict, type: string, grid: WindowGrid, p: DetectorParams): HitDraft {
  const who = type === 'cloud_app' ? `cloud app "${c.entity}" of subaccount "${c.subaccount}"` : `subaccount "${c.subaccount}"`;
  const window = grid.windowMs / 60_000;
  const start = isoOf(c.win * grid.windowMs + grid.offsetMs).slice(11, 16);
  return {
    win: c.win,
    subaccount: c.subaccount,
    entity_type: type,
    entity: c.entity,
    score: scoreOf(p.base_score as number, v.ratio),
    title: `${type === 'cloud_app' ? `Cloud app ${c.entity}` : `Subaccount ${c.subaccount}`}: ${fmt(c.observed)} calls in ${window} minutes, ${fmt(c.observed / Math.max(v.median, 1))}x its usual`,
    explanation: `Observed: ${who} made ${fmt(c.observed)} calls in the ${window} minutes from ${start} UTC (${fmt(Number(c.extras.denied))} denied). ` +
      `${seasonalBaselineText(v, fmt)} ` +
      `Threshold: baseline + ${fmt(p.z as number)} x scale ${fmt(v.scale)}, at least ${fmt(p.ratio as number)} x baseline and at least ${fmt(p.min_excess as number)} calls above it, so ${fmt(v.threshold)}; robust z = ${fmt(v.z)}.`,
    evidence: {
      observed: c.observed, median: v.median, same_window_median: v.sameWindowMedian, day_type_median: v.dayTypeMedian, weekday_median: v.weekdayMedian,
      month_end_factor: v.monthEndFactor, mad: v.mad, scale: v.scale, z: v.z, threshold: v.threshold, samples: v.sampleCount, basis: v.basis, history_days: v.historyDays,
      denied_calls: Number(c.extras.denied),
    },
  };
}
