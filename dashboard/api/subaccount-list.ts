// The subaccounts with traffic in a range: call counts and latency from the per-minute rollup, and how many
// apps and principals they used (and when last) from audit_events.
import type { DashboardContext } from '../context.js';
import type { Principal } from '../roles.js';
import { counts, COUNTS_SQL, DIGEST_SQL, eventsWhere, quantiles, rollupFor, rollupWhere } from './overview-series.js';
import { bucketSeconds, isoTime, num, query, type Range } from './query-kit.js';

export async function listSubaccounts(ctx: DashboardContext, principal: Principal, range: Range, limit: number) {
  // Hours for ranges long enough to be charted in hours: far fewer rows and t-digests to merge.
  const rollup = rollupFor(bucketSeconds(range));
  const minutes = rollupWhere(range, principal, undefined, rollup);
  const events = eventsWhere(range, principal);
  const [figures, latency, seen] = await Promise.all([
    query(ctx, `SELECT subaccount, ${COUNTS_SQL} FROM ${rollup.table} WHERE ${minutes.sql} GROUP BY subaccount`, minutes.params),
    query(ctx, `SELECT subaccount, ${DIGEST_SQL} AS q FROM ${rollup.table} WHERE ${minutes.sql} AND decision = 'allow' GROUP BY subaccount`, minutes.params),
    // No FINAL: a duplicate row (before its merge) changes neither a distinct count nor a maximum, and this
    // reads every subaccount of the range.
    query(ctx, `SELECT subaccount, uniqExact(cloud_app) AS n_apps, uniqIf(principal, principal != '') AS n_principals,
        max(ts) AS last_ts FROM audit_events WHERE ${events.sql} GROUP BY subaccount`, events.params),
  ]);

  const bySubaccount = new Map<string, ReturnType<typeof emptyRow>>();
  const rowOf = (name: string) => {
    let row = bySubaccount.get(name);
    if (!row) bySubaccount.set(name, (row = emptyRow(name)));
    return row;
  };
  for (const r of figures) {
    const row = rowOf(String(r.subaccount));
    const c = counts(r);
    Object.assign(row, { calls: c.calls, allowed: c.calls - c.denied, denied: c.denied, errors: c.errors, status_5xx: c.status_5xx, bytes_in: c.bytes_in, bytes_out: c.bytes_out });
  }
  for (const r of latency) rowOf(String(r.subaccount)).p95_us = quantiles(r.q)?.p95 ?? null;
  for (const r of seen) {
    const row = rowOf(String(r.subaccount));
    row.apps = num(r.n_apps);
    row.principals = num(r.n_principals);
    row.last_seen = isoTime(r.last_ts);
  }
  const rows = [...bySubaccount.values()].sort((a, b) => b.calls - a.calls || a.subaccount.localeCompare(b.subaccount));
  return {
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    total: rows.length,
    subaccounts: rows.slice(0, limit),
  };
}

function emptyRow(subaccount: string) {
  return {
    subaccount,
    calls: 0,
    allowed: 0,
    denied: 0,
    errors: 0,
    status_5xx: 0,
    bytes_in: 0,
    bytes_out: 0,
    p95_us: null as number | null,
    apps: 0,
    principals: 0,
    last_seen: null as string | null,
  };
}
