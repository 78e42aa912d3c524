// The overview's figures, all from the multi-grain rollups (migrations 0015-0017), never from
// audit_events: each query covers its range with whole days, hours, quarter hours and minutes
// (overview-levels.ts), so a month reads some thousands of rows per subaccount instead of every
// minute. chDB runs one query at a time in this process (measured: sending them together takes as long
// as one after another), so they run in order and a later one may use what an earlier one found.
// What costs is merging latency digests: only the latency queries read them, only over allowed calls (the
// rollups keep a digest of allowed calls only), and an unscoped chart reads the all-subaccount digest of
// audit_latency, whose size does not grow with the number of subaccounts.
import type { DashboardContext } from '../context.js';
import type { Principal } from '../roles.js';
import { cover, levelsFor, minuteBounds, seesEverything, SERIES_LEVELS, spansWhere, tenantWhere } from './overview-levels.js';
import { Buckets, counts, DIGEST_SQL, quantiles, rate, type Counts } from './overview-series.js';
import { topBackends, topDenied } from './overview-top.js';
import { num, query, type Range } from './query-kit.js';

/** Subaccounts drawn on their own in the calls chart; the rest are summed as one "other" series. */
const CHART_SUBACCOUNTS = 8;
/** Subaccounts listed for the filter menu. */
const MENU_SUBACCOUNTS = 200;

/** Counts over audit_series rows (their columns are sums already). */
const SERIES_COUNTS_SQL = `sum(calls) AS n, sum(denied) AS n_denied, sum(errors) AS n_errors, sum(status_5xx) AS n_5xx,
  sum(bytes_in) AS b_in, sum(bytes_out) AS b_out`;

export interface OverviewOptions {
  readonly range: Range;
  readonly bucketSeconds: number;
  readonly subaccount?: string;
  readonly limit: number;
}

export async function loadOverview(ctx: DashboardContext, principal: Principal, o: OverviewOptions) {
  const buckets = new Buckets(o.range, o.bucketSeconds);
  const { lo, hi } = minuteBounds(o.range);
  // Totals may use every grain; a chart bucket only grains that divide it.
  const whole = spansWhere(cover(lo, hi, SERIES_LEVELS), 'w');
  const charted = spansWhere(cover(lo, hi, levelsFor(o.bucketSeconds)), 'b');
  const scope = tenantWhere(principal);
  const filtered = tenantWhere(principal, o.subaccount);

  // The filter menu lists every subaccount in scope, whatever is selected; everything else follows the filter.
  const perSubaccount = await query(ctx, `SELECT subaccount, ${SERIES_COUNTS_SQL} FROM audit_series
    WHERE ${whole.sql}${scope.sql} GROUP BY subaccount ORDER BY n DESC, subaccount`, { ...whole.params, ...scope.params });
  const selected = perSubaccount.filter((r) => o.subaccount === undefined || r.subaccount === o.subaccount);
  const named = selected.slice(0, CHART_SUBACCOUNTS).map((r) => String(r.subaccount));

  const perBucket = await query(ctx, `SELECT intDiv(toUInt32(t), {bucket:UInt32}) AS b, has({named:Array(String)}, subaccount) AS named,
      if(named, subaccount, '') AS s, ${SERIES_COUNTS_SQL}
    FROM audit_series WHERE ${charted.sql}${filtered.sql} GROUP BY b, named, s`,
  { ...charted.params, ...filtered.params, bucket: o.bucketSeconds, named });

  // WITH ROLLUP adds the whole range as one more row (b = 0): per-bucket and overall quantiles in one read.
  const latency = seesEverything(principal, o.subaccount)
    ? await query(ctx, `SELECT intDiv(toUInt32(t), {bucket:UInt32}) AS b, ${DIGEST_SQL} AS q FROM audit_latency
        WHERE ${charted.sql} GROUP BY b WITH ROLLUP`, { ...charted.params, bucket: o.bucketSeconds })
    : await query(ctx, `SELECT intDiv(toUInt32(t), {bucket:UInt32}) AS b, ${DIGEST_SQL} AS q FROM audit_series
        WHERE ${charted.sql}${filtered.sql} GROUP BY b WITH ROLLUP`, { ...charted.params, ...filtered.params, bucket: o.bucketSeconds });

  const top = { lo, hi, limit: o.limit, ...(o.subaccount !== undefined ? { subaccount: o.subaccount } : {}) };
  const backends = await topBackends(ctx, principal, top);
  const denied = await topDenied(ctx, principal, top);

  const totals = zeroCounts();
  for (const row of selected) addCounts(totals, counts(row));
  const series = bucketSeries(perBucket, buckets);
  let overall = { p50: 0, p90: 0, p95: 0, p99: 0 };
  for (const row of latency) {
    const q = quantiles(row.q);
    if (!q) continue;
    if (num(row.b) === 0) {
      overall = q;
      continue;
    }
    const i = buckets.index(row.b);
    if (i < 0) continue;
    series.latency_p50_us[i] = q.p50;
    series.latency_p95_us[i] = q.p95;
    series.latency_p99_us[i] = q.p99;
  }

  return {
    from: o.range.from.toISOString(),
    to: o.range.to.toISOString(),
    bucket_seconds: o.bucketSeconds,
    subaccount: o.subaccount ?? null,
    totals: {
      ...totals,
      allowed: totals.calls - totals.denied,
      deny_rate: rate(totals.denied, totals.calls),
      error_rate: rate(totals.errors, totals.calls),
      status_5xx_rate: rate(totals.status_5xx, totals.calls),
      subaccounts: selected.length,
    },
    latency_us: { calls: totals.calls - totals.denied, ...overall },
    subaccounts: perSubaccount.slice(0, MENU_SUBACCOUNTS).map((r) => ({ subaccount: String(r.subaccount), ...pick(counts(r)) })),
    series,
    top_backends: backends,
    top_denied: denied,
  };
}

function zeroCounts(): Counts {
  return { calls: 0, denied: 0, errors: 0, status_5xx: 0, bytes_in: 0, bytes_out: 0 };
}

function addCounts(into: Counts, c: Counts): void {
  into.calls += c.calls;
  into.denied += c.denied;
  into.errors += c.errors;
  into.status_5xx += c.status_5xx;
  into.bytes_in += c.bytes_in;
  into.bytes_out += c.bytes_out;
}

function pick(c: Counts): { calls: number; denied: number; errors: number; status_5xx: number } {
  return { calls: c.calls, denied: c.denied, errors: c.errors, status_5xx: c.status_5xx };
}

/**
 * Per bucket: calls by decision and error, and calls by subaccount: the charted ones (busiest first, by
 * their sums here, so the order matches the lines drawn), then one "other" line when there are others.
 */
function bucketSeries(rows: readonly Record<string, unknown>[], buckets: Buckets) {
  const calls = buckets.zeros();
  const denied = buckets.zeros();
  const errors = buckets.zeros();
  const status5xx = buckets.zeros();
  const bySubaccount = new Map<string, number[]>();
  let other: number[] | undefined;
  for (const row of rows) {
    const i = buckets.index(row.b);
    if (i < 0) continue;
    const c = counts(row);
    calls[i] = (calls[i] ?? 0) + c.calls;
    denied[i] = (denied[i] ?? 0) + c.denied;
    errors[i] = (errors[i] ?? 0) + c.errors;
    status5xx[i] = (status5xx[i] ?? 0) + c.status_5xx;
    let line: number[];
    if (num(row.named) === 1) {
      const name = String(row.s);
      line = bySubaccount.get(name) ?? buckets.zeros();
      bySubaccount.set(name, line);
    } else {
      line = other ??= buckets.zeros();
    }
    line[i] = (line[i] ?? 0) + c.calls;
  }
  const total = (line: readonly number[]): number => line.reduce((a, b) => a + b, 0);
  const named = [...bySubaccount.entries()].sort((a, b) => total(b[1]) - total(a[1]) || a[0].localeCompare(b[0]));
  return {
    buckets: buckets.starts,
    calls,
    allowed: calls.map((n, i) => n - (denied[i] ?? 0)),
    denied,
    errors,
    status_5xx: status5xx,
    latency_p50_us: buckets.nulls(),
    latency_p95_us: buckets.nulls(),
    latency_p99_us: buckets.nulls(),
    by_subaccount: [
      ...named.map(([subaccount, line]) => ({ subaccount, other: false, calls: line })),
      ...(other ? [{ subaccount: '', other: true, calls: other }] : []),
    ],
  };
}
