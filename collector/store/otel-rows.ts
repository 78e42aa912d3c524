// Row shapes of otel_traces and otel_logs (the OpenTelemetry Collector ClickHouse exporter's columns). The
// collector maps OTLP onto these; the store checks them when they are handed over and encodes them per
// back end: a Native block for the embedded engine, JSONEachRow (nested columns as arrays) for a server.
import { TunnelwatchError } from '../../common/errors.js';
import { NativeBlockWriter } from './native-block.js';

/**
 * A point in time at nanosecond precision: a bigint of Unix nanoseconds (OTLP's `time_unix_nano`), a
 * decimal string of Unix nanoseconds, or an RFC 3339 / 'YYYY-MM-DD HH:MM:SS.fffffffff' UTC string.
 */
export type NanoTime = bigint | string;

export type Attributes = Record<string, string>;

export interface SpanEventRow {
  Timestamp: NanoTime;
  Name: string;
  Attributes: Attributes;
}

export interface SpanLinkRow {
  TraceId: string;
  SpanId: string;
  TraceState: string;
  Attributes: Attributes;
}

/** One row of otel_traces. TraceId/SpanId in lower-case hex ('' when absent), as the exporter writes them. */
export interface SpanRow {
  Timestamp: NanoTime;
  TraceId: string;
  SpanId: string;
  ParentSpanId: string;
  TraceState: string;
  SpanName: string;
  /** 'Server', 'Client', 'Internal', 'Producer', 'Consumer' or 'Unspecified' (the exporter's spelling). */
  SpanKind: string;
  ServiceName: string;
  ResourceAttributes: Attributes;
  ScopeName: string;
  ScopeVersion: string;
  SpanAttributes: Attributes;
  /** Nanoseconds; a bigint or decimal string beyond 2^53. */
  Duration: number | bigint | string;
  /** 'Unset', 'Ok' or 'Error'. */
  StatusCode: string;
  StatusMessage: string;
  Events: SpanEventRow[];
  Links: SpanLinkRow[];
}

/** One row of otel_logs (TimestampTime is derived by the table). */
export interface LogRow {
  Timestamp: NanoTime;
  TraceId: string;
  SpanId: string;
  TraceFlags: number;
  SeverityText: string;
  SeverityNumber: number;
  ServiceName: string;
  Body: string;
  ResourceSchemaUrl: string;
  ResourceAttributes: Attributes;
  ScopeSchemaUrl: string;
  ScopeName: string;
  ScopeVersion: string;
  ScopeAttributes: Attributes;
  LogAttributes: Attributes;
  EventName: string;
}

const NANOS = 1_000_000_000n;
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const UINT64_MAX = (1n << 64n) - 1n;
const DIGITS = /^\d{1,20}$/;
const TEXT_TIME = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)?$/;

function invalid(kind: string, field: string, expected: string): TunnelwatchError {
  return new TunnelwatchError('TW_ERR_STORE_INVALID_ROW', `${kind} field "${field}" must be ${expected}`);
}

/**
 * Unix nanoseconds (what DateTime64(9) holds, as Int64) and the same instant in milliseconds (for the
 * retention check). Times DateTime64(9) cannot hold (before 1677 or after 2262) are refused.
 */
export function nanoInstant(value: NanoTime, kind: string, field: string): { ns: bigint; ms: number } {
  let ns: bigint;
  if (typeof value === 'bigint') ns = value;
  else if (DIGITS.test(value)) ns = BigInt(value);
  else {
    const m = TEXT_TIME.exec(value);
    const at = m ? Date.parse(`${m[1]}T${m[2]}${m[4] ?? 'Z'}`) : NaN;
    if (!m || !Number.isFinite(at)) throw invalid(kind, field, 'Unix nanoseconds or an RFC 3339 time');
    ns = BigInt(at) * 1_000_000n + BigInt((m[3] ?? '').padEnd(9, '0'));
  }
  if (ns > INT64_MAX || ns < INT64_MIN) throw invalid(kind, field, 'a time between the years 1677 and 2262');
  return { ns, ms: Math.floor(Number(ns) / 1e6) };
}

/** UTC 'YYYY-MM-DD HH:MM:SS.fffffffff' of Unix nanoseconds: text the engine reads without best-effort parsing. */
export function nanoText(ns: bigint): string {
  let seconds = ns / NANOS;
  let fraction = ns % NANOS;
  if (fraction < 0n) {
    seconds -= 1n;
    fraction += NANOS;
  }
  const iso = new Date(Number(seconds) * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${fraction.toString().padStart(9, '0')}`;
}

/** nanoInstant as text and milliseconds. */
export function nanoTime(value: NanoTime, kind: string, field: string): { text: string; ms: number } {
  const { ns, ms } = nanoInstant(value, kind, field);
  return { text: nanoText(ns), ms };
}

function unsigned(value: number | bigint | string, kind: string, field: string): bigint {
  let n: bigint | undefined;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number') n = Number.isSafeInteger(value) ? BigInt(value) : undefined;
  else if (DIGITS.test(value)) n = BigInt(value);
  if (n === undefined || n < 0n || n > UINT64_MAX) throw invalid(kind, field, 'an unsigned 64-bit integer');
  return n;
}

/** A span checked when it is handed over (so a bad row fails its own call, not a batch), its times resolved. */
export interface PreparedSpan {
  readonly row: SpanRow;
  readonly tsNs: bigint;
  readonly tsMs: number;
  readonly duration: bigint;
  readonly eventNs: bigint[];
}

export interface PreparedLog {
  readonly row: LogRow;
  readonly tsNs: bigint;
  readonly tsMs: number;
}

export function prepareSpan(row: SpanRow): PreparedSpan {
  const ts = nanoInstant(row.Timestamp, 'span', 'Timestamp');
  const events = row.Events;
  const eventNs = new Array<bigint>(events.length);
  for (let i = 0; i < events.length; i++) eventNs[i] = nanoInstant((events[i] as SpanEventRow).Timestamp, 'span', 'Events.Timestamp').ns;
  return { row, tsNs: ts.ns, tsMs: ts.ms, duration: unsigned(row.Duration, 'span', 'Duration'), eventNs };
}

export function prepareLog(row: LogRow): PreparedLog {
  const ts = nanoInstant(row.Timestamp, 'log', 'Timestamp');
  for (const field of ['TraceFlags', 'SeverityNumber'] as const) {
    const v = row[field];
    if (!Number.isInteger(v) || v < 0 || v > 255) throw invalid('log', field, 'an integer from 0 to 255');
  }
  return { row, tsNs: ts.ns, tsMs: ts.ms };
}

/** The columns both encodings write, in the order the Native blocks hold them. */
export const SPAN_INSERT_COLUMNS = [
  'Timestamp', 'TraceId', 'SpanId', 'ParentSpanId', 'TraceState', 'SpanName', 'SpanKind', 'ServiceName', 'ResourceAttributes',
  'ScopeName', 'ScopeVersion', 'SpanAttributes', 'Duration', 'StatusCode', 'StatusMessage',
  'Events.Timestamp', 'Events.Name', 'Events.Attributes', 'Links.TraceId', 'Links.SpanId', 'Links.TraceState', 'Links.Attributes',
] as const;

export const LOG_INSERT_COLUMNS = [
  'Timestamp', 'TraceId', 'SpanId', 'TraceFlags', 'SeverityText', 'SeverityNumber', 'ServiceName', 'Body', 'ResourceSchemaUrl',
  'ResourceAttributes', 'ScopeSchemaUrl', 'ScopeName', 'ScopeVersion', 'ScopeAttributes', 'LogAttributes', 'EventName',
] as const;

/** One JSONEachRow line of otel_traces (the server path). */
export function spanLine(p: PreparedSpan): string {
  const row = p.row;
  return JSON.stringify({
    Timestamp: nanoText(p.tsNs),
    TraceId: row.TraceId,
    SpanId: row.SpanId,
    ParentSpanId: row.ParentSpanId,
    TraceState: row.TraceState,
    SpanName: row.SpanName,
    SpanKind: row.SpanKind,
    ServiceName: row.ServiceName,
    ResourceAttributes: row.ResourceAttributes,
    ScopeName: row.ScopeName,
    ScopeVersion: row.ScopeVersion,
    SpanAttributes: row.SpanAttributes,
    Duration: p.duration.toString(),
    StatusCode: row.StatusCode,
    StatusMessage: row.StatusMessage,
    'Events.Timestamp': p.eventNs.map(nanoText),
    'Events.Name': row.Events.map((e) => e.Name),
    'Events.Attributes': row.Events.map((e) => e.Attributes),
    'Links.TraceId': row.Links.map((l) => l.TraceId),
    'Links.SpanId': row.Links.map((l) => l.SpanId),
    'Links.TraceState': row.Links.map((l) => l.TraceState),
    'Links.Attributes': row.Links.map((l) => l.Attributes),
  });
}

/** One JSONEachRow line of otel_logs (the server path). */
export function logLine(p: PreparedLog): string {
  const row = p.row;
  return JSON.stringify({
    Timestamp: nanoText(p.tsNs),
    TraceId: row.TraceId,
    SpanId: row.SpanId,
    TraceFlags: row.TraceFlags,
    SeverityText: row.SeverityText,
    SeverityNumber: row.SeverityNumber,
    ServiceName: row.ServiceName,
    Body: row.Body,
    ResourceSchemaUrl: row.ResourceSchemaUrl,
    ResourceAttributes: row.ResourceAttributes,
    ScopeSchemaUrl: row.ScopeSchemaUrl,
    ScopeName: row.ScopeName,
    ScopeVersion: row.ScopeVersion,
    ScopeAttributes: row.ScopeAttributes,
    LogAttributes: row.LogAttributes,
    EventName: row.EventName,
  });
}

/**
 * otel_traces rows as one Native block (the embedded path): no JSON to build in JS nor to parse in the
 * engine. Columns are declared String / Map(String, String) where the table has LowCardinality; the
 * INSERT ... SELECT converts them.
 */
export function spanNativeBlock(spans: readonly PreparedSpan[]): Buffer {
  const n = spans.length;
  const rows = spans.map((p) => p.row);
  const col = <T>(get: (r: SpanRow) => T): T[] => rows.map(get);
  const block = new NativeBlockWriter(SPAN_INSERT_COLUMNS.length, n, 4096 + n * 1024);
  block.dateTime64nsColumn('Timestamp', spans.map((p) => p.tsNs));
  block.stringColumn('TraceId', col((r) => r.TraceId));
  block.stringColumn('SpanId', col((r) => r.SpanId));
  block.stringColumn('ParentSpanId', col((r) => r.ParentSpanId));
  block.stringColumn('TraceState', col((r) => r.TraceState));
  block.stringColumn('SpanName', col((r) => r.SpanName));
  block.stringColumn('SpanKind', col((r) => r.SpanKind));
  block.stringColumn('ServiceName', col((r) => r.ServiceName));
  block.mapColumn('ResourceAttributes', col((r) => r.ResourceAttributes));
  block.stringColumn('ScopeName', col((r) => r.ScopeName));
  block.stringColumn('ScopeVersion', col((r) => r.ScopeVersion));
  block.mapColumn('SpanAttributes', col((r) => r.SpanAttributes));
  block.uint64BigColumn('Duration', spans.map((p) => p.duration));
  block.stringColumn('StatusCode', col((r) => r.StatusCode));
  block.stringColumn('StatusMessage', col((r) => r.StatusMessage));
  block.dateTime64nsArrayColumn('Events.Timestamp', spans.map((p) => p.eventNs));
  block.stringArrayColumn('Events.Name', col((r) => r.Events.map((e) => e.Name)));
  block.mapArrayColumn('Events.Attributes', col((r) => r.Events.map((e) => e.Attributes)));
  block.stringArrayColumn('Links.TraceId', col((r) => r.Links.map((l) => l.TraceId)));
  block.stringArrayColumn('Links.SpanId', col((r) => r.Links.map((l) => l.SpanId)));
  block.stringArrayColumn('Links.TraceState', col((r) => r.Links.map((l) => l.TraceState)));
  block.mapArrayColumn('Links.Attributes', col((r) => r.Links.map((l) => l.Attributes)));
  return block.finish();
}

/** otel_logs rows as one Native block (the embedded path). */
export function logNativeBlock(logs: readonly PreparedLog[]): Buffer {
  const n = logs.length;
  const rows = logs.map((p) => p.row);
  const col = <T>(get: (r: LogRow) => T): T[] => rows.map(get);
  const block = new NativeBlockWriter(LOG_INSERT_COLUMNS.length, n, 4096 + n * 768);
  block.dateTime64nsColumn('Timestamp', logs.map((p) => p.tsNs));
  block.stringColumn('TraceId', col((r) => r.TraceId));
  block.stringColumn('SpanId', col((r) => r.SpanId));
  block.uint8Column('TraceFlags', col((r) => r.TraceFlags));
  block.stringColumn('SeverityText', col((r) => r.SeverityText));
  block.uint8Column('SeverityNumber', col((r) => r.SeverityNumber));
  block.stringColumn('ServiceName', col((r) => r.ServiceName));
  block.stringColumn('Body', col((r) => r.Body));
  block.stringColumn('ResourceSchemaUrl', col((r) => r.ResourceSchemaUrl));
  block.mapColumn('ResourceAttributes', col((r) => r.ResourceAttributes));
  block.stringColumn('ScopeSchemaUrl', col((r) => r.ScopeSchemaUrl));
  block.stringColumn('ScopeName', col((r) => r.ScopeName));
  block.stringColumn('ScopeVersion', col((r) => r.ScopeVersion));
  block.mapColumn('ScopeAttributes', col((r) => r.ScopeAttributes));
  block.mapColumn('LogAttributes', col((r) => r.LogAttributes));
  block.stringColumn('EventName', col((r) => r.EventName));
  return block.finish();
}
