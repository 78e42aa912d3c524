// The Overview's two top lists, each in two steps: rank every key of the range on the cheap columns, then
// read the expensive part (latency digests, names of a resource) for the listed rows only. A list's total
// is the engine's count of groups before the LIMIT (queryCounted), not a window over every group. The range is
// covered by whole days, hours and minutes of audit_backends / audit_denied_resources (overview-levels.ts),
// so both lists are exact to the minute.
import type { DashboardContext } from '../context.js';
import type { Principal } from '../roles.js';
import { cover, RESOURCE_LEVELS, spansWhere, tenantWhere } from './overview-levels.js';
import { counts, DIGEST_SQL, quantiles } from './overview-series.js';
import { isoTime, num, query, queryCounted } from './query-kit.js';

const BACKEND_KEY = 'subaccount, virtual_host, virtual_port, internal_host, internal_port, protocol';

export interface TopOptions {
  readonly lo: number;
  readonly hi: number;
  readonly subaccount?: string;
  readonly limit: number;
}

export async function topBackends(ctx: DashboardContext, principal: Principal, o: TopOptions) {
  const spans = spansWhere(cover(o.lo, o.hi, RESOURCE_LEVELS), 's');
  const tenant = tenantWhere(principal, o.subaccount);
  const params = { ...tenant.params, ...spans.params, limit: o.limit };
  const { rows: ranked, beforeLimit } = await queryCounted(ctx, `SELECT ${BACKEND_KEY}, sum(calls) AS n, sum(denied) AS n_denied,
      sum(errors) AS n_errors, sum(status_5xx) AS n_5xx
    FROM audit_backends WHERE ${spans.sql}${tenant.sql}
    GROUP BY ${BACKEND_KEY} ORDER BY n DESC, subaccount, virtual_host, virtual_port LIMIT {limit:UInt32}`, params);

  // Digests of the listed backends only: merging every backend's digest is what a long range cannot afford.
  // The IN lists select a superset (their cross product); the exact keys are matched below.
  const p95 = new Map<string, number | null>();
  if (ranked.length > 0) {
    const digests = await query(ctx, `SELECT ${BACKEND_KEY}, ${DIGEST_SQL} AS q FROM audit_backends
      WHERE ${spans.sql}${tenant.sql}
        AND subaccount IN {b_s:Array(String)} AND virtual_host IN {b_vh:Array(String)} AND internal_host IN {b_ih:Array(String)}
      GROUP BY ${BACKEND_KEY}`, {
      ...params,
      b_s: [...new Set(ranked.map((r) => String(r.subaccount)))],
      b_vh: [...new Set(ranked.map((r) => String(r.virtual_host)))],
      b_ih: [...new Set(ranked.map((r) => String(r.internal_host)))],
    });
    for (const r of digests) p95.set(backendKey(r), quantiles(r.q)?.p95 ?? null);
  }

  return {
    total: ranked.length === 0 ? 0 : beforeLimit,
    rows: ranked.map((r) => {
      const c = counts(r);
      return {
        subaccount: String(r.subaccount),
        virtual_host: String(r.virtual_host),
        virtual_port: num(r.virtual_port),
        internal_host: String(r.internal_host),
        internal_port: num(r.internal_port),
        protocol: String(r.protocol),
        calls: c.calls,
        denied: c.denied,
        errors: c.errors,
        status_5xx: c.status_5xx,
        p95_us: p95.get(backendKey(r)) ?? null,
      };
    }),
  };
}

function backendKey(r: Record<string, unknown>): string {
  return JSON.stringify([r.subaccount, r.virtual_host, num(r.virtual_port), r.internal_host, num(r.internal_port), r.protocol]);
}

/**
 * Refused resources by calls, then the most recent first. Ranking groups the 64-bit resource key only;
 * the names of the listed ones are read from their minute rows at the last minute each was refused in.
 */
export async function topDenied(ctx: DashboardContext, principal: Principal, o: TopOptions) {
  const spans = spansWhere(cover(o.lo, o.hi, RESOURCE_LEVELS), 's');
  const tenant = tenantWhere(principal, o.subaccount);
  const { rows: ranked, beforeLimit } = await queryCounted(ctx, `SELECT resource AS r, sum(calls) AS n, max(last_minute) AS last
    FROM audit_denied_resources WHERE ${spans.sql}${tenant.sql}
    GROUP BY resource ORDER BY n DESC, last DESC, resource LIMIT {limit:UInt32}`, { ...tenant.params, ...spans.params, limit: o.limit });
  if (ranked.length === 0) return { total: 0, rows: [] };

  const names = await query(ctx, `SELECT resource AS r, subaccount, cloud_app, virtual_host, virtual_port, path, deny_reason
    FROM audit_denied_resources
    WHERE level = 60 AND t IN {d_minutes:Array(DateTime('UTC'))}${tenant.sql}
      AND resource IN {d_resources:Array(UInt64)}
    LIMIT 1 BY resource`, {
    ...tenant.params,
    d_minutes: [...new Set(ranked.map((r) => String(r.last)))],
    d_resources: ranked.map((r) => BigInt(String(r.r))),
  });
  const byResource = new Map(names.map((n) => [String(n.r), n]));
  return {
    total: beforeLimit,
    rows: ranked.flatMap((r) => {
      const n = byResource.get(String(r.r));
      // Unreachable while both levels share one retention; a row without its name is better left out.
      if (!n) return [];
      return [{
        subaccount: String(n.subaccount),
        cloud_app: String(n.cloud_app),
        virtual_host: String(n.virtual_host),
        virtual_port: num(n.virtual_port),
        path: String(n.path),
        deny_reason: String(n.deny_reason),
        calls: num(r.n),
        last_minute: isoTime(r.last),
      }];
    }),
  };
}
