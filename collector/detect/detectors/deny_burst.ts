// deny_burst: a burst of denied calls by one cloud app, principal or client IP in a few minutes: policy
// probing (trying paths, methods or hosts it is not allowed), or a deployment that lost its permissions.
// Counted per entity type over the sweep's refused calls (facts.ts); when one burst shows through
// several types (an attacker's IP using an app's token) only the most unusual is kept (a principal or IP
// never seen before scores higher), ties going to the principal, then the client IP, then the app.
import { burstBaselineText, burstCandidates, judgeBurst } from '../burst.js';
import type { Detector, Hit } from '../detector.js';
import { finishHits, markNewEntities, warmupCap, type HitDraft } from '../hits.js';
import { refusedTable } from '../facts.js';
import { fmt, scoreOf } from '../score.js';

/** Refusals that say something about the caller's intent; unauthenticated ones are auth_failure_burst's,
 * rate_limited and no_connector are load and availability, not probing. */
const PROBING_REASONS = ['app_not_trusted', 'no_mapping', 'protocol_not_allowed', 'path_not_allowed', 'method_not_allowed', 'resource_suspended', 'malformed_request'];
const ENTITY_TYPES = ['principal', 'client_ip', 'cloud_app'] as const;
const WHERE = "decision = 'deny' AND deny_reason IN {reasons:Array(String)}";

export const denyBurst: Detector = {
  id: 'deny_burst',
  summary: 'a burst of denied calls by one app, principal or client IP (policy probing)',
  defaults: { enabled: true, window_minutes: 15, min_denied: 20, factor: 3, base_score: 50 },
  paramDocs: {
    window_minutes: 'window length (minutes)',
    min_denied: 'fewest denied calls in a window that can raise a finding',
    factor: 'denied calls must also reach this multiple of the baseline (median of the daily busiest window)',
    base_score: 'score at the threshold (+20 per doubling above it)',
  },
  entityPreference: ENTITY_TYPES,
  async detect(ctx, p) {
    const window = p.window_minutes;
    const floor = p.min_denied as number;
    const factor = p.factor as number;
    const source = await refusedTable(ctx);
    const hits: Hit[] = [];
    for (const type of ENTITY_TYPES) {
      const where = `${WHERE} AND ${type} != ''`;
      const { grid, candidates } = await burstCandidates(ctx, window, floor, {
        source,
        time: 'ts',
        where,
        subaccount: 'subaccount',
        entity: type,
        hashed: type !== 'cloud_app',
        metric: 'count()',
        extras: { paths: 'uniqExact(path)', reasons: 'sumMap([toString(deny_reason)], [toUInt64(1)])', apps: "groupUniqArray(3)(cloud_app)" },
        params: { reasons: PROBING_REASONS },
      });
      const drafts: HitDraft[] = [];
      for (const c of candidates) {
        const v = judgeBurst(ctx, c, floor, factor);
        if (!v) continue;
        const [names, counts] = (c.extras.reasons as [string[], unknown[]] | undefined) ?? [[], []];
        const reasons = Object.fromEntries(names.map((r, i) => [r, Number(counts[i])]));
        const reasonText = Object.entries(reasons).sort((a, b) => b[1] - a[1]).map(([r, k]) => `${r} ${fmt(k)}`).join(', ');
        const apps = ((c.extras.apps as string[] | undefined) ?? []).filter((a) => a !== '');
        const who = type === 'cloud_app' ? `cloud app "${c.entity}"` : `${type === 'principal' ? 'principal' : 'client IP'} ${c.entity}${apps.length ? ` (through ${apps.join(', ')})` : ''}`;
        drafts.push({
          win: c.win,
          subaccount: c.subaccount,
          entity_type: type,
          entity: c.entity,
          score: scoreOf(p.base_score as number, v.ratio),
          ...warmupCap(v.partial),
          title: `Burst of ${fmt(c.observed)} denied calls by ${type === 'cloud_app' ? 'cloud app' : type === 'principal' ? 'principal' : 'client IP'} ${c.entity} in ${window} minutes`,
          explanation: `Observed: ${who} of subaccount "${c.subaccount}" was denied ${fmt(c.observed)} times in ${window} minutes (${reasonText}), on ${fmt(Number(c.extras.paths))} distinct paths. ` +
            burstBaselineText(v, 'denied calls', floor, factor, window),
          evidence: { observed: c.observed, baseline: v.baseline, threshold: v.threshold, history_days: v.historyDays, distinct_paths: Number(c.extras.paths), deny_reasons: reasons, cloud_apps: apps },
        });
      }
      const marked = type === 'cloud_app' ? drafts : await markNewEntities(ctx, grid, type, drafts);
      hits.push(...await finishHits(ctx, grid, { subaccount: 'subaccount', entity: type, where, params: { reasons: PROBING_REASONS } }, marked));
    }
    return hits;
  },
};
