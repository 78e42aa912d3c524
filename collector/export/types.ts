// The contracts of the SIEM exporters (issue 6, docs/siem.md). The runner (runner.ts) reads audit events
// and findings out of the store after each exporter's cursor, hands them over in batches, and acts on the
// outcome: it advances the cursor past what was delivered or dead-lettered, and sends the rest again
// after a backoff with jitter (the one shared wrapper, retry.ts). An exporter never keeps its own cursor
// and never sleeps: it says what happened and the runner decides.
import type { TSchema } from '@sinclair/typebox';
import type { AuditEvent } from '../../common/audit/event.js';
import type { Logger } from '../../common/log.js';
import type { StoredFinding } from '../detect/findings-store.js';

export type ExportStream = 'audit' | 'findings';

/** An audit event as stored, with the fields the spec does not know yet (kept in `extra`). */
export interface ExportedAuditEvent extends AuditEvent {
  /** When the collector stored it (RFC 3339 UTC). */
  readonly ingested_at: string;
  /** Unknown fields of the original event, kept byte for byte as a JSON object ('{}' when none). */
  readonly extra: string;
}

/**
 * One record handed to an exporter. `id` is what the receiver de-duplicates on: the event_id of an audit
 * event; for a finding, finding_id and version ("<finding_id>:<version>"), since a finding that is updated
 * (same id, later window end or score) is a new document the receiver must take.
 */
export type ExportRecord =
  | { readonly stream: 'audit'; readonly id: string; readonly event: ExportedAuditEvent; readonly row?: AuditRowBytes }
  | { readonly stream: 'findings'; readonly id: string; readonly finding: StoredFinding };

/**
 * The stored row an audit record was read from, as the store sent it: RowBinary, the columns of
 * PAGE_COLUMNS (audit-source.ts) in order, starting at `at`. An exporter may format straight from these
 * bytes instead of the decoded event (syslog's RFC 5424 path does); both must give the same output.
 */
export interface AuditRowBytes {
  readonly buf: Buffer;
  readonly at: number;
}

/** A record that failed for good (e.g. an Elasticsearch 400 mapping error): kept in export_dead_letters. */
export interface DeadLetter {
  readonly id: string;
  /** Why, in words an operator understands, with the receiver's own error type when it gave one. */
  readonly reason: string;
}

/**
 * What one send() achieved.
 * - success: every record delivered (an "already there" answer such as a 409 counts as delivered), except
 *   the `dead` ones, which the runner writes to the dead-letter table before it advances the cursor.
 * - retryable: send again after `delayMs` (or the runner's backoff when absent). `pending` lists the ids
 *   still to send; absent means the whole batch. Records neither pending nor dead were delivered.
 * - failure: the exporter cannot deliver at all as configured (authentication refused, unknown index,
 *   receiver rejects the format). Nothing is dead-lettered and the cursor stays: the runner reports the
 *   exporter as failing and tries again at its longest backoff, so nothing is lost while an operator
 *   fixes the configuration.
 */
export type ExportOutcome =
  | { readonly status: 'success'; readonly dead?: readonly DeadLetter[] }
  | { readonly status: 'retryable'; readonly reason: string; readonly delayMs?: number; readonly pending?: readonly string[]; readonly dead?: readonly DeadLetter[] }
  | { readonly status: 'failure'; readonly reason: string };

export interface Exporter {
  /** The configured name: unique per collector, the key of its cursor, dead letters and health. */
  readonly name: string;
  readonly type: string;
  readonly streams: readonly ExportStream[];
  /** Records per send() (the runner never hands over more). */
  readonly batchSize: number;
  /**
   * How many send() calls may run at once (default 1: never overlapping). More lets the next batch be
   * prepared and written while the receiver still confirms the last; send() must then be safe to call
   * again before the previous call settled. The runner still moves the cursor in order, past a batch
   * only once it and every batch before it are delivered.
   */
  readonly maxInFlight?: number;
  /** Called once before the first batch, and again after a failure; may throw (reported as failure). */
  start?(): Promise<void>;
  /** Must settle (never hang) and must not throw for a receiver's answer: throwing counts as retryable. */
  send(records: readonly ExportRecord[], signal: AbortSignal): Promise<ExportOutcome>;
  close(): Promise<void>;
}

export interface ExporterContext {
  /** The config file, for paths in the section (CA files, key files) relative to it. */
  readonly configFile: string;
  readonly log: Logger;
}

/** Common keys of every entry of the `exporters:` list; each type adds its own (see its config schema). */
export interface ExporterBaseConfig {
  readonly name: string;
  readonly type: string;
  readonly enabled: boolean;
  readonly streams: readonly ExportStream[];
  readonly batch_size: number;
}

/** One exporter type in the registry (registry.ts): its config keys and how to build it. */
export interface ExporterFactory<C extends ExporterBaseConfig = ExporterBaseConfig> {
  readonly type: string;
  /** One line for the configuration reference. */
  readonly summary: string;
  /** The type's own keys (an object schema, additionalProperties false); merged with the common keys. */
  readonly configSchema: TSchema;
  create(config: C, context: ExporterContext): Exporter;
}
