// One subaccount over a time range: usage per bucket and totals from the per-minute rollup; its cloud apps,
// principals, backends and resources from audit_events read with FINAL (exact, each event once). Every
// events query filters the subaccount and the ts range first: both lead the sort key, so it reads only
// this subaccount's part of the table.
import type { DashboardContext } from '../context.js';
import type { Principal } from '../roles.js';
import { bucketSql, Buckets, counts, COUNTS_SQL, DIGEST_SQL, eventsWhere, quantiles, rate, rollupFor, rollupWhere } from './overview-series.js';
import { isoTime, num, query, type Range } from './query-kit.js';

/** Path prefixes listed under each resource. */
const PREFIXES_PER_RESOURCE = 5;

/** The first two segments of a path ('/api/orders/17' -> '/api/orders'): how resources are usually scoped. */
const PREFIX_SQL = "arrayStringConcat(arraySlice(splitByChar('/', path), 1, 3), '/')";

const EVENT_COUNTS_SQL = `count() AS n, countIf(decision = 'deny') AS n_denied, countIf(error_type != '') AS n_errors,
  countIf(status >= 500) AS n_5xx, max(ts) AS last_ts`;

export interface DetailOptions {
  readonly range: Range;
  readonly bucketSeconds: number;
  readonly limit: number;
}

function eventCounts(row: Record<string, unknown>) {
  return {
    calls: num(row.n),
    denied: num(row.n_denied),
    errors: num(row.n_errors),
    status_5xx: num(row.n_5xx),
    last_seen: isoTime(row.last_ts),
  };
}

export async function loadSubaccount(ctx: DashboardContext, principal: Principal, name: string, o: DetailOptions) {
  const buckets = new Buckets(o.range, o.bucketSeconds);
  const rollup = rollupFor(o.bucketSeconds);
  const bucket = bucketSql(rollup);
  const minutes = rollupWhere(o.range, principal, name, rollup);
  const rp = { ...minutes.params, bucket: o.bucketSeconds };
  const events = eventsWhere(o.range, principal, name);
  const ep = { ...events.params, limit: o.limit, per: PREFIXES_PER_RESOURCE };
  const from = `FROM audit_events FINAL WHERE ${events.sql}`;

  const [usage, latency, apps, principals, backends, prefixes] = await Promise.all([
    query(ctx, `SELECT ${bucket} AS b, ${COUNTS_SQL} FROM ${rollup.table} WHERE ${minutes.sql} GROUP BY b`, rp),
    // WITH ROLLUP adds the whole range as one more row (b = 0).
    query(ctx, `SELECT ${bucket} AS b, ${DIGEST_SQL} AS q FROM ${rollup.table} WHERE ${minutes.sql} AND decision = 'allow' GROUP BY b WITH ROLLUP`, rp),
    query(ctx, `SELECT cloud_app, ${EVENT_COUNTS_SQL}, uniqExactIf(principal, principal != '') AS n_principals,
        count() OVER () AS total, max(max(ts)) OVER () AS last_any
      ${from} GROUP BY cloud_app ORDER BY n DESC, cloud_app LIMIT {limit:UInt32}`, ep),
    query(ctx, `SELECT principal, ${EVENT_COUNTS_SQL}, arraySort(groupUniqArray(5)(cloud_app)) AS apps, count() OVER () AS total
      ${from} GROUP BY principal ORDER BY n DESC, principal LIMIT {limit:UInt32}`, ep),
    // One row per virtual host:port: a refusal before the mapping was found has no internal host, so the
    // internal side is the one of its latest mapped call.
    query(ctx, `SELECT virtual_host, virtual_port, argMaxIf(internal_host, ts, internal_host != '') AS internal,
        argMaxIf(internal_port, ts, internal_host != '') AS iport, argMaxIf(protocol, ts, protocol != '') AS proto,
        ${EVENT_COUNTS_SQL}, quantileTDigestIf(0.95)(duration_us, decision = 'allow') AS p95, count() OVER () AS total
      ${from} GROUP BY virtual_host, virtual_port ORDER BY n DESC, virtual_host, virtual_port LIMIT {limit:UInt32}`, ep),
    // Resources and their busiest prefixes in one read: each prefix row also carries its resource's sums.
    query(ctx, `SELECT rule_id, virtual_host, virtual_port, ${PREFIX_SQL} AS prefix, ${EVENT_COUNTS_SQL},
        sum(n) OVER w AS r_n, sum(n_denied) OVER w AS r_denied, sum(n_errors) OVER w AS r_errors,
        sum(n_5xx) OVER w AS r_5xx, max(last_ts) OVER w AS r_last
      ${from} GROUP BY rule_id, virtual_host, virtual_port, prefix
      WINDOW w AS (PARTITION BY rule_id, virtual_host, virtual_port)
      ORDER BY n DESC, prefix LIMIT {per:UInt32} BY rule_id, virtual_host, virtual_port`, ep),
  ]);

  const series = {
    buckets: buckets.starts,
    calls: buckets.zeros(),
    allowed: buckets.zeros(),
    denied: buckets.zeros(),
    errors: buckets.zeros(),
    status_5xx: buckets.zeros(),
    latency_p50_us: buckets.nulls(),
    latency_p95_us: buckets.nulls(),
    latency_p99_us: buckets.nulls(),
  };
  const total = counts({});
  for (const row of usage) {
    const i = buckets.index(row.b);
    if (i < 0) continue;
    const c = counts(row);
    series.calls[i] = c.calls;
    series.allowed[i] = c.calls - c.denied;
    series.denied[i] = c.denied;
    series.errors[i] = c.errors;
    series.status_5xx[i] = c.status_5xx;
    total.calls += c.calls;
    total.denied += c.denied;
    total.errors += c.errors;
    total.status_5xx += c.status_5xx;
    total.bytes_in += c.bytes_in;
    total.bytes_out += c.bytes_out;
  }
  let overall = { p50: 0, p90: 0, p95: 0, p99: 0 };
  for (const row of latency) {
    const q = quantiles(row.q);
    const i = buckets.index(row.b);
    if (!q) continue;
    if (num(row.b) === 0) overall = q;
    else if (i >= 0) {
      series.latency_p50_us[i] = q.p50;
      series.latency_p95_us[i] = q.p95;
      series.latency_p99_us[i] = q.p99;
    }
  }

  const resources = new Map<string, ReturnType<typeof resourceRow>>();
  for (const row of prefixes) {
    const key = resourceKey(row);
    const resource = resources.get(key) ?? resourceRow(row);
    resource.prefixes.push({ prefix: String(row.prefix), ...eventCounts(row) });
    resources.set(key, resource);
  }
  const rankedResources = [...resources.values()]
    .sort((a, b) => b.calls - a.calls || a.rule_id.localeCompare(b.rule_id) || a.virtual_host.localeCompare(b.virtual_host));

  return {
    subaccount: name,
    from: o.range.from.toISOString(),
    to: o.range.to.toISOString(),
    bucket_seconds: o.bucketSeconds,
    last_seen: apps[0] ? isoTime(apps[0].last_any) : null,
    totals: {
      ...total,
      allowed: total.calls - total.denied,
      deny_rate: rate(total.denied, total.calls),
      error_rate: rate(total.errors, total.calls),
    },
    latency_us: { calls: total.calls - total.denied, ...overall },
    usage: series,
    apps: {
      total: num(apps[0]?.total),
      rows: apps.map((r) => ({ cloud_app: String(r.cloud_app), ...eventCounts(r), principals: num(r.n_principals) })),
    },
    principals: {
      total: num(principals[0]?.total),
      rows: principals.map((r) => ({ principal: String(r.principal), ...eventCounts(r), apps: (r.apps as unknown[]).map(String) })),
    },
    backends: {
      total: num(backends[0]?.total),
      rows: backends.map((r) => ({
        virtual_host: String(r.virtual_host),
        virtual_port: num(r.virtual_port),
        internal_host: String(r.internal),
        internal_port: num(r.iport),
        protocol: String(r.proto),
        ...eventCounts(r),
        p95_us: r.p95 === null || !Number.isFinite(Number(r.p95)) ? null : Math.round(Number(r.p95)),
      })),
    },
    resources: { total: resources.size, rows: rankedResources.slice(0, o.limit) },
  };
}

function resourceKey(row: Record<string, unknown>): string {
  return JSON.stringify([row.rule_id, row.virtual_host, num(row.virtual_port)]);
}

/** A resource from one of its prefix rows (which carry the resource's sums as r_*). */
function resourceRow(row: Record<string, unknown>) {
  return {
    rule_id: String(row.rule_id),
    virtual_host: String(row.virtual_host),
    virtual_port: num(row.virtual_port),
    calls: num(row.r_n),
    denied: num(row.r_denied),
    errors: num(row.r_errors),
    status_5xx: num(row.r_5xx),
    last_seen: isoTime(row.r_last),
    prefixes: [] as ({ prefix: string } & ReturnType<typeof eventCounts>)[],
  };
}
