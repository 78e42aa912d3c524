// Row shapes of otel_traces and otel_logs (the OpenTelemetry Collector ClickHouse exporter's columns). The
// collector maps OTLP onto these; the store only encodes them (JSONEachRow, nested columns as arrays).
import { TunnelwatchError } from '../../common/errors.js';

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
const TEXT_TIME = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)?$/;

function invalid(kind: string, field: string, expected: string): TunnelwatchError {
  return new TunnelwatchError('TW_ERR_STORE_INVALID_ROW', `${kind} field "${field}" must be ${expected}`);
}

/**
 * UTC 'YYYY-MM-DD HH:MM:SS.fffffffff', the text the engine reads into DateTime64(9) without best-effort
 * parsing, and the same instant in milliseconds (for the retention check).
 */
export function nanoTime(value: NanoTime, kind: string, field: string): { text: string; ms: number } {
  let seconds: number;
  let fraction: string;
  if (typeof value === 'bigint' || /^\d{1,20}$/.test(value)) {
    const ns = BigInt(value);
    seconds = Number(ns / NANOS);
    fraction = (ns % NANOS).toString().padStart(9, '0');
  } else {
    const m = TEXT_TIME.exec(value);
    const at = m ? Date.parse(`${m[1]}T${m[2]}${m[4] ?? 'Z'}`) : NaN;
    if (!m || !Number.isFinite(at)) throw invalid(kind, field, 'Unix nanoseconds or an RFC 3339 time');
    seconds = at / 1000;
    fraction = (m[3] ?? '').padEnd(9, '0');
  }
  const iso = new Date(seconds * 1000).toISOString();
  if (!Number.isFinite(seconds) || iso.startsWith('+') || iso.startsWith('-')) throw invalid(kind, field, 'a time between the years 0 and 9999');
  return { text: `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${fraction}`, ms: seconds * 1000 + Number(fraction.slice(0, 3)) };
}

function unsigned(value: number | bigint | string, kind: string, field: string): string {
  const text = typeof value === 'string' ? value : typeof value === 'bigint' ? value.toString() : Number.isInteger(value) ? String(value) : '';
  if (!/^\d{1,20}$/.test(text) || BigInt(text) > 18446744073709551615n) throw invalid(kind, field, 'an unsigned 64-bit integer');
  return text;
}

/** A row checked and encoded when it is handed over, so a bad row fails its own call, not a batch. */
export interface PreparedOtelRow {
  /** One JSONEachRow line. */
  readonly line: string;
  readonly tsMs: number;
}

export function prepareSpan(row: SpanRow): PreparedOtelRow {
  const ts = nanoTime(row.Timestamp, 'span', 'Timestamp');
  const line = JSON.stringify({
    Timestamp: ts.text,
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
    Duration: unsigned(row.Duration, 'span', 'Duration'),
    StatusCode: row.StatusCode,
    StatusMessage: row.StatusMessage,
    'Events.Timestamp': row.Events.map((e) => nanoTime(e.Timestamp, 'span', 'Events.Timestamp').text),
    'Events.Name': row.Events.map((e) => e.Name),
    'Events.Attributes': row.Events.map((e) => e.Attributes),
    'Links.TraceId': row.Links.map((l) => l.TraceId),
    'Links.SpanId': row.Links.map((l) => l.SpanId),
    'Links.TraceState': row.Links.map((l) => l.TraceState),
    'Links.Attributes': row.Links.map((l) => l.Attributes),
  });
  return { line, tsMs: ts.ms };
}

export function prepareLog(row: LogRow): PreparedOtelRow {
  const ts = nanoTime(row.Timestamp, 'log', 'Timestamp');
  for (const field of ['TraceFlags', 'SeverityNumber'] as const) {
    const v = row[field];
    if (!Number.isInteger(v) || v < 0 || v > 255) throw invalid('log', field, 'an integer from 0 to 255');
  }
  const line = JSON.stringify({
    Timestamp: ts.text,
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
  return { line, tsMs: ts.ms };
}
