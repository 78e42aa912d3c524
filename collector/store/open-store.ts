// openStore(): connect (embedded chDB by default, or a server by URL), migrate, set retention, and put a
// bounded batch writer in front of each table the collector writes.
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { pino, type Logger } from 'pino';
import { prepareAuditRow, rowToAuditEvent, AUDIT_SELECT_COLUMNS, type AuditEventRecord, type PreparedAuditRow } from './audit-row.js';
import { AUDIT_OUTCOME, columnsInsert, createAuditFlush, nativeFileInsert, type AuditCounters } from './audit-writer.js';
import { createBatchWriter } from './batch-writer.js';
import { clusterRenderer, schemaTables } from './cluster-ddl.js';
import { AUDIT_COMMIT_INTERVAL_MS, OTEL_MAX_DELAY_MS } from './commit-defaults.js';
import { checkClusterName } from './cluster-name.js';
import { connectStore, type ConnectOptions } from './connect.js';
import { applyMigrations, loadMigrations } from './migrations.js';
import { LOG_INSERT_COLUMNS, logLine, logNativeBlock, prepareLog, prepareSpan, SPAN_INSERT_COLUMNS, spanLine, spanNativeBlock, type PreparedLog, type PreparedSpan } from './otel-rows.js';
import { createOtelFlush, jsonEachRowInsert, nativeFileOtelInsert, OTEL_OUTCOME, otelInsertDir, type OtelCounters } from './otel-writer.js';
import { fileJournal, memoryJournal, type RollupJournal } from './rollup-journal.js';
import { repairRollups, type RepairRange } from './rollup-repair.js';
import { applyRetention, resolveRetention, type RetentionConfig } from './retention.js';
import type { Store } from './store.js';

/** Where to connect (ConnectOptions: embedded data directory, or a server by URL), plus what the store adds. */
export interface OpenStoreOptions extends ConnectOptions {
  readonly retention?: RetentionConfig;
  readonly log?: Logger;
  /** Batching knobs; the defaults are the measured ones (group commit up to 100k rows, due after 200 ms, 2 batches in flight). */
  readonly batch?: { rows?: number; maxDelayMs?: number; maxQueuedRows?: number; concurrency?: number };
  /** Longest wait (ms) of a span or log record for its batch (store.telemetry_batch_ms); default OTEL_MAX_DELAY_MS. */
  readonly telemetryDelayMs?: number;
  /** Audit commits of a light stream start at most this often (ms; store.audit_commit_interval_ms); default AUDIT_COMMIT_INTERVAL_MS. */
  readonly auditIntervalMs?: number;
}

export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  const log = (options.log ?? pino({ level: 'silent' })).child({ component: 'collector.store' });
  const retention = resolveRetention(options.retention);
  if (options.cluster !== undefined) checkClusterName(options.cluster);
  const connection = await connectStore(options);
  const { client } = connection;
  try {
    const migrations = loadMigrations();
    const render = options.cluster ? clusterRenderer(options.cluster, schemaTables(migrations)) : undefined;
    await applyMigrations(client, { migrations, log, ...(render ? { render } : {}) });
    await applyRetention(client, retention, { ...(options.cluster ? { cluster: options.cluster } : {}), log });
  } catch (err) {
    await connection.close();
    throw err;
  }

  const rollups = await rollupRepairOf(connection, options.cluster, log);
  const auditCounters: AuditCounters = { inserted: 0, duplicates: 0, archived: 0 };
  const spanCounters: OtelCounters = { inserted: 0, expired: 0 };
  const logCounters: OtelCounters = { inserted: 0, expired: 0 };
  const batch = {
    ...(options.batch?.rows !== undefined ? { batchRows: options.batch.rows } : {}),
    ...(options.batch?.maxDelayMs !== undefined ? { maxDelayMs: options.batch.maxDelayMs } : {}),
    ...(options.batch?.maxQueuedRows !== undefined ? { maxQueuedRows: options.batch.maxQueuedRows } : {}),
    ...(options.batch?.concurrency !== undefined ? { concurrency: options.batch.concurrency } : {}),
    log,
  };
  const audit = createBatchWriter<PreparedAuditRow>({
    ...batch,
    name: 'audit_events',
    outcomeCodes: 3,
    minIntervalMs: options.auditIntervalMs ?? AUDIT_COMMIT_INTERVAL_MS,
    flush: createAuditFlush({ client, insert: connection.mode === 'embedded' && connection.dataDir ? nativeFileInsert(client, connection.dataDir) : columnsInsert(client), auditDays: retention.auditDays, counters: auditCounters, ...(rollups ? { rollups } : {}), log }),
  });
  // Telemetry waits longer for its batch than audit events (no freshness target): each insert of
  // otel_traces writes a part of it and of the trace id lookup, ~40 ms of CPU whatever its size on
  // this machine's ext4 (docs/store.md), so 1 s instead of 200 ms takes most of that off a busy collector.
  const otelBatch = { ...batch, maxDelayMs: options.telemetryDelayMs ?? options.batch?.maxDelayMs ?? OTEL_MAX_DELAY_MS };
  // Spans and logs as the audit rows: Native blocks through file() on the embedded engine, text to a server.
  const otelDir = connection.mode === 'embedded' && connection.dataDir ? otelInsertDir(connection.dataDir) : undefined;
  const spanInsert = otelDir ? nativeFileOtelInsert(client, otelDir, 'otel_traces', SPAN_INSERT_COLUMNS, spanNativeBlock) : jsonEachRowInsert(client, 'otel_traces', spanLine);
  const logInsert = otelDir ? nativeFileOtelInsert(client, otelDir, 'otel_logs', LOG_INSERT_COLUMNS, logNativeBlock) : jsonEachRowInsert(client, 'otel_logs', logLine);
  const spans = createBatchWriter<PreparedSpan>({ ...otelBatch, name: 'otel_traces', outcomeCodes: 2, flush: createOtelFlush('otel_traces', { insert: spanInsert, days: retention.tracesDays, counters: spanCounters, log }) });
  const logs = createBatchWriter<PreparedLog>({ ...otelBatch, name: 'otel_logs', outcomeCodes: 2, flush: createOtelFlush('otel_logs', { insert: logInsert, days: retention.logsDays, counters: logCounters, log }) });
  log.info({ mode: connection.mode, database: connection.database, dataDir: connection.dataDir, cluster: options.cluster, retention }, 'store open');

  const query = async <T>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> =>
    (await client.query({ query: sql, query_params: params, format: 'JSONEachRow' })).json<T>();

  let closing: Promise<void> | null = null;
  return {
    mode: connection.mode,
    database: connection.database,
    dataDir: connection.dataDir,
    cluster: options.cluster,
    retention,
    client,
    async insertAuditEvents(events) {
      // Validated per call, so a bad event fails only the call that carried it.
      const rows = events.map(prepareAuditRow);
      const counts = await audit.write(rows);
      return { inserted: counts[AUDIT_OUTCOME.inserted] ?? 0, duplicates: counts[AUDIT_OUTCOME.duplicate] ?? 0, archived: counts[AUDIT_OUTCOME.archived] ?? 0 };
    },
    async insertSpans(rows) {
      const counts = await spans.write(rows.map(prepareSpan));
      return { inserted: counts[OTEL_OUTCOME.inserted] ?? 0, expired: counts[OTEL_OUTCOME.expired] ?? 0 };
    },
    async insertLogs(rows) {
      const counts = await logs.write(rows.map(prepareLog));
      return { inserted: counts[OTEL_OUTCOME.inserted] ?? 0, expired: counts[OTEL_OUTCOME.expired] ?? 0 };
    },
    async getAuditEvents(eventIds) {
      if (eventIds.length === 0) return [];
      const columns = AUDIT_SELECT_COLUMNS.join(', ');
      const rows = await query<AuditEventRecord>(
        `SELECT ${columns} FROM audit_events FINAL WHERE event_id IN {ids:Array(String)}
         UNION ALL SELECT ${columns} FROM audit_events_archive FINAL WHERE event_id IN {ids:Array(String)}`,
        { ids: eventIds },
      );
      const order = new Map(eventIds.map((id, i) => [id, i]));
      return rows.map(rowToAuditEvent).sort((a, b) => (order.get(a.event_id) ?? 0) - (order.get(b.event_id) ?? 0));
    },
    query,
    async flush() {
      await Promise.all([audit.flush(), spans.flush(), logs.flush()]);
    },
    stats: () => ({
      audit: { ...audit.stats(), ...auditCounters },
      spans: { ...spans.stats(), ...spanCounters },
      logs: { ...logs.stats(), ...logCounters },
    }),
    close() {
      closing ??= (async () => {
        try {
          await Promise.all([audit.close(), spans.close(), logs.close()]);
        } finally {
          await connection.close();
          log.info('store closed');
        }
      })();
      return closing;
    },
  };
}

/**
 * The rollup journal and repair (rollup-repair.ts), with any repair an earlier process left pending done
 * now. Not in cluster mode: the rollups there are Replicated tables behind Distributed ones, which a
 * lightweight DELETE cannot reach (docs/store.md says how to repair them by hand).
 */
async function rollupRepairOf(connection: { client: ClickHouseClient; mode: 'embedded' | 'server'; dataDir: string; database: string }, cluster: string | undefined, log: Logger): Promise<{ journal: RollupJournal; repair: (ranges: RepairRange[]) => Promise<void> } | undefined> {
  if (cluster !== undefined) return undefined;
  const journal = connection.mode === 'embedded' && connection.dataDir ? fileJournal(join(connection.dataDir, 'tunnelwatch-rollup-journal')) : memoryJournal();
  const repair = async (ranges: RepairRange[]): Promise<void> => {
    const done = await repairRollups(connection.client, connection.database, ranges);
    log.info({ days: done.days, tables: done.tables }, 'rollups recomputed from audit_events');
  };
  const pending = [...journal.pending()];
  if (pending.length > 0) {
    log.warn({ inserts: pending.length }, 'the last run stopped during audit_events inserts: recomputing the rollups of their days');
    try {
      await repair(pending.map(([, r]) => r));
      await journal.repaired(pending.map(([t]) => t));
    } catch (err) {
      // Left pending: the first insert tries again.
      log.error({ err: (err as Error).message }, 'rollup repair failed; it runs again before the next insert');
    }
  }
  return { journal, repair };
}

export type { AuditEventInput, StoredAuditEvent } from './audit-row.js';
