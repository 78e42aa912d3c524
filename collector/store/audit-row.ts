// Audit events <-> rows of audit_events. Inserts use JSONCompactColumns: one array per column and a single
// JSON.stringify per batch, which measured fastest on both sides of the chDB connection (docs/store.md):
// no object per row, no string concatenation per field, and the engine's columnar JSON reader parses
// fewer bytes per value than TSV or JSONEachRow.
import { AUDIT_FIELDS, type AuditEvent } from '../../common/audit/event.js';
import { TunnelwatchError } from '../../common/errors.js';
import { NativeBlockWriter } from './native-block.js';

/**
 * An event as the collector hands it over: the spec's fields, plus whatever other own properties the parsed
 * object carries (fields of a later version), which are kept in `extra`.
 */
export type AuditEventInput = AuditEvent;

/** An event read back: the spec's fields and the unknown ones that were kept. */
export type StoredAuditEvent = AuditEvent & Record<string, unknown>;

type Field = (typeof AUDIT_FIELDS)[number];

/** Unsigned integer columns and their largest value (UInt16 or a safe UInt64). */
const INTEGER_LIMITS: Partial<Record<Field, number>> = {
  duration_us: Number.MAX_SAFE_INTEGER,
  seq: Number.MAX_SAFE_INTEGER,
  virtual_port: 65535,
  internal_port: 65535,
  status: 65535,
  bytes_in: Number.MAX_SAFE_INTEGER,
  bytes_out: Number.MAX_SAFE_INTEGER,
  backend_connect_us: Number.MAX_SAFE_INTEGER,
  backend_ttfb_us: Number.MAX_SAFE_INTEGER,
};

const KNOWN = new Set<string>(AUDIT_FIELDS);

/**
 * One getter per field, written out: each reads one named property, which V8 compiles to a fast load for
 * the events' common shape, where `event[field]` with a changing field is a generic lookup per value
 * (measured as the largest cost of building a batch).
 */
const FIELD_GETTERS: { readonly [F in Field]: (e: AuditEvent) => AuditEvent[F] } = {
  schema: (e) => e.schema,
  event_id: (e) => e.event_id,
  ts: (e) => e.ts,
  duration_us: (e) => e.duration_us,
  emitter: (e) => e.emitter,
  emitter_id: (e) => e.emitter_id,
  seq: (e) => e.seq,
  prev_hash: (e) => e.prev_hash,
  hash: (e) => e.hash,
  subaccount: (e) => e.subaccount,
  location_id: (e) => e.location_id,
  cloud_app: (e) => e.cloud_app,
  principal: (e) => e.principal,
  client_ip: (e) => e.client_ip,
  protocol: (e) => e.protocol,
  method: (e) => e.method,
  virtual_host: (e) => e.virtual_host,
  virtual_port: (e) => e.virtual_port,
  internal_host: (e) => e.internal_host,
  internal_port: (e) => e.internal_port,
  path: (e) => e.path,
  query: (e) => e.query,
  user_agent: (e) => e.user_agent,
  decision: (e) => e.decision,
  rule_id: (e) => e.rule_id,
  deny_reason: (e) => e.deny_reason,
  status: (e) => e.status,
  error_type: (e) => e.error_type,
  bytes_in: (e) => e.bytes_in,
  bytes_out: (e) => e.bytes_out,
  backend_connect_us: (e) => e.backend_connect_us,
  backend_ttfb_us: (e) => e.backend_ttfb_us,
  trace_id: (e) => e.trace_id,
  span_id: (e) => e.span_id,
};
const FIELD_COUNT = AUDIT_FIELDS.length;

/** Columns written by the insert, in payload order: the spec's fields, then `extra`. */
export const AUDIT_INSERT_COLUMNS: readonly string[] = [...AUDIT_FIELDS, 'extra'];

/** RFC 3339 UTC with milliseconds, the spec's shape; anything else Date.parse accepts is normalised to it. */
const CANONICAL_TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** A validated event, ready for a batch: the original object plus what the writer needs from it. */
export interface PreparedAuditRow {
  readonly event: AuditEventInput;
  /** 'YYYY-MM-DD HH:MM:SS.mmm' (UTC), the engine's DateTime64 text form. */
  readonly ts: string;
  readonly tsMs: number;
  /** JSON object of the fields the spec does not know, or '' when there are none. */
  readonly extra: string;
}

function invalid(event: Record<string, unknown>, field: string, expected: string): TunnelwatchError {
  const id = typeof event.event_id === 'string' ? event.event_id : '?';
  return new TunnelwatchError('TW_ERR_STORE_INVALID_ROW', `event ${id}: field "${field}" must be ${expected}`);
}

/**
 * Checks one event against the column types and extracts what the batch needs. Throws
 * TW_ERR_STORE_INVALID_ROW naming the field, so the caller that sent the event fails, not the batch.
 */
export function prepareAuditRow(event: AuditEventInput): PreparedAuditRow {
  const fields = event as unknown as Record<string, unknown>;
  for (let i = 0; i < FIELD_COUNT; i++) {
    const field = AUDIT_FIELDS[i] as Field;
    const value = fields[field];
    const limit = INTEGER_LIMITS[field];
    if (limit !== undefined) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > limit) {
        throw invalid(fields, field, `an integer from 0 to ${limit}`);
      }
    } else if (typeof value !== 'string') {
      throw invalid(fields, field, 'a string (use "" when it does not apply)');
    }
  }
  if (event.event_id === '') throw invalid(fields, 'event_id', 'a non-empty string');
  const raw = event.ts;
  const tsMs = Date.parse(raw);
  if (!Number.isFinite(tsMs)) throw invalid(fields, 'ts', 'an RFC 3339 timestamp');
  const iso = CANONICAL_TS.test(raw) ? raw : new Date(tsMs).toISOString();
  return { event, ts: `${iso.slice(0, 10)} ${iso.slice(11, 23)}`, tsMs, extra: extraOf(fields) };
}

function extraOf(event: Record<string, unknown>): string {
  // Fast path: exactly the spec's fields (their presence was checked above), so nothing extra to keep.
  let count = 0;
  for (const key in event) if (Object.hasOwn(event, key)) count++;
  if (count === FIELD_COUNT) return '';
  const extra: Record<string, unknown> = {};
  for (const key of Object.keys(event)) if (!KNOWN.has(key)) extra[key] = event[key];
  return JSON.stringify(extra);
}

/** The JSONCompactColumns document for rows, columns in AUDIT_INSERT_COLUMNS order. */
export function auditColumnsPayload(rows: readonly PreparedAuditRow[]): string {
  const n = rows.length;
  const columns: unknown[][] = [];
  for (let f = 0; f < FIELD_COUNT; f++) {
    const field = AUDIT_FIELDS[f] as Field;
    const column = new Array<unknown>(n);
    if (field === 'ts') for (let i = 0; i < n; i++) column[i] = (rows[i] as PreparedAuditRow).ts;
    else for (let i = 0; i < n; i++) column[i] = (rows[i] as PreparedAuditRow).event[field];
    columns.push(column);
  }
  const extra = new Array<string>(n);
  for (let i = 0; i < n; i++) extra[i] = (rows[i] as PreparedAuditRow).extra;
  columns.push(extra);
  return JSON.stringify(columns);
}

/**
 * The same rows as one Native block, for the embedded engine (file() input). Columns keep their declared
 * names; LowCardinality columns travel as String and the INSERT converts them.
 */
export function auditNativeBlock(rows: readonly PreparedAuditRow[]): Buffer {
  const n = rows.length;
  // ~520 bytes per realistic row; the writer grows when a batch carries longer values.
  const block = new NativeBlockWriter(FIELD_COUNT + 1, n, 64 + n * 640);
  for (let f = 0; f < FIELD_COUNT; f++) {
    const field = AUDIT_FIELDS[f] as Field;
    if (field === 'ts') {
      block.dateTime64msColumn(field, rows.map((r) => r.tsMs));
      continue;
    }
    const get = FIELD_GETTERS[field];
    const values = new Array<unknown>(n);
    for (let i = 0; i < n; i++) values[i] = get((rows[i] as PreparedAuditRow).event);
    if (INTEGER_LIMITS[field] === 65535) block.uint16Column(field, values as number[]);
    else if (INTEGER_LIMITS[field] !== undefined) block.uint64Column(field, values as number[]);
    else block.stringColumn(field, values as string[]);
  }
  block.stringColumn('extra', rows.map((r) => r.extra));
  return block.finish();
}

/** A row of audit_events as JSONEachRow returns it (64-bit integers quoted). */
export type AuditEventRecord = Record<string, string | number>;

/** The columns read back by rowToAuditEvent, for SELECT lists. */
export const AUDIT_SELECT_COLUMNS: readonly string[] = AUDIT_INSERT_COLUMNS;

/** Back from a stored row to the event as it was sent: numbers as numbers, ts in RFC 3339, extras merged. */
export function rowToAuditEvent(row: AuditEventRecord): StoredAuditEvent {
  const event: Record<string, unknown> = {};
  for (const field of AUDIT_FIELDS) {
    const value = row[field];
    if (INTEGER_LIMITS[field] !== undefined) event[field] = Number(value);
    else if (field === 'ts') event[field] = `${String(value).replace(' ', 'T')}Z`;
    else event[field] = String(value ?? '');
  }
  const extra = row.extra;
  if (typeof extra === 'string' && extra !== '') Object.assign(event, JSON.parse(extra) as Record<string, unknown>);
  return event as StoredAuditEvent;
}
