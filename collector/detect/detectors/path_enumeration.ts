// path_enumeration: one cloud app, principal or client IP hitting many distinct targets that are refused or
// that the backend answers as missing or forbidden, in a short window: a scanner or someone mapping what the
// backends expose. Counted per entity type; when the same burst shows through several of them (one
// scanner = one app, one principal, one IP) only the most unusual is kept, the others are named in its
// evidence.
//
// A target is a path and its query string: an id walked in the query (/api/item?id=1 .. 250) is as much an
// enumeration as one walked in the path. What counts:
//   - refusals that depend on what was asked for: a path or method outside the access rules, an unmapped
//     host, a suspended resource, a malformed request. Refusals that any path would have got (no or
//     unknown token, an untrusted app, no connector during a restart, rate limiting) tell nothing about
//     what a backend exposes, and a connector's maintenance window refusing a busy app's calls is no scan;
//   - allowed calls the backend answered 400, 403, 404, 405 or 410 (facts.ts, PROBE_STATUSES): real
//     backends and the WAFs before them answer a wordlist with 403s as often as with 404s. Not 401: the
//     credentials were refused, which any path would have got (a backend refusing a tenant's token is an
//     outage on every path its apps call, not a scan).
//
// A slow scan by a principal or client IP (a few targets a minute for hours, below the short window's floor
// in every window) is judged over a long window too (burst.ts, slowOnly), with its own floor and baseline,
// once the store has warmup_days of history (a long window's count means little against the floor alone).
import { burstBaselineText, burstCandidates, inRange, judgeBurst, slowOnly, widened } from '../burst.js';
import { withShifted } from '../seasonal.js';
import type { DetectContext, Detector, Hit } from '../detector.js';
import type { DetectorParams } from '../config.js';
import { finishHits, markNewEntities, warmupCap, type HitDraft } from '../hits.js';
import { PROBE_STATUSES, refusedTable } from '../facts.js';
import { fmt, scoreOf } from '../score.js';

/** Refusals decided on the request itself (see above). */
const PATH_REASONS = ['no_mapping', 'protocol_not_allowed', 'path_not_allowed', 'method_not_allowed', 'resource_suspended', 'malformed_request'];
const WHERE = "((decision = 'deny' AND deny_reason IN {reasons:Array(String)}) OR (decision = 'allow' AND status IN {statuses:Array(UInt16)})) AND path != ''";
const PARAMS = { reasons: PATH_REASONS, statuses: PROBE_STATUSES };
const ENTITY_TYPES = ['principal', 'client_ip', 'cloud_app'] as const;
/**
 * The long window judges people and addresses: a busy app's distinct failing targets over hours would be
 * counted from its many rows, where an app's own fast scan is the short window's.
 */
const LONG_ENTITY_TYPES = ['principal', 'client_ip'] as const;

export const pathEnumeration: Detector = {
  id: 'path_enumeration',
  summary: 'many distinct paths (with their query) denied or answered 400/403/404/405/410 for one app, principal or client IP',
  defaults: { enabled: true, window_minutes: 10, min_paths: 25, factor: 3, long_window_minutes: 360, min_paths_long: 100, base_score: 55 },
  paramDocs: {
    window_minutes: 'window length (minutes)',
    min_paths: 'fewest distinct refused or failing targets (path and query) in a window that can raise a finding',
    factor: 'distinct targets must also reach this multiple of the baseline (median of the entity\'s daily busiest window); the same for the long window',
    long_window_minutes: 'a second, long window for slow scans by a principal or client IP (must divide a day; 0 = none), on the plain grid and the one shifted by half a window, reported only where no short window of the entity inside it was',
    min_paths_long: 'fewest distinct refused or failing targets in a long window that can raise a finding',
    base_score: 'score at the threshold (+20 per doubling above it)',
  },
  entityPreference: ENTITY_TYPES,
  async detect(ctx, p) {
    const longWindow = p.long_window_minutes as number;
    if (!(longWindow > 0)) return pass(ctx, p, p.window_minutes, p.min_paths as number);
    const short = await pass(widened(ctx, longWindow), p, p.window_minutes, p.min_paths as number);
    const longOn = async (offset: number) => (await pass(ctx, p, longWindow, p.min_paths_long as number, LONG_ENTITY_TYPES, offset)).filter((h) => h.maxSeverity !== 'low');
    const long = withShifted(await longOn(0), await longOn(longWindow / 2));
    return [...inRange(ctx, short), ...slowOnly(short, long)];
  },
};

async function pass(ctx: DetectContext, p: DetectorParams, window: number, floor: number, types: readonly (typeof ENTITY_TYPES)[number][] = ENTITY_TYPES, offset = 0): Promise<Hit[]> {
  const factor = p.factor as number;
  const source = await refusedTable(ctx);
  const hits: Hit[] = [];
  for (const type of types) {
    const where = `${WHERE} AND ${type} != ''`;
    const { grid, candidates } = await burstCandidates(ctx, window, floor, {
      source,
      time: 'ts',
      where,
      subaccount: 'subaccount',
      entity: type,
      hashed: type !== 'cloud_app',
      metric: 'uniqExact(path, query)',
      // A day's refused calls bound its windows' distinct targets, and are cheaper to count.
      dayBound: 'count()',
      extras: {
        denied: "countIf(decision = 'deny')", answered: "countIf(decision = 'allow')", notfound: "countIf(decision = 'allow' AND status = 404)",
        statuses: "sumMapIf([toString(status)], [toUInt64(1)], decision = 'allow')", distinct_paths: 'uniqExact(path)',
        paths: "groupUniqArray(5)(if(query = '', path, concat(path, '?', substring(query, 1, 60))))",
      },
      params: PARAMS,
    }, offset);
    const drafts: HitDraft[] = [];
    for (const c of candidates) {
      const v = judgeBurst(ctx, c, floor, factor);
      if (!v) continue;
      const denied = Number(c.extras.denied);
      const answered = Number(c.extras.answered);
      const notFound = Number(c.extras.notfound);
      const paths = Number(c.extras.distinct_paths);
      const [codes, counts] = (c.extras.statuses as [string[], unknown[]] | undefined) ?? [[], []];
      const statuses = Object.fromEntries(codes.map((k, i) => [k, Number(counts[i])]));
      const statusText = Object.entries(statuses).sort((a, b) => b[1] - a[1]).map(([k, x]) => `${fmt(x)} x ${k}`).join(', ');
      const examples = ((c.extras.paths as string[] | undefined) ?? []).sort();
      const who = `${type.replace('_', ' ')} ${type === 'client_ip' ? c.entity : `"${c.entity}"`}`;
      const span = window >= 60 && window % 60 === 0 ? `${window / 60} hours` : `${window} minutes`;
      drafts.push({
        win: c.win,
        subaccount: c.subaccount,
        entity_type: type,
        entity: c.entity,
        score: scoreOf(p.base_score as number, v.ratio),
        ...warmupCap(v.partial),
        title: `${who} hit ${fmt(c.observed)} distinct refused or failing targets in ${span}`,
        explanation: `Observed: ${who} of subaccount "${c.subaccount}" was refused, or answered that the target is missing or not for it, on ${fmt(c.observed)} distinct targets (path and query; ${fmt(paths)} distinct paths) in ${span} ` +
          `(${fmt(denied)} denied calls, ${fmt(answered)} answered by the backend${statusText ? `: ${statusText}` : ''}; e.g. ${examples.join(', ')}). ` + burstBaselineText(v, 'distinct targets', floor, factor, window),
        evidence: {
          observed: c.observed, window_minutes: window, baseline: v.baseline, threshold: v.threshold, history_days: v.historyDays, denied_calls: denied, not_found_calls: notFound,
          answered_calls: answered, answered_statuses: statuses, distinct_paths: paths, example_paths: examples,
        },
      });
    }
    const marked = type === 'cloud_app' ? drafts : await markNewEntities(ctx, grid, type, drafts);
    hits.push(...await finishHits(ctx, grid, { subaccount: 'subaccount', entity: type, where, params: PARAMS }, marked));
  }
  return hits;
}
