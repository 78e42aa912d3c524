// Covering a time range with the multi-grain rollups (migrations 0015-0017): whole days in the middle,
// then hours, quarter hours and minutes towards the ends, so a month is ~30 day rows per key instead of
// ~43,000 minute rows, and every figure stays exact to the minute. A chart of B-second buckets may only
// use grains that divide B (a bucket must be a sum of whole rows), so it gets its own, finer cover.
import type { Principal } from '../roles.js';
import { scopeFilter, type Range } from './query-kit.js';

/** Grains of audit_series and audit_latency, in seconds (their `level` column). */
export const SERIES_LEVELS = [60, 900, 3600, 21600, 86400] as const;
/** Grains of audit_backends and audit_denied_resources (migrations 0016, 0017). */
export const RESOURCE_LEVELS = [60, 3600, 86400] as const;
const MINUTE = 60;

/** [lo, hi) in seconds since the epoch, made of whole units of `level` seconds. */
export interface Span {
  readonly level: number;
  readonly lo: number;
  readonly hi: number;
}

/**
 * The range widened to whole minutes, as the per-minute rollup has always counted it: the minute holding
 * `from` and the one holding `to` count in full (a live "last hour" includes the current minute).
 */
export function minuteBounds(range: Range): { lo: number; hi: number } {
  return {
    lo: Math.floor(range.from.getTime() / 60_000) * MINUTE,
    hi: Math.ceil(range.to.getTime() / 60_000) * MINUTE,
  };
}

/**
 * Spans covering [lo, hi) exactly, coarsest grain in the middle. `levels` ascending; lo and hi must be
 * multiples of the finest (all grains are aligned to the epoch, as toStartOfDay etc. are in UTC).
 * At most two spans per grain.
 */
export function cover(lo: number, hi: number, levels: readonly number[]): Span[] {
  if (lo >= hi || levels.length === 0) return [];
  const level = levels[levels.length - 1] as number;
  const finer = levels.slice(0, -1);
  const a = Math.ceil(lo / level) * level;
  const b = Math.floor(hi / level) * level;
  if (a >= b) return cover(lo, hi, finer);
  return [...cover(lo, a, finer), { level, lo: a, hi: b }, ...cover(b, hi, finer)];
}

/** The grains a chart of `bucketSeconds` buckets may read. */
export function levelsFor(bucketSeconds: number, levels: readonly number[] = SERIES_LEVELS): number[] {
  return levels.filter((level) => bucketSeconds % level === 0);
}

export interface Sql {
  readonly sql: string;
  readonly params: Record<string, unknown>;
}

/**
 * `(<level> = .. AND <time> >= .. AND <time> < ..) OR ...` for the spans, with bound parameters named
 * after `prefix` (each source of a query needs its own). With `levelColumn` null (a one-grain table such
 * as audit_minute) only the time condition is written. '0' (false) when there are no spans.
 */
export function spansWhere(spans: readonly Span[], prefix: string, timeColumn = 't', levelColumn: string | null = 'level'): Sql {
  if (spans.length === 0) return { sql: '0', params: {} };
  const params: Record<string, unknown> = {};
  const parts = spans.map((s, i) => {
    const p = `${prefix}${i}`;
    params[`${p}_lo`] = s.lo;
    params[`${p}_hi`] = s.hi;
    const time = `${timeColumn} >= toDateTime({${p}_lo:UInt32}, 'UTC') AND ${timeColumn} < toDateTime({${p}_hi:UInt32}, 'UTC')`;
    if (levelColumn === null) return `(${time})`;
    params[`${p}_level`] = s.level;
    return `(${levelColumn} = {${p}_level:UInt32} AND ${time})`;
  });
  return { sql: `(${parts.join(' OR ')})`, params };
}

/**
 * The caller's scope and the optional subaccount filter, as ` AND ...` (every query over tenant data
 * carries it). The subaccount itself must have been checked with requireSubaccount().
 */
export function tenantWhere(principal: Principal, subaccount?: string): Sql {
  const scope = scopeFilter(principal);
  if (subaccount === undefined) return scope;
  return { sql: `${scope.sql} AND subaccount = {subaccount:String}`, params: { ...scope.params, subaccount } };
}

/** Whether a query may read the all-subaccount rollup (audit_latency): everything visible, no filter. */
export function seesEverything(principal: Principal, subaccount?: string): boolean {
  return principal.subaccounts === '*' && subaccount === undefined;
}
