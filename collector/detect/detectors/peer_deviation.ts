// peer_deviation: a subaccount whose shares of refused, failed, 4xx or 5xx-answered calls in a window are far from
// the other subaccounts' in the same window (a binomial test against their pooled rate), when it is not
// usually like that at that time of day. Comparing with peers keeps a platform-wide change (an outage that raises everyone's error
// rate) quiet; comparing with its own past keeps a subaccount that is always different (a data-export
// tenant) quiet. Per hour from the audit_hour rollup, so it never scans events.
// Warm-up: a subaccount with less own history is judged against its peers alone, severity capped at medium.
import type { Detector, Hit } from '../detector.js';
import { finishHits, type HitDraft } from '../hits.js';
import { binomialZ, fmt, median, scoreOf } from '../score.js';
import { DAY_MS, isoOf, n, windowGrid } from '../sql.js';

interface Feature {
  readonly id: string;
  readonly label: string;
  /** Calls that have the trait, and the calls it is a share of. */
  readonly count: (r: Row) => number;
  readonly of: (r: Row) => number;
  /** Events that show the deviation, for the samples. */
  readonly where: string;
}

interface Row { sub: string; win: number; calls: number; denied: number; errors: number; c4xx: number; c5xx: number }

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
/** Rates below this are treated as this (a peer group with no refusals at all is not infinitely strict). */
const RATE_FLOOR = 0.005;
// Shares of calls, compared with a binomial test: a tenant's behaviour shows in what share of its calls is
// refused, fails or is not found, and a share is judged by how many calls it rests on. (Bytes and time per
// call swing with the mix of apps in a window; exfiltration and backend_failure look at those.)
const FEATURES: readonly Feature[] = [
  { id: 'deny_rate', label: 'deny rate', count: (r) => r.denied, of: (r) => r.calls, where: "decision = 'deny' AND deny_reason != 'no_connector'" },
  { id: 'error_rate', label: 'backend error rate', count: (r) => r.errors, of: (r) => r.calls, where: "error_type != ''" },
  { id: 'client_error_rate', label: '4xx rate of allowed calls', count: (r) => r.c4xx, of: (r) => r.calls - r.denied, where: "decision = 'allow' AND status >= 400 AND status < 500" },
  // Answered by the backend with a server error (error_type '' under the spec: it did answer), which the
  // backend error rate, transport failures only, does not see.
  { id: 'server_error_rate', label: '5xx rate of allowed calls', count: (r) => r.c5xx, of: (r) => r.calls - r.denied, where: "decision = 'allow' AND error_type = '' AND status >= 500 AND status < 600" },
];

export const peerDeviation: Detector = {
  id: 'peer_deviation',
  summary: 'a subaccount whose mix of calls is unlike its peers\' and unlike its own past',
  defaults: { enabled: true, window_minutes: 180, min_calls: 30, min_peers: 4, z: 5, peer_ratio: 2, min_excess: 0.03, own_ratio: 2, min_own_windows: 3, base_score: 45 },
  paramDocs: {
    window_minutes: 'window length (minutes)',
    min_calls: 'fewest calls of a subaccount in a window to be compared (and to count as a peer)',
    min_peers: 'fewest subaccounts (with min_calls) in a window for a comparison, the judged one included',
    z: 'binomial z-score the share must reach against the other subaccounts\' pooled rate (at most the median of their rates), and against its own median: the normal deviate with the same upper tail as the exact binomial P(count or more | calls, rate), about (share - rate) / sqrt(rate x (1 - rate) / calls) when the counts are large',
    peer_ratio: 'and the share must be at least this multiple of the pooled rate (at least 0.5 %)',
    min_excess: 'and exceed the pooled rate by at least this much (0.03 = 3 points)',
    own_ratio: 'and the value must be at least this multiple of the subaccount\'s own median over the baseline days (rates below 0.5 % count as 0.5 %)',
    min_own_windows: 'fewest own windows at that time of day (with min_calls) in the baseline for the own comparison; fewer = peers only, severity capped at medium',
    base_score: 'score at the threshold (+20 per doubling of z over it)',
  },
  async detect(ctx, p) {
    const window = p.window_minutes;
    const grid = windowGrid(ctx, window);
    const hourly = window % 60 === 0;
    const table = hourly ? 'audit_hour' : 'audit_minute';
    const time = hourly ? 'hour' : 'minute';
    const raw = await ctx.store.query<Record<string, unknown>>(`
      SELECT subaccount AS sub, toInt64(intDiv(toUnixTimestamp(${time}), {wsec:UInt32})) AS win, sum(calls) AS n_calls,
        sumIf(calls, decision = 'deny' AND deny_reason != 'no_connector') AS n_denied, sumIf(calls, error_type != '') AS n_errors,
        sumIf(calls, decision = 'allow' AND status_class = 4) AS n_4xx, sumIf(calls, decision = 'allow' AND error_type = '' AND status_class = 5) AS n_5xx
      FROM ${table}
      WHERE ${time} >= {hfrom:DateTime64(3, 'UTC')} AND ${time} < {hto:DateTime64(3, 'UTC')} AND subaccount != ''
      GROUP BY sub, win
      HAVING n_calls >= {min_calls:UInt64}`, { ...grid.params, min_calls: p.min_calls as number });
    const rows: Row[] = raw.map((r) => ({ sub: String(r.sub), win: n(r.win), calls: n(r.n_calls), denied: n(r.n_denied), errors: n(r.n_errors), c4xx: n(r.n_4xx), c5xx: n(r.n_5xx) }));
    const byWin = new Map<number, Row[]>();
    const bySub = new Map<string, Row[]>();
    for (const r of rows) {
      pushTo(byWin, r.win, r);
      pushTo(bySub, r.sub, r);
    }
    const drafts = new Map<string, HitDraft[]>();
    for (const [win, peers] of byWin) {
      if (win < grid.fromWin || win >= grid.toWin || peers.length < (p.min_peers as number)) continue;
      const dayStartWin = Math.floor((win * grid.windowMs) / DAY_MS) * grid.spd;
      for (const f of FEATURES) {
        const totalCount = peers.reduce((a, r) => a + f.count(r), 0);
        const totalOf = peers.reduce((a, r) => a + f.of(r), 0);
        const rates = peers.filter((o) => f.of(o) > 0).map((o) => f.count(o) / f.of(o)).sort((a, b) => a - b);
        for (const r of peers) {
          const of = f.of(r);
          if (of <= 0) continue;
          const v = f.count(r) / of;
          // The others, pooled: one big tenant weighs as its calls do, the judged one not at all. But never
          // above the median of their rates: one other tenant deviating at the same time (its own incident)
          // must not hide this one, while a platform-wide change moves the median too.
          const othersOf = totalOf - of;
          if (othersOf <= 0) continue;
          const pooledAll = (totalCount - f.count(r)) / othersOf;
          const othersMedian = medianWithout(rates, v);
          const pooled = Math.min(pooledAll, othersMedian);
          const p0 = Math.max(pooled, RATE_FLOOR);
          const z = binomialZ(f.count(r), of, p0);
          if (z < (p.z as number) || v < (p.peer_ratio as number) * p0 || v - pooled < (p.min_excess as number)) continue;
          // Own past: the same time of day on the baseline days (a tenant's mix changes between day and night).
          const own = (bySub.get(r.sub) ?? [])
            .filter((o) => o.win < dayStartWin && o.win >= dayStartWin - ctx.baselineDays * grid.spd && (win - o.win) % grid.spd === 0 && f.of(o) > 0)
            .map((o) => f.count(o) / f.of(o));
          const partial = own.length < (p.min_own_windows as number);
          const ownMedian = median(own);
          // Against its own past, the same binomial test as against the peers: a tenant that always has a
          // 2 % share reaches twice that in some window by chance alone when the window holds few calls.
          const ownRate = Math.max(ownMedian, RATE_FLOOR);
          const ownZ = binomialZ(f.count(r), of, ownRate);
          if (!partial && (v < (p.own_ratio as number) * ownRate || ownZ < (p.z as number))) continue;
          const others = peers.length - 1;
          const draft: HitDraft = {
            win,
            subaccount: r.sub,
            entity_type: 'subaccount',
            entity: r.sub,
            score: scoreOf(p.base_score as number, z / (p.z as number)),
            ...(partial ? { maxSeverity: 'medium' as const } : {}),
            title: `Subaccount ${r.sub} unlike its peers: ${f.label} ${pct(v)} against ${pct(pooled)} for the others`,
            explanation: `Observed: subaccount "${r.sub}" had a ${f.label} of ${pct(v)} (${fmt(f.count(r))} of ${fmt(of)} calls) in the ${window} minutes from ${isoOf(win * grid.windowMs).slice(11, 16)} UTC. ` +
              `Baseline: the ${others} other subaccounts with at least ${fmt(p.min_calls as number)} calls in the same window, pooled, ${pct(pooledAll)}${pooled < pooledAll ? ` (above the median of their rates, ${pct(othersMedian)}, which is taken: another tenant's own deviation does not raise the bar)` : ''}; ` +
              (partial ? `its own history at that time of day is too short (${own.length} windows; severity capped at medium). `
                : `its own median at that time of day over the last ${ctx.baselineDays} days ${pct(ownMedian)}. `) +
              `Threshold: a binomial z of at least ${fmt(p.z as number)} against the others (it is ${fmt(z)}), at least ${fmt(p.peer_ratio as number)} x and ${fmt(100 * (p.min_excess as number))} points above their rate` +
              `${partial ? '' : `, and at least ${fmt(p.own_ratio as number)} x its own median with a binomial z of at least ${fmt(p.z as number)} against it (it is ${fmt(ownZ)})`}.`,
            evidence: { observed: v, feature: f.id, count: f.count(r), calls: of, peers_rate: pooled, peers_pooled_rate: pooledAll, peers_median_rate: othersMedian, z, peers: others, own_median: partial ? null : ownMedian, own_z: partial ? null : ownZ, own_windows: own.length },
          };
          pushTo(drafts, f.id, draft);
        }
      }
    }
    const hits: Hit[] = [];
    for (const f of FEATURES) {
      const list = drafts.get(f.id);
      if (list) hits.push(...await finishHits(ctx, grid, { subaccount: 'subaccount', entity: 'subaccount', where: f.where }, list));
    }
    return hits;
  },
};

/** The median of a sorted list with one occurrence of `value` (a member) left out. */
function medianWithout(sorted: readonly number[], value: number): number {
  const n = sorted.length - 1;
  if (n <= 0) return 0;
  let skip = sorted.indexOf(value);
  if (skip < 0) skip = n;
  const at = (i: number) => sorted[i < skip ? i : i + 1] as number;
  return n % 2 === 1 ? at(n >> 1) : (at(n / 2 - 1) + at(n / 2)) / 2;
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
