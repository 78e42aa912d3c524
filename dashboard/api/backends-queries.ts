// The reads behind /api/v1/backends: the health matrix (last state of each checked mapping, since when,
// checks by state in the range, real call errors from the audit events, the fix of the failing step), a
// mapping's timeline, and its last check. Every query binds its values and applies the caller's scope.
import { CHECK_COLUMNS, chTime, isoOf, reportFromRow, type CheckRow } from '../../collector/store/backend-checks.js';
import type { CheckReport } from '../../connector/diagnostics/types.js';
import type { DashboardContext } from '../context.js';
import type { Principal } from '../roles.js';
import { bucketSeconds, num, query, scopeFilter, type Range } from './query-kit.js';

/** How far back the matrix looks for a mapping's last state and the start of its current run. */
export const LOOKBACK_DAYS = 30;
/** More checks than this in a range are drawn as buckets. */
const MAX_POINTS = 720;

type State = CheckReport['state'];

export interface BackendRowT {
  subaccount: string; virtual_host: string; internal_host: string; protocol: string; connector_id: string; location_id: string;
  state: string; classification: string; summary: string; last_check_id: string; last_check_at: string; last_trigger: string;
  since: string; since_exact: boolean; checks: Record<State, number>; call_errors: Record<string, number>; call_errors_total: number;
  recommendation: { step: string; outcome: string; classification: string; message: string; fix: string } | null;
}

/** The step to act on: the failed one, else the first warning. */
export function recommendationOf(r: CheckReport): BackendRowT['recommendation'] {
  const step = r.steps.find((s) => s.outcome === 'fail') ?? r.steps.find((s) => s.outcome === 'warn');
  return step ? { step: step.step, outcome: step.outcome, classification: step.classification, message: step.message, fix: step.fix } : null;
}

interface MatrixRow {
  subaccount: string; virtual_host: string; connector_id: string; last_id: string; last_at: string; since_at: string; first_at: string;
  n_up: string; n_degraded: string; n_down: string;
}

export async function healthMatrix(ctx: DashboardContext, principal: Principal, range: Range, subaccount: string | undefined): Promise<{ lookbackFrom: Date; backends: BackendRowT[] }> {
  const scope = scopeFilter(principal);
  const lookbackFrom = new Date(range.to.getTime() - LOOKBACK_DAYS * 86_400_000);
  // `changed` marks the first check of each run of one state; the last such mark is "since".
  const rows = await query<MatrixRow>(ctx, `
    SELECT subaccount, virtual_host, connector_id, argMax(check_id, started_at) AS last_id, max(started_at) AS last_at,
           maxIf(started_at, changed) AS since_at, min(started_at) AS first_at,
           countIf(started_at >= {from:DateTime64(3, 'UTC')} AND state = 'up') AS n_up,
           countIf(started_at >= {from:DateTime64(3, 'UTC')} AND state = 'degraded') AS n_degraded,
           countIf(started_at >= {from:DateTime64(3, 'UTC')} AND state = 'down') AS n_down
    FROM (
      SELECT subaccount, virtual_host, connector_id, check_id, started_at, state,
             state != lagInFrame(state, 1, '') OVER (PARTITION BY subaccount, virtual_host, connector_id ORDER BY started_at ASC
                                                      ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS changed
      FROM backend_checks FINAL
      WHERE started_at >= {lookback:DateTime64(3, 'UTC')} AND started_at < {to:DateTime64(3, 'UTC')}${subaccount !== undefined ? ' AND subaccount = {s:String}' : ''}${scope.sql}
    )
    GROUP BY subaccount, virtual_host, connector_id
    ORDER BY subaccount, virtual_host, connector_id`,
  { ...scope.params, from: range.fromParam, to: range.toParam, lookback: chTime(lookbackFrom.getTime()), ...(subaccount !== undefined ? { s: subaccount } : {}) });
  if (rows.length === 0) return { lookbackFrom, backends: [] };

  const subaccounts = [...new Set(rows.map((r) => r.subaccount))];
  const lastRows = await query<CheckRow>(ctx, `SELECT ${CHECK_COLUMNS} FROM backend_checks FINAL WHERE subaccount IN {subs:Array(String)} AND check_id IN {ids:Array(String)}`,
    { subs: subaccounts, ids: rows.map((r) => r.last_id) });
  const last = new Map(lastRows.map(reportFromRow).map((r) => [r.check_id, r]));
  const errors = await callErrors(ctx, principal, range, subaccounts);
  const backends = rows.flatMap((r): BackendRowT[] => {
    const report = last.get(r.last_id);
    if (!report) return [];
    const since = isoOf(r.since_at);
    const callErrorsOf = errors.get(`${r.subaccount}\u0000${r.virtual_host}`) ?? {};
    return [{
      subaccount: r.subaccount, virtual_host: r.virtual_host, internal_host: report.internal_host, protocol: report.protocol,
      connector_id: r.connector_id, location_id: report.location_id, state: report.state, classification: report.classification,
      summary: report.summary, last_check_id: report.check_id, last_check_at: report.started_at, last_trigger: report.trigger,
      since, since_exact: since !== isoOf(r.first_at),
      checks: { up: num(r.n_up), degraded: num(r.n_degraded), down: num(r.n_down) },
      call_errors: callErrorsOf, call_errors_total: Object.values(callErrorsOf).reduce((a, b) => a + b, 0),
      recommendation: recommendationOf(report),
    }];
  });
  return { lookbackFrom, backends };
}

/**
 * Failed real calls per subaccount and virtual host:port by error_type, from the audit events (each event
 * once: uniqExact by event_id rather than FINAL, which would merge every part of the range).
 */
async function callErrors(ctx: DashboardContext, principal: Principal, range: Range, subaccounts: readonly string[]): Promise<Map<string, Record<string, number>>> {
  const scope = scopeFilter(principal);
  const rows = await query<{ subaccount: string; host: string; error_type: string; n: string }>(ctx, `
    SELECT subaccount, concat(virtual_host, ':', toString(virtual_port)) AS host, error_type, uniqExact(event_id) AS n
    FROM audit_events
    WHERE subaccount IN {subs:Array(String)} AND ts >= {from:DateTime64(3, 'UTC')} AND ts < {to:DateTime64(3, 'UTC')} AND error_type != ''${scope.sql}
    GROUP BY subaccount, host, error_type`,
  { ...scope.params, subs: [...subaccounts], from: range.fromParam, to: range.toParam });
  const out = new Map<string, Record<string, number>>();
  for (const r of rows) {
    const key = `${r.subaccount}\u0000${r.host}`;
    out.set(key, { ...out.get(key), [r.error_type]: num(r.n) });
  }
  return out;
}

export interface HistoryT {
  bucket_seconds: number;
  points: { at: string; state: string; duration_ms: number; checks: number; classification: string; check_id: string }[];
  changes: { at: string; from: string; to: string }[];
}

const STATES: readonly State[] = ['up', 'degraded', 'down'];

export async function history(ctx: DashboardContext, principal: Principal, range: Range, subaccount: string, virtualHost: string): Promise<HistoryT> {
  const scope = scopeFilter(principal);
  const where = `subaccount = {s:String} AND virtual_host = {v:String} AND started_at >= {from:DateTime64(3, 'UTC')} AND started_at < {to:DateTime64(3, 'UTC')}${scope.sql}`;
  const params = { ...scope.params, s: subaccount, v: virtualHost, from: range.fromParam, to: range.toParam };
  const [count] = await query<{ n: string }>(ctx, `SELECT count() AS n FROM backend_checks FINAL WHERE ${where}`, params);
  if (num(count?.n) <= MAX_POINTS) {
    const rows = await query<{ started_at: string; state: string; duration_ms: string | number; classification: string; check_id: string }>(ctx,
      `SELECT started_at, state, duration_ms, classification, check_id FROM backend_checks FINAL WHERE ${where} ORDER BY started_at, check_id`, params);
    const points = rows.map((r) => ({ at: isoOf(r.started_at), state: r.state, duration_ms: num(r.duration_ms), checks: 1, classification: r.classification, check_id: r.check_id }));
    const changes = points.flatMap((p, i) => {
      const before = points[i - 1];
      return before && before.state !== p.state ? [{ at: p.at, from: before.state, to: p.state }] : [];
    });
    return { bucket_seconds: 0, points, changes };
  }
  const bucket = bucketSeconds(range, MAX_POINTS / 2);
  // Worst state of each bucket: down (2) over degraded (1) over up (0).
  const rows = await query<{ at: string; worst: string | number; dur: string | number; n: string; cls: string }>(ctx, `
    SELECT toStartOfInterval(started_at, INTERVAL {b:UInt32} SECOND) AS at, max(rank) AS worst, avg(duration_ms) AS dur, count() AS n,
           argMax(classification, rank) AS cls
    FROM (SELECT started_at, duration_ms, classification, indexOf(['up', 'degraded', 'down'], state) - 1 AS rank FROM backend_checks FINAL WHERE ${where})
    GROUP BY at ORDER BY at`, { ...params, b: bucket });
  return {
    bucket_seconds: bucket,
    points: rows.map((r) => ({ at: isoOf(r.at), state: STATES[num(r.worst)] ?? 'up', duration_ms: Math.round(num(r.dur)), checks: num(r.n), classification: r.cls, check_id: '' })),
    changes: [],
  };
}

export async function lastCheck(ctx: DashboardContext, principal: Principal, subaccount: string, virtualHost: string): Promise<CheckReport | null> {
  const scope = scopeFilter(principal);
  const [row] = await query<CheckRow>(ctx,
    `SELECT ${CHECK_COLUMNS} FROM backend_checks FINAL WHERE subaccount = {s:String} AND virtual_host = {v:String}${scope.sql}
     ORDER BY started_at DESC, check_id DESC LIMIT 1`,
    { ...scope.params, s: subaccount, v: virtualHost });
  return row ? reportFromRow(row) : null;
}
