// Reads what an exporter has not delivered yet, in a stable order, after its cursor (docs/siem.md,
// "Cursor"). Rows become visible when their insert commits, but their time (ingested_at for audit events,
// version for findings) is taken when the insert starts; so a read only goes up to now minus a settle
// margin, longer than any insert, and a row committed late can never fall behind a cursor that has
// already passed its time. Both orders end with the record's id, so a cursor is a point of a total order
// and ties are never cut. Delivery is at least once: a row read twice is sent twice, never skipped.
import type { Store } from '../store/store.js';
import { auditLag, readAuditPage } from './audit-source.js';
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

/** Consecutive records of a page, and the cursor position just after the last row they cover. */
export interface SourceBatch {
  /** Can be fewer than the rows covered (a duplicate row of the page is dropped), even none. */
  readonly records: ExportRecord[];
  readonly end: string;
}

/**
 * Up to `limit` rows read in one query, handed out as batches of rows [from, to) (decoded only then, so
 * a large page does not hold every record at once).
 */
export interface SourcePage {
  readonly rows: number;
  /** The position after the last row; undefined for an empty page. */
  readonly end: string | undefined;
  batch(from: number, to: number): SourceBatch;
}

export interface ExportSource {
  /** Up to `limit` rows after `position` (undefined = from the start), oldest first: what the runner reads. */
  readPage(stream: ExportStream, position: string | undefined, limit: number): Promise<SourcePage>;
  /** The same as records with each one's position (tests and tools). */
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

/** A page over records already decoded (findings: pages are small and rows are few). */
export function arrayPage(records: readonly PositionedRecord[]): SourcePage {
  return {
    rows: records.length,
    end: records.at(-1)?.position,
    batch(from, to) {
      const slice = records.slice(from, to);
      const last = slice.at(-1);
      if (last === undefined) throw new RangeError(`empty batch ${from}..${to} of a page of ${records.length}`);
      return { records: slice.map((p) => p.record), end: last.position };
    },
  };
}

/** Every row of a page with its own position (one batch per row: for tests and tools, not for speed). */
function positioned(page: SourcePage): PositionedRecord[] {
  const out: PositionedRecord[] = [];
  for (let i = 0; i < page.rows; i++) {
    const { records, end } = page.batch(i, i + 1);
    const record = records[0];
    // A dropped duplicate still moves the previous record's position past it.
    if (record) out.push({ record, position: end });
    else if (out.length > 0) out[out.length - 1] = { record: (out.at(-1) as PositionedRecord).record, position: end };
  }
  return out;
}

export function createExportSource(store: Store, options: SourceOptions): ExportSource {
  const readPage = async (stream: ExportStream, position: string | undefined, limit: number): Promise<SourcePage> =>
    stream === 'audit' ? readAuditPage(store, options, position, limit) : arrayPage(await readFindings(store, options, position, limit));
  return {
    readPage,
    read: async (stream, position, limit) => positioned(await readPage(stream, position, limit)),
    lag: (stream, position) => (stream === 'audit' ? auditLag(store, position) : findingsLag(store, position)),
  };
}
