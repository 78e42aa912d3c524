// What the ingest routes need from the store: inserts that resolve only once the rows are committed,
// and a reachability probe. collector/store-adapter.ts implements it on collector/store;
// tests use an in-memory one.
import type { LogRow, SpanRow } from './store/otel-rows.js';
import type { RuleSnapshot, RuleSnapshotWriteResult } from './store/rule-snapshots.js';

/** An audit event as received: every v1 field validated, unknown (extension) fields kept as they came. */
export type AuditRecord = Readonly<Record<string, unknown>> & { readonly event_id: string };

// Row shapes of otel_traces / otel_logs are the store's (the OTel Collector ClickHouse exporter's columns).
export type { Attributes as AttributeMap, LogRow, SpanRow } from './store/otel-rows.js';
export type { RuleSnapshot, RuleSnapshotWriteResult } from './store/rule-snapshots.js';

export interface AuditInsertResult {
  /** Events whose event_id the store already held; they were not inserted again. */
  readonly duplicates: number;
  /** Events older than the audit retention, kept in the archive table instead (still acknowledged). */
  readonly archived: number;
}

export interface OtelInsertResult {
  /** Rows older than the table's retention, not stored (the TTL would drop them at insert). */
  readonly expired: number;
}

export interface IngestStore {
  /** Resolves after the commit. Idempotent by event_id: a re-sent event counts as a duplicate. */
  insertAudit(events: readonly AuditRecord[]): Promise<AuditInsertResult>;
  /** Resolves after the commit. */
  insertSpans(rows: readonly SpanRow[]): Promise<OtelInsertResult>;
  /** Resolves after the commit. */
  insertLogs(rows: readonly LogRow[]): Promise<OtelInsertResult>;
  /**
   * A connector's validated rule snapshot; resolves after the commit. Idempotent by (connector_id,
   * snapshot_hash): the same rules again only refresh taken_at (`known`).
   */
  insertRuleSnapshot(snapshot: RuleSnapshot): Promise<RuleSnapshotWriteResult>;
  /** True when the store answers a trivial query. Never throws. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
