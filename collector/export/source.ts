// Reads what an exporter has not delivered yet, in a stable order, after its cursor (docs/siem.md,
// "Cursor"). Rows become visible when their insert commits, but their time (ingested_at for audit events,
// version for findings) is taken when the insert starts; so a read only goes up to now minus a settle
// margin, longer than any insert, and a row committed late can never fall behind a cursor that has
// already passed its time. Both orders end with the record's id, so a cursor is a point of a total order
// and ties are never cut. Delivery is at least once: a row read twice is sent twice, never skipped.
import type { Store } from '../store/store.js';
import { auditLag, readAudit } from './audit-source.js';
import { findingsLag, readFindings } from './findings-source.js';
import type { ExportRecord, ExportStream } from './types.js';

/** A record and the cursor position just after it. */
export interface PositionedRecord {
  readonly record: ExportRecord;
  readonly position: string;
}

/** What is not exported yet behind a position: rows and the store time of the oldest of them. */
export interface StreamLag {
  readonly records: number;
  /** ms since the epoch, undefined when nothing is behind. */
  readonly oldestMs: number | undefined;
  /** The time the position stands at (ms), undefined at the start. */
  readonly positionMs: number | undefined;
}

export interface ExportSource {
  /** Up to `limit` records after `position` (undefined = from the start), oldest first. */
  read(stream: ExportStream, position: string | undefined, limit: number): Promise<PositionedRecord[]>;
  lag(stream: ExportStream, position: string | undefined): Promise<StreamLag>;
}

export interface SourceOptions {
  /** How far behind now a read stays (ms): longer than any insert takes to commit. */
  readonly settleMs: number;
}

/** A position is the sort key of the last row read: [time, id] as JSON, time as ClickHouse text or ms. */
export function encodePosition(time: string | number, id: string): string {
  return JSON.stringify([time, id]);
}

export function decodePosition<T extends string | number>(position: string | undefined, start: T): [T, string] {
  if (position === undefined || position === '') return [start, ''];
  const parsed = JSON.parse(position) as unknown;
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[1] !== 'string' || typeof parsed[0] !== typeof start) {
    throw new Error(`not an export position: ${position.slice(0, 100)}`);
  }
  return [parsed[0] as T, parsed[1]];
}

export function createExportSource(store: Store, options: SourceOptions): ExportSource {
  return {
    read: (stream, position, limit) => (stream === 'audit' ? readAudit(store, options, position, limit) : readFindings(store, options, position, limit)),
    lag: (stream, position) => (stream === 'audit' ? auditLag(store, position) : findingsLag(store, position)),
  };
}
