// What every data route shares: the time range parameters, the subaccount scope of the caller, bucket
// sizes for charts, and store errors turned into a clear 503. Every query binds its values as
// {name:Type} parameters; nothing from a request is ever spliced into SQL text.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { TunnelwatchError } from '../../common/errors.js';
import type { DashboardContext } from '../context.js';
import { canSeeSubaccount, type Principal } from '../roles.js';

/** ?from=&to= (RFC 3339); default the last hour. */
export const TimeRangeQuery = Type.Object({
  from: Type.Optional(Type.String({ format: 'date-time', description: 'start (RFC 3339, inclusive); default: `to` minus 1 hour' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'end (RFC 3339, exclusive); default: now' })),
});
export type TimeRangeQueryT = Static<typeof TimeRangeQuery>;

export interface Range {
  readonly from: Date;
  readonly to: Date;
  /** For query_params of type DateTime64(3, 'UTC'): 'YYYY-MM-DD hh:mm:ss.sss'. */
  readonly fromParam: string;
  readonly toParam: string;
}

const MAX_RANGE_MS = 400 * 86_400_000;

/** ClickHouse DateTime64(3) parameter text for a Date (UTC). */
export function chTime(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

export function resolveRange(q: TimeRangeQueryT, now = new Date()): Range {
  const to = q.to ? new Date(q.to) : now;
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - 3_600_000);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) throw new TunnelwatchError('TW_ERR_DASH_BAD_REQUEST', 'from/to must be RFC 3339 times');
  if (from.getTime() >= to.getTime()) throw new TunnelwatchError('TW_ERR_DASH_BAD_REQUEST', `from (${from.toISOString()}) must be before to (${to.toISOString()})`);
  if (to.getTime() - from.getTime() > MAX_RANGE_MS) throw new TunnelwatchError('TW_ERR_DASH_BAD_REQUEST', 'the range may span at most 400 days');
  return { from, to, fromParam: chTime(from), toParam: chTime(to) };
}

const BUCKETS_S = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400];

/** A bucket width that gives at most ~180 points over the range (at least one minute: the rollups' grain). */
export function bucketSeconds(range: Range, maxPoints = 180): number {
  const spanS = (range.to.getTime() - range.from.getTime()) / 1000;
  return BUCKETS_S.find((b) => spanS / b <= maxPoints) ?? 86_400;
}

/** The principal the access hook set; routes with access other than 'public' always have one. */
export function principalOf(request: FastifyRequest): Principal {
  const p = request.principal;
  if (!p) throw new TunnelwatchError('TW_ERR_DASH_UNAUTHENTICATED');
  return p;
}

/**
 * The caller's subaccount scope as SQL: '' for '*', else ` AND <column> IN {scope:Array(String)}` with
 * its parameter. Add it to every query over tenant data.
 */
export function scopeFilter(principal: Principal, column = 'subaccount'): { sql: string; params: Record<string, unknown> } {
  if (principal.subaccounts === '*') return { sql: '', params: {} };
  return { sql: ` AND ${column} IN {scope:Array(String)}`, params: { scope: [...principal.subaccounts] } };
}

/** 403 unless the principal may see this subaccount. */
export function requireSubaccount(principal: Principal, subaccount: string): void {
  if (!canSeeSubaccount(principal, subaccount)) {
    throw new TunnelwatchError('TW_ERR_DASH_FORBIDDEN', `subaccount ${subaccount} is outside the scope of ${principal.name}`);
  }
}

/** ctx.store.query, with a store failure reported as 503 (and logged) rather than a 500. */
export async function query<T = Record<string, unknown>>(ctx: DashboardContext, sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
  try {
    return await ctx.store.query<T>(sql, params);
  } catch (err) {
    if (err instanceof TunnelwatchError) throw err;
    ctx.log.error({ err }, 'dashboard query failed');
    throw new TunnelwatchError('TW_ERR_DASH_STORE_UNAVAILABLE', (err as Error).message.split('\n')[0]?.slice(0, 300), { cause: err });
  }
}

/**
 * A query with ORDER BY ... LIMIT, and how many rows there were before the LIMIT (exactly: the engine
 * counts them while it sorts, so a top list needs no second pass over its groups for its total).
 */
export async function queryCounted<T = Record<string, unknown>>(
  ctx: DashboardContext, sql: string, params: Record<string, unknown> = {},
): Promise<{ rows: T[]; beforeLimit: number }> {
  try {
    const result = await ctx.store.client.query({ query: `${sql} SETTINGS exact_rows_before_limit = 1`, query_params: params, format: 'JSON' });
    const body = await result.json<T>();
    return { rows: body.data, beforeLimit: Number(body.rows_before_limit_at_least ?? body.rows ?? body.data.length) };
  } catch (err) {
    if (err instanceof TunnelwatchError) throw err;
    ctx.log.error({ err }, 'dashboard query failed');
    throw new TunnelwatchError('TW_ERR_DASH_STORE_UNAVAILABLE', (err as Error).message.split('\n')[0]?.slice(0, 300), { cause: err });
  }
}

/** ClickHouse returns 64-bit integers as strings (output_format_json_quote_64bit_integers): make them numbers. */
export function num(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value !== '') return Number(value);
  return 0;
}

/** ClickHouse DateTime text ('2026-11-27 21:40:54.123', UTC) as RFC 3339. */
export function isoTime(value: unknown): string {
  const s = String(value);
  return s.includes('T') ? s : `${s.replace(' ', 'T')}Z`;
}

/** Error response schema shared by every route's OpenAPI description. */
export const ErrorResponse = Type.Object({
  error: Type.Object({ code: Type.String(), status: Type.Integer(), message: Type.String() }),
});
