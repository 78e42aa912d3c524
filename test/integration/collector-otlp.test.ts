// The real OpenTelemetry JS SDK exports traces and logs, over OTLP/HTTP protobuf (gzip) and JSON, to a
// spawned `tunnelwatch collector`; the rows are then read back from its embedded store.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { context, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as OTLPLogExporterJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OTLPLogExporterProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as OTLPTraceExporterJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPTraceExporterProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { queryStore, startCollectorProcess, type CollectorProcess } from '../helpers/collector-process.js';

interface ExportOutcome {
  code: number;
  error?: Error;
}

/** Wraps an SDK exporter to keep what each export ended with (the SDK only reports failures to diag). */
function recording<E extends SpanExporter | LogRecordExporter>(exporter: E, outcomes: ExportOutcome[]): E {
  const original = exporter.export.bind(exporter) as (items: unknown[], done: (r: ExportOutcome) => void) => void;
  (exporter as { export: unknown }).export = (items: unknown[], done: (r: ExportOutcome) => void) =>
    original(items, (r) => {
      outcomes.push(r);
      done(r);
    });
  return exporter;
}

let collector: CollectorProcess;
const outcomes: ExportOutcome[] = [];
const traceIds: Record<'protobuf' | 'json', string> = { protobuf: '', json: '' };
const logTraceId = { value: '' };

before(async () => {
  collector = await startCollectorProcess();
  const headers = { Authorization: `Bearer ${collector.token}` };

  for (const encoding of ['protobuf', 'json'] as const) {
    const exporter = encoding === 'protobuf'
      ? new OTLPTraceExporterProto({ url: `${collector.url}/v1/traces`, headers, compression: 'gzip' as never })
      : new OTLPTraceExporterJson({ url: `${collector.url}/v1/traces`, headers });
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': `svc-${encoding}`, 'deployment.environment': 'test' }),
      spanProcessors: [new BatchSpanProcessor(recording(exporter, outcomes), { scheduledDelayMillis: 50 })],
    });
    const tracer = provider.getTracer('tunnelwatch.test', '1.0.0');
    const root = tracer.startSpan('GET /orders', { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, encoding } });
    const ctx = trace.setSpan(context.active(), root);
    const tunnel = tracer.startSpan('tunnel', { kind: SpanKind.CLIENT, attributes: { 'tw.subaccount': 'acme' } }, ctx);
    tunnel.addEvent('backend.connected', { 'tw.connect_us': 830 });
    const backend = tracer.startSpan('backend GET', { kind: SpanKind.CLIENT }, trace.setSpan(ctx, tunnel));
    backend.setStatus({ code: SpanStatusCode.ERROR, message: 'ECONNRESET' });
    backend.end();
    tunnel.end();
    root.end();
    traceIds[encoding] = root.spanContext().traceId;
    await provider.forceFlush();
    await provider.shutdown();
  }

  for (const encoding of ['protobuf', 'json'] as const) {
    const exporter = encoding === 'protobuf'
      ? new OTLPLogExporterProto({ url: `${collector.url}/v1/logs`, headers })
      : new OTLPLogExporterJson({ url: `${collector.url}/v1/logs`, headers, compression: 'gzip' as never });
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': `logs-${encoding}` }),
      processors: [new BatchLogRecordProcessor({ exporter: recording(exporter, outcomes), scheduledDelayMillis: 50 })],
    });
    const span = new BasicTracerProvider().getTracer('t').startSpan('with-log');
    logTraceId.value = span.spanContext().traceId;
    const logger = provider.getLogger('tunnelwatch.test');
    logger.emit({ severityNumber: SeverityNumber.ERROR, severityText: 'ERROR', body: `backend unreachable (${encoding})`, attributes: { 'tw.backend': 'erp:8000' }, context: trace.setSpan(context.active(), span) });
    logger.emit({ severityNumber: SeverityNumber.INFO, body: { encoding, n: 2 } });
    await provider.forceFlush();
    await provider.shutdown();
  }
  await collector.stop();
});

after(async () => {
  await collector?.stop();
});

test('every SDK export was acknowledged with success', () => {
  assert.equal(outcomes.length, 4);
  for (const o of outcomes) assert.equal(o.code, 0, o.error?.message);
});

for (const encoding of ['protobuf', 'json'] as const) {
  test(`spans exported as OTLP ${encoding} are stored with their trace id, names, parents and attributes`, async () => {
    const [rows] = await queryStore<Record<string, unknown>>(collector.dataDir, [{
      sql: `SELECT SpanName, SpanId, ParentSpanId, SpanKind, ServiceName, ScopeName, ScopeVersion, StatusCode, StatusMessage,
              SpanAttributes, ResourceAttributes, Events.Name AS EventNames, Events.Attributes AS EventAttributes, Duration
            FROM otel_traces WHERE TraceId = {id:String} ORDER BY Timestamp, SpanName`,
      params: { id: traceIds[encoding] },
    }]);
    assert.ok(rows);
    const byName = new Map(rows.map((r) => [r.SpanName as string, r]));
    assert.deepEqual([...byName.keys()].sort(), ['GET /orders', 'backend GET', 'tunnel']);
    const root = byName.get('GET /orders') as Record<string, unknown>;
    const tunnel = byName.get('tunnel') as Record<string, unknown>;
    const backend = byName.get('backend GET') as Record<string, unknown>;
    assert.equal(root.ParentSpanId, '');
    assert.equal(tunnel.ParentSpanId, root.SpanId);
    assert.equal(backend.ParentSpanId, tunnel.SpanId);
    assert.equal(root.SpanKind, 'Server');
    assert.equal(tunnel.SpanKind, 'Client');
    assert.equal(backend.StatusCode, 'Error');
    assert.equal(backend.StatusMessage, 'ECONNRESET');
    assert.equal(root.ServiceName, `svc-${encoding}`);
    assert.equal(root.ScopeName, 'tunnelwatch.test');
    assert.equal(root.ScopeVersion, '1.0.0');
    assert.deepEqual(root.SpanAttributes, { 'http.request.method': 'GET', 'http.response.status_code': '200', encoding });
    assert.equal((root.ResourceAttributes as Record<string, string>)['deployment.environment'], 'test');
    assert.deepEqual(tunnel.EventNames, ['backend.connected']);
    assert.deepEqual(tunnel.EventAttributes, [{ 'tw.connect_us': '830' }]);
    assert.ok(Number(root.Duration) > 0);
  });
}

test('log records exported as OTLP protobuf and JSON are stored with severity, body and trace context', async () => {
  const [rows] = await queryStore<Record<string, unknown>>(collector.dataDir, [{
    sql: 'SELECT ServiceName, SeverityText, SeverityNumber, Body, TraceId, SpanId, LogAttributes, ScopeName FROM otel_logs ORDER BY ServiceName, SeverityNumber',
  }]);
  assert.ok(rows);
  assert.equal(rows.length, 4);
  const errors = rows.filter((r) => r.SeverityText === 'ERROR');
  assert.deepEqual(errors.map((r) => r.Body).sort(), ['backend unreachable (json)', 'backend unreachable (protobuf)']);
  for (const r of errors) {
    assert.equal(r.SeverityNumber, 17);
    assert.match(String(r.TraceId), /^[0-9a-f]{32}$/);
    assert.deepEqual(r.LogAttributes, { 'tw.backend': 'erp:8000' });
    assert.equal(r.ScopeName, 'tunnelwatch.test');
  }
  assert.ok(rows.some((r) => r.TraceId === logTraceId.value));
  const structured = rows.filter((r) => r.SeverityNumber === 9).map((r) => JSON.parse(String(r.Body)) as unknown);
  assert.deepEqual(structured.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))), [{ encoding: 'json', n: 2 }, { encoding: 'protobuf', n: 2 }]);
});
