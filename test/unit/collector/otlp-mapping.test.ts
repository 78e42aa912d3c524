import assert from 'node:assert/strict';
import { test } from 'node:test';
import { context, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { JsonLogsSerializer, JsonTraceSerializer, ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { logRows } from '../../../collector/otlp/log-rows.js';
import { otlpProtobuf } from '../../../collector/otlp/otlp-protobuf.js';
import { JSON_ENCODING, OtlpFormatError, PROTOBUF } from '../../../collector/otlp/otlp-values.js';
import { spanRows } from '../../../collector/otlp/span-rows.js';

/** Rows as plain data (null-prototype maps become objects, bigints stay bigints), for deepEqual. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));
}

const resource = resourceFromAttributes({ 'service.name': 'relay', 'service.instance.id': 'r1', 'host.cpus': 2 });

function sdkSpans(): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('tunnelwatch.relay', '0.1.0');
  const parent = tracer.startSpan('GET /items', {
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, 'tw.ratio': 0.25, 'tw.ok': true, 'tw.tags': ['a', 'b'], 'tw.big': 2 ** 60 },
  });
  const child = tracer.startSpan('tunnel', { kind: SpanKind.CLIENT, links: [{ context: parent.spanContext(), attributes: { why: 'retry' } }] }, trace.setSpan(context.active(), parent));
  child.addEvent('backend.first_byte', { 'tw.ttfb_us': 1234 });
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'backend reset' });
  child.end();
  parent.end();
  return exporter.getFinishedSpans();
}

function bothEncodings(spans: ReadableSpan[]) {
  const pb = spanRows(otlpProtobuf().decodeTraces(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array), PROTOBUF);
  const json = spanRows(JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(spans) as Uint8Array).toString('utf8')), JSON_ENCODING);
  return { pb, json };
}

test('spans from the OpenTelemetry SDK map to the same rows from protobuf and from JSON', () => {
  const { pb, json } = bothEncodings(sdkSpans());
  assert.equal(pb.rows.length, 2);
  assert.deepEqual(plain(pb.rows), plain(json.rows));
});

test('span rows have the exporter columns: hex ids, parent, kind and status names, attributes as strings', () => {
  const spans = sdkSpans();
  const { pb } = bothEncodings(spans);
  const child = pb.rows.find((r) => r.SpanName === 'tunnel');
  const parent = pb.rows.find((r) => r.SpanName === 'GET /items');
  assert.ok(child && parent);
  assert.match(parent.TraceId, /^[0-9a-f]{32}$/);
  assert.equal(child.TraceId, parent.TraceId);
  assert.equal(child.ParentSpanId, parent.SpanId);
  assert.equal(parent.ParentSpanId, '');
  assert.equal(parent.SpanKind, 'Server');
  assert.equal(child.SpanKind, 'Client');
  assert.equal(child.StatusCode, 'Error');
  assert.equal(child.StatusMessage, 'backend reset');
  assert.equal(parent.StatusCode, 'Unset');
  assert.equal(parent.ServiceName, 'relay');
  assert.deepEqual({ ...parent.ResourceAttributes }, { 'service.name': 'relay', 'service.instance.id': 'r1', 'host.cpus': '2' });
  assert.equal(parent.ScopeName, 'tunnelwatch.relay');
  assert.equal(parent.ScopeVersion, '0.1.0');
  assert.deepEqual({ ...parent.SpanAttributes }, {
    'http.request.method': 'GET', 'http.response.status_code': '200', 'tw.ratio': '0.25', 'tw.ok': 'true', 'tw.tags': '["a","b"]', 'tw.big': String(2n ** 60n),
  });
  assert.deepEqual(child.Events.map((e) => e.Name), ['backend.first_byte']);
  assert.deepEqual({ ...child.Events[0]?.Attributes }, { 'tw.ttfb_us': '1234' });
  assert.equal(typeof child.Events[0]?.Timestamp, 'bigint');
  assert.deepEqual(child.Links.map((l) => [l.TraceId, l.SpanId]), [[parent.TraceId, parent.SpanId]]);
  assert.deepEqual({ ...child.Links[0]?.Attributes }, { why: 'retry' });
  const span = spans.find((s) => s.name === 'GET /items') as ReadableSpan;
  const startNs = BigInt(span.startTime[0]) * 1_000_000_000n + BigInt(span.startTime[1]);
  const endNs = BigInt(span.endTime[0]) * 1_000_000_000n + BigInt(span.endTime[1]);
  assert.equal(parent.Timestamp, startNs, 'nanoseconds kept exactly, beyond what a double holds');
  assert.equal(parent.Duration, endNs - startNs);
});

test('a JSON span without trace id or with an all-zero span id is dropped and reported as partial success', () => {
  const body = {
    resourceSpans: [{ scopeSpans: [{ spans: [
      { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', name: 'ok', startTimeUnixNano: '1', endTimeUnixNano: '2' },
      { spanId: '00f067aa0ba902b7', name: 'no trace id' },
      { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '0000000000000000', name: 'zero span id' },
    ] }] }],
  };
  const r = spanRows(body, JSON_ENCODING);
  assert.deepEqual(r.rows.map((x) => x.SpanName), ['ok']);
  assert.equal(r.rejected, 2);
  assert.equal(r.rejection, 'resourceSpans[0].scopeSpans[0].spans[1].traceId: missing or all zeroes');
});

function formatError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof OtlpFormatError, String(err));
    return err.describe();
  }
  assert.fail('expected an OtlpFormatError');
}

test('JSON that is not an OTLP request is refused with the path of the bad field', () => {
  const span = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', name: 'x' };
  const wrap = (s: object) => ({ resourceSpans: [{ scopeSpans: [{}, { spans: [span, s] }] }] });
  assert.equal(formatError(() => spanRows([], JSON_ENCODING)), 'expected an object, got an array');
  assert.equal(formatError(() => spanRows({ resourceSpans: {} }, JSON_ENCODING)), 'resourceSpans: expected an array, got an object');
  assert.match(formatError(() => spanRows(wrap({ ...span, traceId: 'S/kvNXezTaajzpKdDg5HNg==' }), JSON_ENCODING)),
    /^resourceSpans\[0\]\.scopeSpans\[1\]\.spans\[1\]\.traceId: expected 32 hex digits \(OTLP\/JSON ids are hex, not base64\)/);
  assert.match(formatError(() => spanRows(wrap({ ...span, startTimeUnixNano: 'yesterday' }), JSON_ENCODING)), /spans\[1\]\.startTimeUnixNano: expected an unsigned 64-bit integer/);
  assert.match(formatError(() => spanRows(wrap({ ...span, kind: 'server' }), JSON_ENCODING)), /spans\[1\]\.kind: expected an enum value as an integer/);
  assert.match(formatError(() => spanRows(wrap({ ...span, attributes: [{ key: 'k', value: { intValue: 'many' } }] }), JSON_ENCODING)), /spans\[1\]\.attributes\[0\]\.value\.intValue: expected a 64-bit integer/);
  assert.match(formatError(() => spanRows(wrap({ ...span, name: 7 }), JSON_ENCODING)), /spans\[1\]\.name: expected a string, got number 7/);
});

test('OTLP/JSON enum names and integer strings are accepted as the OTel Collector accepts them', () => {
  const span = { traceId: '4BF92F3577B34DA6A3CE929D0E0E4736', spanId: '00f067aa0ba902b7', kind: 'SPAN_KIND_CLIENT', status: { code: '2' }, startTimeUnixNano: 1000 };
  const [row] = spanRows({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] }, JSON_ENCODING).rows;
  assert.equal(row?.SpanKind, 'Client');
  assert.equal(row?.StatusCode, 'Error');
  assert.equal(row?.TraceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(row?.Timestamp, 1000n);
});

test('nested attribute values render as JSON, bytes as base64', () => {
  const value = { kvlistValue: { values: [{ key: 'a', value: { arrayValue: { values: [{ intValue: '1' }, { doubleValue: 'NaN' }, { boolValue: false }] } } }, { key: 'b', value: {} }] } };
  const span = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', attributes: [{ key: 'm', value }, { key: 'bin', value: { bytesValue: 'AAEC' } }] };
  const [row] = spanRows({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] }, JSON_ENCODING).rows;
  assert.equal(row?.SpanAttributes.m, '{"a":[1,"NaN",false],"b":null}');
  assert.equal(row?.SpanAttributes.bin, 'AAEC');
});

test('an attribute named __proto__ is stored as data', () => {
  const span = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', attributes: [{ key: '__proto__', value: { stringValue: 'x' } }] };
  const [row] = spanRows(JSON.parse(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] })), JSON_ENCODING).rows;
  assert.equal(Object.keys(row?.SpanAttributes ?? {}).join(), '__proto__');
  assert.equal(JSON.stringify(row?.SpanAttributes), '{"__proto__":"x"}');
});

test('protobuf bytes that are not an ExportTraceServiceRequest are refused', () => {
  assert.throws(() => otlpProtobuf().decodeTraces(Buffer.from('this is not protobuf at all')), (err: unknown) => err instanceof OtlpFormatError && /not a protobuf ExportTraceServiceRequest/.test(err.message));
});

test('protobuf ids of the wrong length are refused', () => {
  // field 1 (resource_spans) > field 2 (scope_spans) > field 2 (spans) > field 1 (trace_id), 3 bytes.
  const span = Buffer.from([0x0a, 0x03, 1, 2, 3]);
  const scopeSpans = Buffer.concat([Buffer.from([0x12, span.length]), span]);
  const resourceSpans = Buffer.concat([Buffer.from([0x12, scopeSpans.length]), scopeSpans]);
  const body = Buffer.concat([Buffer.from([0x0a, resourceSpans.length]), resourceSpans]);
  assert.equal(formatError(() => spanRows(otlpProtobuf().decodeTraces(body), PROTOBUF)), 'resourceSpans[0].scopeSpans[0].spans[0].traceId: expected 16 bytes, got 3');
});

test('log records from the OpenTelemetry SDK map to the same rows from protobuf and from JSON', () => {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter })] });
  const logger = provider.getLogger('tunnelwatch.collector', '0.1.0');
  const span = new BasicTracerProvider().getTracer('t').startSpan('s');
  logger.emit({
    severityNumber: SeverityNumber.WARN, severityText: 'WARN', body: 'store slow', attributes: { 'tw.ms': 1500 },
    context: trace.setSpan(context.active(), span), eventName: 'store.slow',
  });
  logger.emit({ body: { structured: ['a', 1] } });
  const records = exporter.getFinishedLogRecords();
  const now = 1_800_000_000_000_000_000n;
  const pb = logRows(otlpProtobuf().decodeLogs(ProtobufLogsSerializer.serializeRequest(records) as Uint8Array), PROTOBUF, now);
  const json = logRows(JSON.parse(Buffer.from(JsonLogsSerializer.serializeRequest(records) as Uint8Array).toString('utf8')), JSON_ENCODING, now);
  assert.deepEqual(plain(pb), plain(json));
  const [warn, structured] = pb;
  assert.equal(warn?.Body, 'store slow');
  assert.equal(warn?.SeverityNumber, 13);
  assert.equal(warn?.SeverityText, 'WARN');
  assert.equal(warn?.TraceId, span.spanContext().traceId);
  assert.equal(warn?.SpanId, span.spanContext().spanId);
  assert.equal(warn?.TraceFlags, 1);
  assert.equal(warn?.ServiceName, 'relay');
  assert.equal(warn?.ScopeName, 'tunnelwatch.collector');
  assert.equal(warn?.LogAttributes['tw.ms'], '1500');
  assert.equal(warn?.EventName, 'store.slow');
  assert.equal(structured?.Body, '{"structured":["a",1]}');
  assert.equal(structured?.TraceId, '');
});

test('a log record without any time gets the time it was received', () => {
  const rows = logRows({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'x' } }] }] }] }, JSON_ENCODING, 1_800_000_000_123_000_000n);
  assert.equal(rows[0]?.Timestamp, 1_800_000_000_123_000_000n);
});
