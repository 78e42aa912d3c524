// deny_burst: a burst of denied calls by one cloud app, principal or client IP in a few minutes: policy
// probing (trying paths, methods or hosts it is not allowed), or a deployment that lost its permissions.
// Counted per entity type over the sweep's refused calls (facts.ts); when one burst shows through
// several types (an attacker's IP using an app's token) only the most unusual is kept (a principal or IP
// never seen before scores higher), ties going to the principal, then the client IP, then the app.
// A slow probe (a refusal every few minutes for hours, below the floor in every short window) is judged
// over a long window too, with its own floor and baseline, where no short window of the entity was
// reported (burst.ts, slowOnly), once the store has warmup_days of history (a long window's count means
// little against the floor alone). An app's long windows are counted from the sweep's per-app half hours.
import { burstBaselineText, burstCandidates, inRange, judgeBurst, slowOnly, widened } from '../burst.js';
import { withShifted } from '../seasonal.js';
import type { DetectorParams } from '../config.js';
import type { DetectContext, Detector, Hit } from '../detector.js';
import { finishHits, markNewEntities, warmupCap, type HitDraft } from '../hits.js';
import { appHalfHourTable, PROBING_REASONS, refusedTable } from '../facts.js';
import { fmt, scoreOf } from '../score.js';

/** Refusals that say something about the caller's intent (facts.ts, PROBING_REASONS). */
const ENTITY_TYPES = ['principal', 'client_ip', 'cloud_app'] as const;
const WHERE = "decision = 'deny' AND deny_reason IN {reasons:Array(String)}";

export const denyBurst: Detector = {
  id: 'deny_burst',
  summary: 'a burst of denied calls by one app, principal or client IP (policy probing)',
  defaults: { enabled: true, window_minutes: 15, min_denied: 20, factor: 3, long_window_minutes: 360, min_denied_long: 80, base_score: 50 },
  paramDocs: {
    window_minutes: 'window length (minutes)',
    min_denied: 'fewest denied calls in a window that can raise a finding',
    factor: 'denied calls must also reach this multiple of the baseline (median of the daily busiest window); the same for the long window',
    long_window_minutes: 'a second, long window for slow probing (must divide a day; 0 = none), on the plain grid and the one shifted by half a window, reported only where no short window of the entity inside it was',
    min_denied_long: 'fewest denied calls in a long window that can raise a finding',
    base_score: 'score at the threshold (+20 per doubling above it)',
  },
  entityPreference: ENTITY_TYPES,
  async detect(ctx, p) {
    const longWindow = p.long_window_minutes as number;
    if (!(longWindow > 0)) return pass(ctx, p, p.window_minutes, p.min_denied as number);
    const short = await pass(widened(ctx, longWindow), p, p.window_minutes, p.min_denied as number);
    const longOn = async (offset: number) => (await pass(ctx, p, longWindow, p.min_denied_long as number, offset)).filter((h) => h.maxSeverity !== 'low');
    const long = withShifted(await longOn(0), await longOn(longWindow / 2));
    return [...inRange(ctx, short), ...slowOnly(short, long)];
  },
};

async function pass(ctx: DetectContext, p: DetectorParams, window: number, floor: number, offset = 0): Promise<Hit[]> {
  const factor = p.factor as number;
  const source = await refusedTable(ctx);
  const hits: Hit[] = [];
  for (const type of ENTITY_TYPES) {
    const where = `${WHERE} AND ${type} != ''`;
    // An app's long windows from the sweep's per-app half hours (facts.ts): a busy app's refusals over
    // hours are many rows, already counted there. Its evidence is read from the refused calls all the same.
    const fromHalves = window >= 60 && window % 30 === 0 && type === 'cloud_app';
    const { grid, candidates } = await burstCandidates(ctx, window, floor, fromHalves
      ? {
        source: await appHalfHourTable(ctx), time: 'half', where: 'probing > 0', subaccount: 'sub', entity: 'entity', metric: 'sum(probing)',
        extras: { paths: 'uniqExact(path)', reasons: 'sumMap([toString(deny_reason)], [toUInt64(1)])', apps: "groupUniqArray(3)(cloud_app)" },
        extrasSource: { source, time: 'ts', where, subaccount: 'subaccount', entity: type }, params: { reasons: PROBING_REASONS },
      }
      : {
        source,
        time: 'ts',
        where,
        subaccount: 'subaccount',
        entity: type,
        hashed: type !== 'cloud_app',
        metric: 'count()',
        extras: { paths: 'uniqExact(path)', reasons: 'sumMap([toString(deny_reason)], [toUInt64(1)])', apps: "groupUniqArray(3)(cloud_app)" },
        params: { reasons: PROBING_REASONS },
      }, offset);
    const drafts: HitDraft[] = [];
    for (const c of candidates) {
      const v = judgeBurst(ctx, c, floor, factor);
      if (!v) continue;
      const [names, counts] = (c.extras.reasons as [string[], unknown[]] | undefined) ?? [[], []];
      const reasons = Object.fromEntries(names.map((r, i) => [r, Number(counts[i])]));
      const reasonText = Object.entries(reasons).sort((a, b) => b[1] - a[1]).map(([r, k]) => `${r} ${fmt(k)}`).join(', ');
      const apps = ((c.extras.apps as string[] | undefined) ?? []).filter((a) => a !== '');
      const span = window >= 60 && window % 60 === 0 ? `${window / 60} hours` : `${window} minutes`;
      const who = type === 'cloud_app' ? `cloud app "${c.entity}"` : `${type === 'principal' ? 'principal' : 'client IP'} ${c.entity}${apps.length ? ` (through ${apps.join(', ')})` : ''}`;
      drafts.push({
        win: c.win,
        subaccount: c.subaccount,
        entity_type: type,
        entity: c.entity,
        score: scoreOf(p.base_score as number, v.ratio),
        ...warmupCap(v.partial),
        title: `Burst of ${fmt(c.observed)} denied calls by ${type === 'cloud_app' ? 'cloud app' : type === 'principal' ? 'principal' : 'client IP'} ${c.entity} in ${span}`,
        explanation: `Observed: ${who} of subaccount "${c.subaccount}" was denied ${fmt(c.observed)} times in ${span} (${reasonText}), on ${fmt(Number(c.extras.paths))} distinct paths. ` +
          burstBaselineText(v, 'denied calls', floor, factor, window),
        evidence: { observed: c.observed, window_minutes: window, baseline: v.baseline, threshold: v.threshold, history_days: v.historyDays, distinct_paths: Number(c.extras.paths), deny_reasons: reasons, cloud_apps: apps },
      });
    }
    const marked = type === 'cloud_app' ? drafts : await markNewEntities(ctx, grid, type, drafts);
    hits.push(...await finishHits(ctx, grid, { subaccount: 'subaccount', entity: type, where, params: { reasons: PROBING_REASONS } }, marked));
  }
  return hits;
}
