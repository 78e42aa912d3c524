// ExportTraceServiceRequest -> otel_traces rows, as the OpenTelemetry Collector's ClickHouse exporter
// writes them (so Grafana's ClickHouse plugin and other OTel tools read our tables unchanged).
import type { AttributeMap, SpanRow } from '../ingest-store.js';
import type { SpanEventRow, SpanLinkRow } from '../store/otel-rows.js';
import { attributes, enumValue, list, message, resourceOf, scopeOf, str, u32, within, type Encoding } from './otlp-values.js';

const KIND_NAMES = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
/** The exporter's SpanKind column values (ptrace.SpanKind.String()). */
const KIND_COLUMN = ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'];
const STATUS_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];
/** The exporter's StatusCode column values (ptrace.StatusCode.String()). */
const STATUS_COLUMN = ['Unset', 'Ok', 'Error'];

const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

export interface MappedSpans {
  readonly rows: SpanRow[];
  /** Spans dropped because they cannot be stored (no valid trace or span id): the OTLP partial success. */
  readonly rejected: number;
  /** Why the first of them was dropped, with its path. */
  readonly rejection: string;
}

/** Throws OtlpFormatError for a body that is not an ExportTraceServiceRequest. */
export function spanRows(request: unknown, enc: Encoding): MappedSpans {
  const rows: SpanRow[] = [];
  let rejected = 0;
  let rejection = '';
  const resourceSpans = list(message(request)?.resourceSpans, 'resourceSpans');
  for (let r = 0; r < resourceSpans.length; r++) {
    try {
      const rs = message(resourceSpans[r]) ?? {};
      const { attributes: resourceAttributes, serviceName } = resourceOf(rs, enc);
      const scopeSpans = list(rs.scopeSpans, 'scopeSpans');
      for (let s = 0; s < scopeSpans.length; s++) {
        try {
          const ss = message(scopeSpans[s]) ?? {};
          const { name: scopeName, version: scopeVersion } = scopeOf(ss, enc, false);
          const spans = list(ss.spans, 'spans');
          for (let i = 0; i < spans.length; i++) {
            let row: SpanRow;
            try {
              row = spanRow(message(spans[i]) ?? {}, enc, serviceName, resourceAttributes, scopeName, scopeVersion);
            } catch (err) {
              within(err, 'spans', i);
            }
            const invalid = row.TraceId === '' || row.TraceId === ZERO_TRACE_ID ? 'traceId' : row.SpanId === '' || row.SpanId === ZERO_SPAN_ID ? 'spanId' : '';
            if (invalid) {
              if (rejected++ === 0) rejection = `resourceSpans[${r}].scopeSpans[${s}].spans[${i}].${invalid}: missing or all zeroes`;
              continue;
            }
            rows.push(row);
          }
        } catch (err) {
          within(err, 'scopeSpans', s);
        }
      }
    } catch (err) {
      within(err, 'resourceSpans', r);
    }
  }
  return { rows, rejected, rejection };
}

function spanRow(span: Record<string, unknown>, enc: Encoding, serviceName: string, resourceAttributes: AttributeMap, scopeName: string, scopeVersion: string): SpanRow {
  const start = enc.u64(span.startTimeUnixNano, 'startTimeUnixNano');
  const end = enc.u64(span.endTimeUnixNano, 'endTimeUnixNano');
  const status = message(span.status, 'status');
  let statusCode: number;
  let statusMessage: string;
  try {
    statusCode = enumValue(status?.code, 'code', STATUS_NAMES);
    statusMessage = str(status?.message, 'message');
  } catch (err) {
    within(err, 'status');
  }
  const kind = enumValue(span.kind, 'kind', KIND_NAMES);
  u32(span.flags, 'flags');

  const events: SpanEventRow[] = [];
  const spanEvents = list(span.events, 'events');
  for (let i = 0; i < spanEvents.length; i++) {
    try {
      const e = message(spanEvents[i]) ?? {};
      events.push({ Timestamp: enc.u64(e.timeUnixNano, 'timeUnixNano'), Name: str(e.name, 'name'), Attributes: attributes(e.attributes, enc, 'attributes') });
    } catch (err) {
      within(err, 'events', i);
    }
  }
  const links: SpanLinkRow[] = [];
  const spanLinks = list(span.links, 'links');
  for (let i = 0; i < spanLinks.length; i++) {
    try {
      const l = message(spanLinks[i]) ?? {};
      links.push({ TraceId: enc.id(l.traceId, 'traceId', 16), SpanId: enc.id(l.spanId, 'spanId', 8), TraceState: str(l.traceState, 'traceState'), Attributes: attributes(l.attributes, enc, 'attributes') });
    } catch (err) {
      within(err, 'links', i);
    }
  }

  return {
    Timestamp: start,
    TraceId: enc.id(span.traceId, 'traceId', 16),
    SpanId: enc.id(span.spanId, 'spanId', 8),
    ParentSpanId: enc.id(span.parentSpanId, 'parentSpanId', 8),
    TraceState: str(span.traceState, 'traceState'),
    SpanName: str(span.name, 'name'),
    SpanKind: KIND_COLUMN[kind] ?? String(kind),
    ServiceName: serviceName,
    ResourceAttributes: resourceAttributes,
    ScopeName: scopeName,
    ScopeVersion: scopeVersion,
    SpanAttributes: attributes(span.attributes, enc, 'attributes'),
    // A span that ends before it starts (clock step) gets 0 rather than a wrapped UInt64.
    Duration: end > start ? end - start : 0n,
    StatusCode: STATUS_COLUMN[statusCode] ?? String(statusCode),
    StatusMessage: statusMessage,
    Events: events,
    Links: links,
  };
}
