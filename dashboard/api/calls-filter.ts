// The calls explorer's filters: one querystring schema shared by the list and the export, turned into a
// WHERE clause with bound parameters. The subaccount condition comes first and the time range second so
// that both lead the condition as they lead the sort key of audit_events.
import { Type, type Static } from '@sinclair/typebox';
import { TunnelwatchError } from '../../common/errors.js';
import type { Principal } from '../roles.js';
import { requireSubaccount, resolveRange, scopeFilter, TimeRangeQuery, type Range } from './query-kit.js';

const text = (description: string, maxLength = 256): ReturnType<typeof Type.String> =>
  Type.String({ minLength: 1, maxLength, description });

/** Filters of GET /api/v1/calls and /api/v1/calls/export. Unknown parameters are refused (a typo must not widen an export). */
export const CallFilterProperties = {
  ...TimeRangeQuery.properties,
  subaccount: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$', description: 'only this subaccount (403 when it is outside your scope)' })),
  cloud_app: Type.Optional(text('only calls of this cloud app (exact)')),
  principal: Type.Optional(text('only calls on behalf of this end user (exact)')),
  virtual_host: Type.Optional(text('only calls to this virtual host (exact, case-insensitive)')),
  path_prefix: Type.Optional(text('only paths starting with this text (the normalised path, no query)', 2048)),
  status: Type.Optional(Type.Array(Type.String({ pattern: '^(?:[0-9]{1,3}|[1-5]xx)$', description: 'a status (403; 0 for TCP) or a class (4xx)' }), {
    minItems: 1,
    maxItems: 20,
    description: 'HTTP status: repeat for several (?status=403&status=5xx); classes 1xx..5xx',
  })),
  decision: Type.Optional(Type.Union([Type.Literal('allow'), Type.Literal('deny')], { description: 'allow or deny' })),
  error_type: Type.Optional(Type.String({ pattern: '^[a-z_]{1,40}$', description: 'backend or tunnel error type (connect_refused, backend_timeout, ...); "any" = every failed call' })),
  deny_reason: Type.Optional(Type.String({ pattern: '^[a-z_]{1,40}$', description: 'why it was refused (path_not_allowed, no_mapping, ...); "any" = every refusal' })),
  emitter: Type.Optional(Type.Union([Type.Literal('relay'), Type.Literal('connector')], { description: 'which end wrote the event' })),
};

export const CallFilterQuery = Type.Object(CallFilterProperties, { additionalProperties: false });
export type CallFilterQueryT = Static<typeof CallFilterQuery>;

export interface CallFilter {
  readonly range: Range;
  /** ' WHERE ...' with the scope, the subaccount and the time range first. */
  readonly where: string;
  readonly params: Record<string, unknown>;
  /**
   * The same conditions on the per-minute rollup (audit_minute), without the time range, when every
   * filter is one of its columns; undefined otherwise (cloud app, principal, path, emitter, exact status).
   */
  readonly rollupWhere: string | undefined;
  /** The filters as a stable string: a cursor is only valid for the query it came from. */
  readonly key: string;
  /** The filters as given (after defaults), for the admin audit record of an export. */
  readonly summary: Record<string, unknown>;
}

const FILTER_NAMES = ['subaccount', 'cloud_app', 'principal', 'virtual_host', 'path_prefix', 'status', 'decision', 'error_type', 'deny_reason', 'emitter'] as const;

/** Exact statuses and classes (4xx -> 4) of ?status=. */
export function parseStatuses(values: readonly string[]): { exact: number[]; classes: number[] } {
  const exact = new Set<number>();
  const classes = new Set<number>();
  for (const v of values) {
    if (v.endsWith('xx')) {
      // The classes end up as numbers in the SQL text (callFilter): only 1xx-5xx gets there.
      if (!/^[1-5]xx$/.test(v)) throw new TunnelwatchError('TW_ERR_DASH_BAD_REQUEST', `status ${v} is not a status class (1xx-5xx)`);
      classes.add(Number(v[0]));
    } else {
      const n = Number(v);
      if (!Number.isInteger(n) || n > 599) throw new TunnelwatchError('TW_ERR_DASH_BAD_REQUEST', `status ${v} is not an HTTP status (0 for TCP, 100-599)`);
      exact.add(n);
    }
  }
  return { exact: [...exact].sort((a, b) => a - b), classes: [...classes].sort((a, b) => a - b) };
}

/**
 * The WHERE clause of a filtered set. A named subaccount outside the caller's scope is a 403 rather than
 * an empty result, so that a scoped analyst learns the filter cannot work instead of trusting "no calls".
 */
export function callFilter(principal: Principal, q: CallFilterQueryT, now = new Date()): CallFilter {
  const range = resolveRange(q, now);
  const parts: string[] = [];
  // Conditions the rollup can answer too; null once a filter needs the events themselves.
  let rollup: string[] | null = [];
  const both = (condition: string): void => {
    parts.push(condition);
    rollup?.push(condition);
  };
  const eventsOnly = (condition: string): void => {
    parts.push(condition);
    rollup = null;
  };
  const params: Record<string, unknown> = {};
  if (q.subaccount !== undefined) {
    requireSubaccount(principal, q.subaccount);
    both('subaccount = {f_subaccount:String}');
    params.f_subaccount = q.subaccount;
  } else {
    const scope = scopeFilter(principal);
    if (scope.sql) {
      both(scope.sql.replace(/^ AND /, ''));
      Object.assign(params, scope.params);
    }
  }
  parts.push("ts >= {f_from:DateTime64(3, 'UTC')}", "ts < {f_to:DateTime64(3, 'UTC')}");
  params.f_from = range.fromParam;
  params.f_to = range.toParam;

  const equal = (column: string, value: string | undefined, add: (condition: string) => void): void => {
    if (value === undefined) return;
    add(`${column} = {f_${column}:String}`);
    params[`f_${column}`] = value;
  };
  equal('cloud_app', q.cloud_app, eventsOnly);
  equal('principal', q.principal, eventsOnly);
  equal('virtual_host', q.virtual_host?.toLowerCase(), both);
  equal('decision', q.decision, both);
  equal('emitter', q.emitter, eventsOnly);
  for (const column of ['error_type', 'deny_reason'] as const) {
    const value = q[column];
    if (value === 'any') both(`${column} != ''`);
    else equal(column, value, both);
  }
  if (q.path_prefix !== undefined) {
    eventsOnly('startsWith(path, {f_path_prefix:String})');
    params.f_path_prefix = q.path_prefix;
  }
  if (q.status !== undefined) {
    const statuses = parseStatuses(q.status);
    const any: string[] = [];
    if (statuses.exact.length > 0) {
      any.push('status IN {f_status:Array(UInt16)}');
      params.f_status = statuses.exact;
    }
    if (statuses.classes.length > 0) {
      // A range per class (the classes are whole numbers 1-5 from parseStatuses): comparing the column with
      // constants is much cheaper than intDiv(status, 100) IN (...) on every row (a month of 10 million
      // events, path prefix + 5xx: 244 -> 199 ms). The rollups keep their status_class column.
      any.push(...statuses.classes.map((c) => `status BETWEEN ${c * 100} AND ${c * 100 + 99}`));
      params.f_status_class = statuses.classes;
    }
    const condition = any.length === 1 ? (any[0] as string) : `(${any.join(' OR ')})`;
    if (statuses.exact.length > 0) eventsOnly(condition);
    else {
      parts.push(condition);
      rollup?.push('status_class IN {f_status_class:Array(UInt16)}');
    }
  }

  const summary: Record<string, unknown> = { from: range.from.toISOString(), to: range.to.toISOString() };
  for (const name of FILTER_NAMES) {
    const value = name === 'status' ? q.status && [...q.status].sort() : q[name];
    if (value !== undefined) summary[name] = value;
  }
  const rollupParts = rollup as string[] | null;
  return {
    range,
    where: ` WHERE ${parts.join(' AND ')}`,
    params,
    rollupWhere: rollupParts === null ? undefined : rollupParts.map((c) => ` AND ${c}`).join(''),
    // From/to as given: with them left out (the last hour), the next page still belongs to the same query.
    key: JSON.stringify({ ...summary, from: q.from ?? null, to: q.to ?? null }),
    summary,
  };
}
