// Audit events for the exporters, by (ingested_at, event_id), from audit_events and audit_events_archive
// (events already past the retention when they arrived are audit events too). Not FINAL: a duplicate row
// that a merge has not collapsed yet is read twice and sent twice, which at-least-once allows; repeats
// within one page are dropped here.
import { AUDIT_FIELDS } from '../../common/audit/event.js';
import type { Store } from '../store/store.js';
import { RowBinaryReader, rowOffsets, type ColumnKind, type ColumnSpec } from './row-binary.js';
import { decodePosition, encodePosition, type SourceBatch, type SourceOptions, type SourcePage, type StreamLag } from './source.js';
import type { AuditRowBytes, ExportedAuditEvent } from './types.js';

const START = '1970-01-01 00:00:00.000';
const T = "DateTime64(3, 'UTC')";
const COLUMN_LIST = [...AUDIT_FIELDS, 'ingested_at', 'extra'] as const;
const COLUMNS = COLUMN_LIST.join(', ');
const AFTER = `ingested_at >= {t:${T}} AND (ingested_at, event_id) > ({t:${T}}, {id:String})`;
// PREWHERE reads ingested_at alone first and the other columns only of the granules holding rows in the
// window: caught up, that is the newest parts only, not the whole table. Each table is sorted and cut to
// the page on its own before the two are merged: a plain sort-and-limit over one table lets the engine
// read the other columns only for the rows kept (lazy materialisation), where a sort over the union read
// them for every row after the cursor, a whole backlog per page.
const PAGE = `PREWHERE ingested_at >= {t:${T}} AND ingested_at <= {upto:${T}} WHERE (ingested_at, event_id) > ({t:${T}}, {id:String}) ORDER BY ingested_at, event_id LIMIT {limit:UInt32}`;

const U16 = new Set<string>(['virtual_port', 'internal_port', 'status']);
const U64 = new Set<string>(['duration_us', 'seq', 'bytes_in', 'bytes_out', 'backend_connect_us', 'backend_ttfb_us']);
/** The two times leave the engine as RFC 3339 text (its threads do the formatting, not the exporter's). */
const ISO = new Set<string>(['ts', 'ingested_at']);
const isoOf = (c: string): string => `concat(replaceOne(toString(${c}), ' ', 'T'), 'Z') AS ${c}_iso`;
/** The columns of a page in the order decodeEvent() reads them. */
export const PAGE_COLUMNS: readonly ColumnSpec[] = COLUMN_LIST.map((c) => ({
  name: ISO.has(c) ? `${c}_iso` : c,
  kind: (U16.has(c) ? 'u16' : U64.has(c) ? 'u64' : 'string') as ColumnKind,
}));

/** The index of a column in PAGE_COLUMNS, for the writers that format straight from the row bytes. */
export function pageColumn(name: string): number {
  const i = PAGE_COLUMNS.findIndex((c) => c.name === name);
  if (i < 0) throw new Error(`export page has no column ${name}`);
  return i;
}

/** One page after the cursor ({t}, {id}) up to {upto}; both tables' minmax index on ingested_at (migration 0019) skips the parts written before {t}. */
export const AUDIT_PAGE_SQL = `SELECT ${COLUMN_LIST.map((c) => (ISO.has(c) ? isoOf(c) : c)).join(', ')} FROM (
       SELECT ${COLUMNS} FROM audit_events ${PAGE}
       UNION ALL SELECT ${COLUMNS} FROM audit_events_archive ${PAGE}
     ) ORDER BY ingested_at, event_id LIMIT {limit:UInt32}`;

// The engine materialises the columns of only the rows a sort-and-limit keeps up to this LIMIT (its
// default is 10,000). Pages of 50,000 without it read every column of every row after the cursor before
// sorting: measured, a 50,000-row page cost 5.0-6.6 µs per event in the engine on 200,000 events without
// it and 3.8-3.9 with it; on 5 million, 150-168 and 64-77. A server too old to know the setting refuses
// the query (UNKNOWN_SETTING); the read is then made without it, and so are the next ones.
const LAZY = 'SETTINGS query_plan_max_limit_for_lazy_materialization = 100000';
const noLazySetting = new WeakSet<Store>();

/** ClickHouse DateTime64(3) text ('2026-11-27 21:40:54.123') as RFC 3339 UTC. */
function iso(text: string): string {
  return `${text.replace(' ', 'T')}Z`;
}

/** ClickHouse DateTime64(3) text from RFC 3339 UTC with milliseconds. */
function chText(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/**
 * One row as an event of one fixed shape, its fields read in PAGE_COLUMNS order (the literal's order is
 * the order of evaluation). UInt64 values come as the nearest number, as Number() of their text would.
 */
function decodeEvent(r: RowBinaryReader): ExportedAuditEvent {
  const e = {
    schema: r.string() as ExportedAuditEvent['schema'],
    event_id: r.string(),
    ts: r.string(),
    duration_us: r.u64(),
    emitter: r.string() as ExportedAuditEvent['emitter'],
    emitter_id: r.string(),
    seq: r.u64(),
    prev_hash: r.string(),
    hash: r.string(),
    subaccount: r.string(),
    location_id: r.string(),
    cloud_app: r.string(),
    principal: r.string(),
    client_ip: r.string(),
    protocol: r.string() as ExportedAuditEvent['protocol'],
    method: r.string(),
    virtual_host: r.string(),
    virtual_port: r.u16(),
    internal_host: r.string(),
    internal_port: r.u16(),
    path: r.string(),
    query: r.string(),
    user_agent: r.string(),
    decision: r.string() as ExportedAuditEvent['decision'],
    rule_id: r.string(),
    deny_reason: r.string() as ExportedAuditEvent['deny_reason'],
    status: r.u16(),
    error_type: r.string() as ExportedAuditEvent['error_type'],
    bytes_in: r.u64(),
    bytes_out: r.u64(),
    backend_connect_us: r.u64(),
    backend_ttfb_us: r.u64(),
    trace_id: r.string(),
    span_id: r.string(),
    ingested_at: r.string(),
    extra: r.string(),
  };
  if (e.extra === '') e.extra = '{}';
  return e;
}

const KINDS = PAGE_COLUMNS.map((c) => c.kind);
const EVENT_ID = PAGE_COLUMNS.findIndex((c) => c.name === 'event_id');
const INGESTED_AT = PAGE_COLUMNS.findIndex((c) => c.name === 'ingested_at_iso');

/** The string in column `index` of the row starting at `at` (the columns before it skipped, not decoded). */
function stringAt(r: RowBinaryReader, at: number, index: number): string {
  r.at = at;
  for (let i = 0; i < index; i++) r.skip(KINDS[i] as ColumnKind);
  return r.string();
}

/**
 * An audit record of a page: its id is read at once, the event only when something asks for it (then
 * kept). The syslog exporter's RFC 5424 path formats from `row` and never decodes the event; the other
 * paths decode it as before. JSON (the dead-letter payload) carries the decoded event.
 */
class StoredAuditRecord {
  readonly stream = 'audit' as const;
  private decoded: ExportedAuditEvent | undefined;

  constructor(readonly id: string, readonly row: AuditRowBytes, private readonly reader: RowBinaryReader) {}

  get event(): ExportedAuditEvent {
    if (this.decoded === undefined) {
      this.reader.at = this.row.at;
      this.decoded = decodeEvent(this.reader);
    }
    return this.decoded;
  }

  toJSON(): { stream: 'audit'; id: string; event: ExportedAuditEvent } {
    return { stream: this.stream, id: this.id, event: this.event };
  }
}

/**
 * A page whose rows become records when their batch is asked for. A repeat of an event id already met in
 * the page (a duplicate row not merged yet) is dropped; the batch's end still moves past it.
 */
class AuditPage implements SourcePage {
  readonly rows: number;
  readonly end: string | undefined;
  /** event_id -> the first row holding it. */
  private readonly first = new Map<string, number>();

  constructor(private readonly reader: RowBinaryReader, private readonly offsets: readonly number[]) {
    this.rows = offsets.length;
    this.end = this.rows > 0 ? this.positionAfter(this.rows - 1) : undefined;
  }

  /** The cursor position just after row i: its ingested_at and event_id. */
  private positionAfter(i: number): string {
    const at = this.offsets[i] as number;
    return encodePosition(chText(stringAt(this.reader, at, INGESTED_AT)), stringAt(this.reader, at, EVENT_ID));
  }

  batch(from: number, to: number): SourceBatch {
    if (from >= to || to > this.rows) throw new RangeError(`batch ${from}..${to} is empty or outside a page of ${this.rows}`);
    const records: SourceBatch['records'][number][] = [];
    const buf = this.reader.buf;
    for (let i = from; i < to; i++) {
      const at = this.offsets[i] as number;
      const id = stringAt(this.reader, at, EVENT_ID);
      const seenAt = this.first.get(id);
      if (seenAt !== undefined && seenAt < i) continue;
      this.first.set(id, i);
      records.push(new StoredAuditRecord(id, { buf, at }, this.reader));
    }
    return { records, end: this.positionAfter(to - 1) };
  }
}

async function bytesOf(stream: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}

/** The server's clock minus the settle margin: one value for both tables, so they are cut at the same time. */
async function upTo(store: Store, settleMs: number): Promise<string> {
  const [row] = await store.query<{ upto: string }>('SELECT toString(now64(3) - toIntervalMillisecond({settle:UInt32})) AS upto', { settle: settleMs });
  return row?.upto ?? START;
}

export async function readAuditPage(store: Store, options: SourceOptions, position: string | undefined, limit: number): Promise<SourcePage> {
  const [t, id] = decodePosition(position, START);
  const upto = await upTo(store, options.settleMs);
  const run = async (lazy: boolean): Promise<Buffer> => {
    const result = await store.client.exec({
      query: `${AUDIT_PAGE_SQL} ${lazy ? LAZY : ''} FORMAT RowBinaryWithNamesAndTypes`,
      query_params: { t, id, upto, limit },
    });
    return bytesOf(result.stream as AsyncIterable<Buffer>);
  };
  let bytes: Buffer;
  if (noLazySetting.has(store)) {
    bytes = await run(false);
  } else {
    try {
      bytes = await run(true);
    } catch (err) {
      if (!/UNKNOWN_SETTING|Unknown setting/i.test(`${(err as { type?: string }).type ?? ''} ${(err as Error).message}`)) throw err;
      noLazySetting.add(store);
      bytes = await run(false);
    }
  }
  const { reader, offsets } = rowOffsets(bytes, PAGE_COLUMNS);
  return new AuditPage(reader, offsets);
}

export async function auditLag(store: Store, position: string | undefined): Promise<StreamLag> {
  const [t, id] = decodePosition(position, START);
  const [row] = await store.query<{ n: string; oldest: string }>(
    `SELECT count() AS n, toString(min(ingested_at)) AS oldest FROM (
       SELECT ingested_at FROM audit_events WHERE ${AFTER}
       UNION ALL SELECT ingested_at FROM audit_events_archive WHERE ${AFTER})`,
    { t, id },
  );
  const records = Number(row?.n ?? 0);
  return {
    records,
    oldestMs: records > 0 && row ? Date.parse(iso(row.oldest)) : undefined,
    positionMs: position ? Date.parse(iso(t)) : undefined,
  };
}
