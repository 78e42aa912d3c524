// What the collector, the dashboard and the detectors get from openStore(): batched writes that resolve
// after commit, and one ClickHouse client for every read, whether the engine is embedded or a server.
import type { ClickHouseClient } from '@clickhouse/client';
import type { AuditEventInput, StoredAuditEvent } from './audit-row.js';
import type { BatchWriterStats } from './batch-writer.js';
import type { LogRow, SpanRow } from './otel-rows.js';
import type { ResolvedRetention } from './retention.js';

/** What happened to the events of one insertAuditEvents call; all of them are committed. */
export interface AuditWriteResult {
  /** New events, now in audit_events (and in the rollups). */
  readonly inserted: number;
  /** Events whose event_id the store already had (or that came twice): nothing written, nothing lost. */
  readonly duplicates: number;
  /** Events older than the audit retention, kept in audit_events_archive (no TTL, not rolled up). */
  readonly archived: number;
}

/** What happened to the rows of one insertSpans / insertLogs call. */
export interface OtelWriteResult {
  readonly inserted: number;
  /** Rows older than the table's retention, not stored (the TTL would drop them at insert); counted and logged. */
  readonly expired: number;
}

export interface StoreStats {
  readonly audit: BatchWriterStats & { readonly inserted: number; readonly duplicates: number; readonly archived: number };
  readonly spans: BatchWriterStats & { readonly inserted: number; readonly expired: number };
  readonly logs: BatchWriterStats & { readonly inserted: number; readonly expired: number };
}

export interface Store {
  /** 'embedded' (chDB in this process) or 'server' (ClickHouse by URL). */
  readonly mode: 'embedded' | 'server';
  readonly database: string;
  /** The embedded engine's data directory ('' for a server). */
  readonly dataDir: string;
  readonly cluster: string | undefined;
  readonly retention: ResolvedRetention;
  /**
   * For reads (dashboard, detectors, tests). Parameters only through query_params ({name:Type}). Read
   * audit_events with FINAL (or argMax by event_id) for the exactly-once view (docs/store.md).
   */
  readonly client: ClickHouseClient;
  /**
   * Queues audit events (own properties beyond the spec's fields are kept in `extra`) for the next batch and resolves once every one of them is committed (inserted,
   * already present, or archived). Rejects at once with TW_ERR_STORE_INVALID_ROW (this call only),
   * TW_ERR_STORE_OVERLOADED (queue full: answer 503/429 with Retry-After) or TW_ERR_STORE_CLOSED, and with
   * TW_ERR_STORE_INSERT when the batch failed: then nothing of this call is acknowledged; retry it.
   */
  insertAuditEvents(events: readonly AuditEventInput[]): Promise<AuditWriteResult>;
  /** Same contract for spans (otel_traces). */
  insertSpans(rows: readonly SpanRow[]): Promise<OtelWriteResult>;
  /** Same contract for logs (otel_logs). */
  insertLogs(rows: readonly LogRow[]): Promise<OtelWriteResult>;
  /** Audit events by id, read back through the deduplicated path, in the shape they were sent. */
  getAuditEvents(eventIds: readonly string[]): Promise<StoredAuditEvent[]>;
  /** Rows of a SELECT with bound parameters, as JSON objects (64-bit integers as strings). */
  query<T = Record<string, unknown>>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  /** Commits everything queued so far. */
  flush(): Promise<void>;
  stats(): StoreStats;
  /** Refuses new writes, commits what is queued, closes the connection (and frees the data directory). */
  close(): Promise<void>;
}
