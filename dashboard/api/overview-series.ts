// What the overview and subaccount routes share: the WHERE clause over the per-minute rollups, time
// buckets for charts (dense, so a chart's x axis has no holes), and latency quantiles as numbers.
import { Type } from '@sinclair/typebox';
import type { Principal } from '../roles.js';
import { num, scopeFilter, type Range } from './query-kit.js';

/**
 * Latency quantiles of the rows read (the -Merge parameters must be the column type's). Put
 * decision = 'allow' in the WHERE clause rather than use an -If combinator: then the digests of refused
 * calls are never read, and reading digests is what these queries spend their time on.
 */
export const DIGEST_SQL = 'quantilesTDigestMerge(0.5, 0.9, 0.95, 0.99)(duration_us_digest)';

export interface SqlWhere {
  readonly sql: string;
  readonly params: Record<string, unknown>;
}

/** A per-minute or per-hour rollup: same columns (see migrations 0006 and 0011), time column named by grain. */
export interface Rollup {
  readonly table: 'audit_minute' | 'audit_hour';
  readonly time: 'minute' | 'hour';
  readonly seconds: 60 | 3600;
}

export const MINUTE_ROLLUP: Rollup = { table: 'audit_minute', time: 'minute', seconds: 60 };
export const HOUR_ROLLUP: Rollup = { table: 'audit_hour', time: 'hour', seconds: 3600 };

/**
 * The coarsest rollup whose grain divides the chart's bucket: long ranges (buckets of whole hours) read
 * audit_hour, some sixty times fewer rows and t-digests than audit_minute at a few calls per minute.
 */
export function rollupFor(bucketSeconds: number): Rollup {
  return bucketSeconds % HOUR_ROLLUP.seconds === 0 ? HOUR_ROLLUP : MINUTE_ROLLUP;
}

/**
 * Rows of a rollup in the range, in the caller's scope, optionally one subaccount. A rollup counts whole
 * minutes (or hours), so the range is widened to them: the one holding `from` and the one holding `to`
 * count in full (a live "last hour" includes the current minute).
 */
export function rollupWhere(range: Range, principal: Principal, subaccount?: string, rollup: Rollup = MINUTE_ROLLUP): SqlWhere {
  const scope = scopeFilter(principal);
  const one = subaccount === undefined ? '' : ' AND subaccount = {subaccount:String}';
  const start = rollup.time === 'hour' ? 'toStartOfHour' : 'toStartOfMinute';
  return {
    sql: `${rollup.time} >= ${start}({from:DateTime64(3, 'UTC')}) AND ${rollup.time} < {to:DateTime64(3, 'UTC')}${one}${scope.sql}`,
    params: { from: range.fromParam, to: range.toParam, ...(subaccount === undefined ? {} : { subaccount }), ...scope.params },
  };
}

/** Rows of audit_events in the exact range (ms), in the caller's scope, optionally one subaccount. */
export function eventsWhere(range: Range, principal: Principal, subaccount?: string): SqlWhere {
  const scope = scopeFilter(principal);
  // subaccount first, then ts: both lead the sort key, so this is a range read of the primary index.
  const one = subaccount === undefined ? '' : 'subaccount = {subaccount:String} AND ';
  return {
    sql: `${one}ts >= {from:DateTime64(3, 'UTC')} AND ts < {to:DateTime64(3, 'UTC')}${scope.sql}`,
    params: { from: range.fromParam, to: range.toParam, ...(subaccount === undefined ? {} : { subaccount }), ...scope.params },
  };
}

/** Call counts of a rollup row read with COUNTS_SQL. */
export interface Counts {
  calls: number;
  denied: number;
  errors: number;
  status_5xx: number;
  bytes_in: number;
  bytes_out: number;
}

/** Counts over rollup rows (their column `calls` is the number of calls each row stands for). */
export const COUNTS_SQL = `sum(calls) AS n, sumIf(calls, decision = 'deny') AS n_denied, sumIf(calls, error_type != '') AS n_errors,
  sumIf(calls, status_class = 5) AS n_5xx, sum(bytes_in) AS b_in, sum(bytes_out) AS b_out`;

export function counts(row: Record<string, unknown>): Counts {
  return {
    calls: num(row.n), denied: num(row.n_denied), errors: num(row.n_errors), status_5xx: num(row.n_5xx),
    bytes_in: num(row.b_in), bytes_out: num(row.b_out),
  };
}

/** The bucket number of a rollup row: whole seconds since the epoch divided by the bucket width. */
export function bucketSql(rollup: Rollup = MINUTE_ROLLUP): string {
  return `intDiv(toUInt32(${rollup.time}), {bucket:UInt32})`;
}

/** The buckets a range covers (with the minute widening of rollupWhere), as bucket numbers and ISO starts. */
export class Buckets {
  readonly first: number;
  readonly starts: string[] = [];

  constructor(range: Range, readonly seconds: number) {
    this.first = Math.floor(range.from.getTime() / 1000 / seconds);
    const last = Math.floor((range.to.getTime() - 1) / 1000 / seconds);
    for (let b = this.first; b <= last; b++) this.starts.push(new Date(b * seconds * 1000).toISOString());
  }

  get length(): number {
    return this.starts.length;
  }

  /** Index of a bucket number from bucketSql(), or -1 when outside the range. */
  index(bucket: unknown): number {
    const i = num(bucket) - this.first;
    return i >= 0 && i < this.starts.length ? i : -1;
  }

  zeros(): number[] {
    return new Array<number>(this.starts.length).fill(0);
  }

  nulls(): (number | null)[] {
    return new Array<number | null>(this.starts.length).fill(null);
  }
}

export interface Quantiles {
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
}

/** A quantiles array from ClickHouse ([p50, p90, p95, p99]; nulls when nothing was measured) in whole µs. */
export function quantiles(value: unknown): Quantiles | undefined {
  const q = Array.isArray(value) ? value.map((v) => (v === null ? NaN : Number(v))) : [];
  if (q.length < 4 || !q.every(Number.isFinite)) return undefined;
  const [p50, p90, p95, p99] = q.map((v) => Math.round(v)) as [number, number, number, number];
  return { p50, p90, p95, p99 };
}

/** Share of `part` in `whole` (0 when whole is 0: an empty range is zeros, not an error). */
export function rate(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}

export const LatencySchema = Type.Object({
  calls: Type.Integer({ description: 'allowed calls the quantiles are over' }),
  p50: Type.Integer({ description: 'µs; 0 when no allowed call in the range' }),
  p90: Type.Integer({ description: 'µs' }),
  p95: Type.Integer({ description: 'µs' }),
  p99: Type.Integer({ description: 'µs' }),
}, { description: 'Call duration (receipt to last byte) of allowed calls, from t-digests: approximate, within the measured min/max. Refusals are left out: they are answered in microseconds and would hide a slow backend.' });

export const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

/** A list cut to its first rows, with how many there were in all. */
export function TopList<T extends ReturnType<typeof Type.Object>>(row: T, description: string) {
  return Type.Object({
    total: Type.Integer({ description: 'rows before the cut (the list shows the first `limit`)' }),
    rows: Type.Array(row),
  }, { description });
}
