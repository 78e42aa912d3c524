// path_enumeration: one cloud app, principal or client IP hitting many distinct paths that are refused or
// answered 404 in a short window: a scanner or someone mapping what the backends expose. Counted per
// entity type; when the same burst shows through several of them (one scanner = one app, one principal,
// one IP) only the most unusual is kept, the others are named in its evidence.
//
// Only refusals that depend on what was asked for count: a path or method outside the access rules, an
// unmapped host, a suspended resource, a malformed request, and 404s. Refusals that any path would have
// got (no or unknown token, an untrusted app, no connector during a restart, rate limiting) tell nothing
// about what a backend exposes, and a connector's maintenance window refusing a busy app's calls is no scan.
import { burstBaselineText, burstCandidates, judgeBurst } from '../burst.js';
import type { Detector, Hit } from '../detector.js';
import { finishHits, markNewEntities, warmupCap, type HitDraft } from '../hits.js';
import { refusedTable } from '../facts.js';
import { fmt, scoreOf } from '../score.js';

/** Refusals decided on the request itself (see above). */
const PATH_REASONS = ['no_mapping', 'protocol_not_allowed', 'path_not_allowed', 'method_not_allowed', 'resource_suspended', 'malformed_request'];
const WHERE = "((decision = 'deny' AND deny_reason IN {reasons:Array(String)}) OR (decision = 'allow' AND status = 404)) AND path != ''";
const ENTITY_TYPES = ['principal', 'client_ip', 'cloud_app'] as const;

export const pathEnumeration: Detector = {
  id: 'path_enumeration',
  summary: 'many distinct paths denied or answered 404 for one app, principal or client IP',
  defaults: { enabled: true, window_minutes: 10, min_paths: 25, factor: 3, base_score: 55 },
  paramDocs: {
    window_minutes: 'window length (minutes)',
    min_paths: 'fewest distinct refused or 404 paths in a window that can raise a finding',
    factor: 'distinct paths must also reach this multiple of the baseline (median of the entity\'s daily busiest window)',
    base_score: 'score at the threshold (+20 per doubling above it)',
  },
  entityPreference: ENTITY_TYPES,
  async detect(ctx, p) {
    const window = p.window_minutes;
    const floor = p.min_paths as number;
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
        metric: 'uniqExact(path)',
        // A day's refused calls bound its windows' distinct paths, and are cheaper to count.
        dayBound: 'count()',
        extras: { denied: "countIf(decision = 'deny')", notfound: "countIf(decision = 'allow' AND status = 404)", paths: 'groupUniqArray(5)(path)' },
        params: { reasons: PATH_REASONS },
      });
      const drafts: HitDraft[] = [];
      for (const c of candidates) {
        const v = judgeBurst(ctx, c, floor, factor);
        if (!v) continue;
        const denied = Number(c.extras.denied);
        const notFound = Number(c.extras.notfound);
        const examples = ((c.extras.paths as string[] | undefined) ?? []).sort();
        const who = `${type.replace('_', ' ')} ${type === 'client_ip' ? c.entity : `"${c.entity}"`}`;
        drafts.push({
          win: c.win,
          subaccount: c.subaccount,
          entity_type: type,
          entity: c.entity,
          score: scoreOf(p.base_score as number, v.ratio),
          ...warmupCap(v.partial),
          title: `${who} hit ${fmt(c.observed)} distinct refused or missing paths in ${window} minutes`,
          explanation: `Observed: ${who} of subaccount "${c.subaccount}" was refused or answered 404 on ${fmt(c.observed)} distinct paths in ${window} minutes ` +
            `(${fmt(denied)} denied calls, ${fmt(notFound)} 404s; e.g. ${examples.join(', ')}). ` + burstBaselineText(v, 'distinct paths', floor, factor, window),
          evidence: { observed: c.observed, baseline: v.baseline, threshold: v.threshold, history_days: v.historyDays, denied_calls: denied, not_found_calls: notFound, example_paths: examples },
        });
      }
      const marked = type === 'cloud_app' ? drafts : await markNewEntities(ctx, grid, type, drafts);
      hits.push(...await finishHits(ctx, grid, { subaccount: 'subaccount', entity: type, where, params: { reasons: PATH_REASONS } }, marked));
    }
    return hits;
  },
};
