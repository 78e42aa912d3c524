// Retention per table as a TTL, in days from the config, applied at start-up with ALTER TABLE ... MODIFY
// TTL when it differs from what the table has. A TTL also drops rows that are already expired when they
// are inserted, so the writers check event times against these figures first (docs/store.md).
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import { TunnelwatchError } from '../../common/errors.js';
import { checkClusterName } from './cluster-name.js';

export interface RetentionConfig {
  /** audit_events (default 365 days; 0 keeps events for ever). Older events go to audit_events_archive. */
  readonly auditDays?: number;
  /** otel_traces and otel_traces_trace_id_ts (default 30 days; 0 = for ever). */
  readonly tracesDays?: number;
  /** otel_logs (default 30 days; 0 = for ever). */
  readonly logsDays?: number;
  /** The per-minute rollups (default 400 days; 0 = for ever). */
  readonly rollupDays?: number;
  /** backend_checks, the history of backend checks (default 90 days; 0 = for ever). */
  readonly checksDays?: number;
}

export type ResolvedRetention = Required<RetentionConfig>;

export const DEFAULT_RETENTION: ResolvedRetention = { auditDays: 365, tracesDays: 30, logsDays: 30, rollupDays: 400, checksDays: 90 };

/**
 * A row whose time is older than now - retention + this margin is treated as expired at insert: a row
 * that the table would drop within the next day is as good as lost, so it is archived (audit) or counted
 * as expired (spans, logs) instead of vanishing quietly an hour later.
 */
export const EXPIRY_MARGIN_MS = 24 * 3600 * 1000;

const DAY_MS = 24 * 3600 * 1000;

export function resolveRetention(config: RetentionConfig = {}): ResolvedRetention {
  const resolved = { ...DEFAULT_RETENTION, ...config };
  for (const [key, value] of Object.entries(resolved)) {
    if (!Number.isInteger(value) || value < 0 || value > 36500) {
      throw new TunnelwatchError('TW_ERR_CONFIG_INVALID', `store retention ${key} must be a whole number of days from 0 (keep for ever) to 36500, got ${String(value)}`);
    }
  }
  return resolved;
}

/** Rows with a time before this (ms since the epoch) are expired at insert; -Infinity when kept for ever. */
export function expiryCutoffMs(days: number, now: number = Date.now()): number {
  return days === 0 ? -Infinity : now - days * DAY_MS + EXPIRY_MARGIN_MS;
}

/** Which tables carry which retention, and the time expression their TTL counts from. */
export const TTL_TABLES: readonly { table: string; expression: string; retention: keyof ResolvedRetention }[] = [
  { table: 'audit_events', expression: 'toDateTime(ts)', retention: 'auditDays' },
  { table: 'otel_traces', expression: 'toDateTime(Timestamp)', retention: 'tracesDays' },
  { table: 'otel_traces_trace_id_ts', expression: 'toDateTime(Start)', retention: 'tracesDays' },
  { table: 'otel_logs', expression: 'TimestampTime', retention: 'logsDays' },
  { table: 'audit_minute', expression: 'minute', retention: 'rollupDays' },
  { table: 'audit_hour', expression: 'hour', retention: 'rollupDays' },
  { table: 'audit_denied_1m', expression: 'minute', retention: 'rollupDays' },
  { table: 'audit_series', expression: 't', retention: 'rollupDays' },
  { table: 'audit_latency', expression: 't', retention: 'rollupDays' },
  { table: 'audit_backends', expression: 't', retention: 'rollupDays' },
  { table: 'audit_denied_resources', expression: 't', retention: 'rollupDays' },
  { table: 'backend_checks', expression: 'toDateTime(started_at)', retention: 'checksDays' },
];

/** The days of the TTL a table has now (0 when it has none), read from its definition. */
export function ttlDaysOf(engineFull: string): number {
  const match = /\bTTL\b.*?toIntervalDay\((?:_CAST\()?(\d+)/.exec(engineFull);
  return match ? Number(match[1]) : 0;
}

/**
 * Brings each table's TTL in line with the config. `target` maps a table to the name the ALTER runs on
 * and the ON CLUSTER clause (the local replicated table in cluster mode).
 */
export async function applyRetention(
  client: ClickHouseClient,
  retention: ResolvedRetention,
  options: { cluster?: string; log?: Logger } = {},
): Promise<void> {
  const suffix = options.cluster ? '_local' : '';
  // ON CLUSTER takes no query parameter: the name is inlined after checkClusterName().
  const onCluster = options.cluster ? ` ON CLUSTER ${checkClusterName(options.cluster)}` : '';
  const rows = await (
    await client.query({
      query: 'SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN {names:Array(String)}',
      query_params: { names: TTL_TABLES.map((t) => t.table + suffix) },
      format: 'JSONEachRow',
    })
  ).json<{ name: string; engine_full: string }>();
  const current = new Map(rows.map((r) => [r.name, ttlDaysOf(r.engine_full)]));
  for (const { table, expression, retention: key } of TTL_TABLES) {
    const name = table + suffix;
    const days = retention[key];
    if (current.get(name) === days) continue;
    // Table name and expression come from TTL_TABLES above, never from input; the days are bound.
    const query = days === 0
      ? `ALTER TABLE {table:Identifier}${onCluster} REMOVE TTL`
      : `ALTER TABLE {table:Identifier}${onCluster} MODIFY TTL ${expression} + toIntervalDay({days:UInt32})`;
    try {
      await client.command({ query, query_params: { table: name, days } });
    } catch (err) {
      throw new TunnelwatchError('TW_ERR_STORE_MIGRATION', `retention of ${name}: ${(err as Error).message}`, { cause: err });
    }
    options.log?.info({ table: name, days }, 'store retention set');
  }
}
