// The overview's figures, all from the per-minute rollups (audit_minute, audit_denied_1m), never from
// audit_events: a day of 10 million events is some tens of thousands of rollup rows. Six queries, all
// sent at once. What costs is reading and merging the latency digests, so only the queries that need
// them read that column, and only over allowed calls (decision = 'allow' in WHERE, not in an -If
// combinator, so refused rows' digests are never read).
import type { DashboardContext } from '../context.js';
import type { Principal } from '../roles.js';
import { isoTime, num, query, type Range } from './query-kit.js';
import { bucketSql, Buckets, counts, COUNTS_SQL, DIGEST_SQL, quantiles, rate, rollupFor, rollupWhere, type Counts } from './overview-series.js';

/** Subaccounts drawn on their own in the calls chart; the rest are summed as one "other" series. */
const CHART_SUBACCOUNTS = 8;
/** Subaccounts listed for the filter menu. */
const MENU_SUBACCOUNTS = 200;

const BACKEND_KEY = 'subaccount, virtual_host, virtual_port, internal_host, internal_port, protocol';

export interface OverviewOptions {
  readonly range: Range;
  readonly bucketSeconds: number;
  readonly subaccount?: string;
  readonly limit: number;
}

export async function loadOverview(ctx: DashboardContext, principal: Principal, o: OverviewOptions) {
  const buckets = new Buckets(o.range, o.bucketSeconds);
  // The filter menu lists every subaccount in scope, whatever is selected; everything else follows the filter.
  const rollup = rollupFor(o.bucketSeconds);
  const table = rollup.table;
  const bucket = bucketSql(rollup);
  const all = rollupWhere(o.range, principal, undefined, rollup);
  const where = rollupWhere(o.range, principal, o.subaccount, rollup);
  // Refusals per resource exist per minute only (audit_denied_1m).
  const denials = rollupWhere(o.range, principal, o.subaccount);
  const p = { ...where.params, bucket: o.bucketSeconds, limit: o.limit, charted: CHART_SUBACCOUNTS };

  const [perSubaccount, perBucket, latency, backends, backendLatency, denied] = await Promise.all([
    query(ctx, `SELECT subaccount, ${COUNTS_SQL} FROM ${table} WHERE ${all.sql} GROUP BY subaccount ORDER BY n DESC, subaccount`, all.params),
    // The chart's subaccounts are picked in the same query, so it needs no round trip to the one above.
    query(ctx, `SELECT ${bucket} AS b, has((SELECT groupArray(subaccount) FROM (SELECT subaccount FROM ${table}
        WHERE ${where.sql} GROUP BY subaccount ORDER BY sum(calls) DESC, subaccount LIMIT {charted:UInt32})), subaccount) AS named,
        if(named, subaccount, '') AS s, ${COUNTS_SQL}
      FROM ${table} WHERE ${where.sql} GROUP BY b, named, s`, p),
    // WITH ROLLUP adds the whole range as one more row (b = 0): per-bucket and overall quantiles in one read.
    query(ctx, `SELECT ${bucket} AS b, ${DIGEST_SQL} AS q FROM ${table}
      WHERE ${where.sql} AND decision = 'allow' GROUP BY b WITH ROLLUP`, p),
    query(ctx, `SELECT ${BACKEND_KEY}, ${COUNTS_SQL}, count() OVER () AS total FROM ${table}
      WHERE ${where.sql} AND internal_host != '' GROUP BY ${BACKEND_KEY}
      ORDER BY n DESC, subaccount, virtual_host, virtual_port LIMIT {limit:UInt32}`, p),
    // Every backend's quantiles, joined to the listed ones below: restricting this to the top backends
    // with IN (subquery) measured slower than merging them all.
    query(ctx, `SELECT ${BACKEND_KEY}, ${DIGEST_SQL} AS q FROM ${table}
      WHERE ${where.sql} AND decision = 'allow' AND internal_host != '' GROUP BY ${BACKEND_KEY}`, p),
    query(ctx, `SELECT subaccount, cloud_app, virtual_host, virtual_port, path, deny_reason, sum(calls) AS n,
        max(minute) AS last_minute, count() OVER () AS total
      FROM audit_denied_1m WHERE ${denials.sql}
      GROUP BY subaccount, cloud_app, virtual_host, virtual_port, path, deny_reason
      ORDER BY n DESC, subaccount, path LIMIT {limit:UInt32}`, p),
  ]);

  const selected = perSubaccount.filter((r) => o.subaccount === undefined || r.subaccount === o.subaccount);
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
  const p95ByBackend = new Map(backendLatency.map((r) => [backendKey(r), quantiles(r.q)?.p95 ?? null]));

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
    top_backends: {
      total: num(backends[0]?.total),
      rows: backends.map((r) => ({
        subaccount: String(r.subaccount),
        virtual_host: String(r.virtual_host),
        virtual_port: num(r.virtual_port),
        internal_host: String(r.internal_host),
        internal_port: num(r.internal_port),
        protocol: String(r.protocol),
        ...pick(counts(r)),
        p95_us: p95ByBackend.get(backendKey(r)) ?? null,
      })),
    },
    top_denied: {
      total: num(denied[0]?.total),
      rows: denied.map((r) => ({
        subaccount: String(r.subaccount),
        cloud_app: String(r.cloud_app),
        virtual_host: String(r.virtual_host),
        virtual_port: num(r.virtual_port),
        path: String(r.path),
        deny_reason: String(r.deny_reason),
        calls: num(r.n),
        last_minute: isoTime(r.last_minute),
      })),
    },
  };
}

function backendKey(r: Record<string, unknown>): string {
  return JSON.stringify([r.subaccount, r.virtual_host, num(r.virtual_port), r.internal_host, num(r.internal_port), r.protocol]);
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
