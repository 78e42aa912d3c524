import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { buildApp } from '../../../collector/app.js';
import { IngestTokens } from '../../../collector/ingest-auth.js';
import { IngestQueue, type QueueLimits } from '../../../collector/ingest-queue.js';
import protobuf from 'protobufjs';
import { createLogger } from '../../../common/log.js';
import { hashToken } from '../../../connector/relay/token-store.js';
import { auditEvents, MemoryStore, ndjson } from '../../helpers/collector-fixtures.js';

const TOKEN = 'tw_collector-test-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const NDJSON = { ...AUTH, 'content-type': 'application/x-ndjson' };

/** A second token, bound to the emitters conn-1 and conn-2 (collector.ingest_tokens[].emitters). */
const BOUND_TOKEN = 'tw_collector-bound-token';

async function collector(limits: Partial<QueueLimits> = {}, maxBodyBytes = 1_048_576): Promise<{ app: FastifyInstance; store: MemoryStore; queue: IngestQueue }> {
  const store = new MemoryStore();
  const log = createLogger({ name: 'collector', level: 'silent' });
  const queue = new IngestQueue({ maxRows: 10_000, maxBytes: 16_777_216, retryAfterS: 2, storeRetryAfterS: 7, ...limits }, store, log);
  const tokens = new IngestTokens([{ name: 'relay-1', sha256: hashToken(TOKEN) }, { name: 'connectors', sha256: hashToken(BOUND_TOKEN), emitters: ['conn-1', 'conn-2'] }]);
  const app = await buildApp({ store, queue, tokens, maxBodyBytes, log });
  return { app, store, queue };
}

/** google.rpc.Status decoded by hand-declared fields, independent of the collector's own .proto files. */
function otlpProtobufStatus(bytes: Buffer): { code: number; message: string } {
  const type = new protobuf.Type('Status').add(new protobuf.Field('code', 1, 'int32')).add(new protobuf.Field('message', 2, 'string'));
  return type.decode(bytes) as unknown as { code: number; message: string };
}

function spanRequest(): { protobuf: Buffer; json: Buffer } {
  const exporter = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('t');
  tracer.startSpan('a').end();
  tracer.startSpan('b').end();
  const spans = exporter.getFinishedSpans();
  return { protobuf: Buffer.from(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array), json: Buffer.from(JsonTraceSerializer.serializeRequest(spans) as Uint8Array) };
}

test('audit NDJSON is stored and acknowledged with accepted and duplicates', async () => {
  const { app, store } = await collector();
  const events = auditEvents(10);
  const first = await app.inject({ method: 'POST', url: '/v1/audit', headers: NDJSON, payload: ndjson(events) });
  assert.equal(first.statusCode, 200, first.body);
  assert.deepEqual(first.json(), { accepted: 10, duplicates: 0 });
  const again = await app.inject({ method: 'POST', url: '/v1/audit', headers: { ...NDJSON, 'content-encoding': 'gzip' }, payload: gzipSync(ndjson([...events.slice(5), ...events.slice(8)])) });
  assert.deepEqual(again.json(), { accepted: 7, duplicates: 7 });
  assert.equal(store.audit.size, 10);
});

test('one bad line refuses the whole audit batch with 400 naming the line', async () => {
  const { app, store } = await collector();
  const events = auditEvents(3) as unknown as Record<string, unknown>[];
  (events[2] as Record<string, unknown>).decision = 'perhaps';
  const r = await app.inject({ method: 'POST', url: '/v1/audit', headers: NDJSON, payload: ndjson(events) });
  assert.equal(r.statusCode, 400);
  assert.equal(r.headers['x-tunnel-error'], 'TW_ERR_INGEST_MALFORMED');
  const { error } = r.json() as { error: Record<string, unknown> };
  assert.equal(error.code, 'TW_ERR_INGEST_MALFORMED');
  assert.equal(error.line, 3);
  assert.match(String(error.reason), /field "decision": expected one of "allow", "deny" \(got "perhaps"\)/);
  assert.equal(store.audit.size, 0);
  assert.equal(store.inserts, 0);
});

test('an audit batch with bytes that are not UTF-8 is refused with 400 naming the line, not stored altered', async () => {
  const { app, store } = await collector();
  const events = auditEvents(3) as unknown as Record<string, unknown>[];
  (events[1] as Record<string, unknown>).path = '/caf-MARK';
  const body = Buffer.from(ndjson(events), 'utf8');
  const at = body.indexOf('MARK');
  body[at] = 0xff;
  const r = await app.inject({ method: 'POST', url: '/v1/audit', headers: NDJSON, payload: body });
  assert.equal(r.statusCode, 400, r.body);
  const { error } = r.json() as { error: Record<string, unknown> };
  assert.equal(error.line, 2);
  assert.match(String(error.reason), /not valid UTF-8/);
  assert.equal(store.audit.size, 0);
});

test('a token bound to emitters may send only in their names: one event of another refuses the batch with 403', async () => {
  const { app, store, queue } = await collector();
  const bound = { ...NDJSON, authorization: `Bearer ${BOUND_TOKEN}` };
  const own = await app.inject({ method: 'POST', url: '/v1/audit', headers: bound, payload: ndjson([...auditEvents(2, 'conn-1'), ...auditEvents(1, 'conn-2')]) });
  assert.equal(own.statusCode, 200, own.body);
  assert.equal(store.audit.size, 3);
  // Line 3 claims to be relay-9: nothing of the batch is stored.
  const mixed = [...auditEvents(2, 'conn-1'), ...auditEvents(1, 'relay-9')];
  const r = await app.inject({ method: 'POST', url: '/v1/audit', headers: bound, payload: ndjson(mixed) });
  assert.equal(r.statusCode, 403);
  assert.equal(r.headers['x-tunnel-error'], 'TW_ERR_INGEST_FORBIDDEN_EMITTER');
  const { error } = r.json() as { error: { code: string; reason: string } };
  assert.equal(error.code, 'TW_ERR_INGEST_FORBIDDEN_EMITTER');
  assert.match(error.reason, /^line 3: emitter "relay-9" is not one the token "connectors" may send for/);
  assert.doesNotMatch(r.body, new RegExp(BOUND_TOKEN));
  assert.ok(mixed.every((e) => !store.audit.has(e.event_id)));
  assert.equal(queue.stats().rejected_requests_total.forbidden_emitter, 1);
  // A token without emitters may send for any (the first token of this collector).
  const any = await app.inject({ method: 'POST', url: '/v1/audit', headers: NDJSON, payload: ndjson(mixed) });
  assert.equal(any.statusCode, 200, any.body);
});

test('ingest without a known bearer token gets 401, and the token is not echoed', async () => {
  const { app, store } = await collector();
  for (const headers of [{}, { authorization: 'Bearer wrong-token' }, { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` }]) {
    const r = await app.inject({ method: 'POST', url: '/v1/audit', headers: { ...headers, 'content-type': 'application/x-ndjson' }, payload: ndjson(auditEvents(1)) });
    assert.equal(r.statusCode, 401);
    assert.equal((r.json() as { error: { code: string } }).error.code, 'TW_ERR_INGEST_UNAUTHENTICATED');
    assert.doesNotMatch(r.body, /wrong-token/);
  }
  const otlp = await app.inject({ method: 'POST', url: '/v1/traces', headers: { 'content-type': 'application/x-protobuf' }, payload: spanRequest().protobuf });
  assert.equal(otlp.statusCode, 401);
  assert.equal(otlp.headers['content-type'], 'application/x-protobuf');
  assert.equal(store.inserts, 0);
});

test('OTLP protobuf and JSON are stored and answered in their own encoding', async () => {
  const { app, store } = await collector();
  const { protobuf, json } = spanRequest();
  const pb = await app.inject({ method: 'POST', url: '/v1/traces', headers: { ...AUTH, 'content-type': 'application/x-protobuf' }, payload: protobuf });
  assert.equal(pb.statusCode, 200);
  assert.equal(pb.headers['content-type'], 'application/x-protobuf');
  assert.equal(pb.rawPayload.length, 0, 'full success is an empty ExportTraceServiceResponse');
  const js = await app.inject({ method: 'POST', url: '/v1/traces', headers: { ...AUTH, 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'gzip' }, payload: gzipSync(json) });
  assert.equal(js.statusCode, 200);
  assert.match(String(js.headers['content-type']), /^application\/json/);
  assert.deepEqual(js.json(), {});
  assert.equal(store.spans.length, 4);
});

test('malformed OTLP gets 400 with a google.rpc.Status naming the reason, in the request encoding', async () => {
  const { app, store } = await collector();
  const js = await app.inject({ method: 'POST', url: '/v1/traces', headers: { ...AUTH, 'content-type': 'application/json' }, payload: '{"resourceSpans": [ {"scopeSpans": [}] }' });
  assert.equal(js.statusCode, 400);
  const jsonStatus = js.json() as { code: number; message: string };
  assert.equal(jsonStatus.code, 3);
  assert.match(jsonStatus.message, /^TW_ERR_INGEST_MALFORMED: not JSON: Unexpected token/);
  const pb = await app.inject({ method: 'POST', url: '/v1/logs', headers: { ...AUTH, 'content-type': 'application/x-protobuf' }, payload: Buffer.from([0x0a, 0xff, 0xff, 0x01]) });
  assert.equal(pb.statusCode, 400);
  assert.equal(pb.headers['content-type'], 'application/x-protobuf');
  const status = otlpProtobufStatus(pb.rawPayload);
  assert.equal(status.code, 3);
  assert.match(status.message, /^TW_ERR_INGEST_MALFORMED: not a protobuf ExportLogsServiceRequest/);
  assert.equal(store.inserts, 0);
});

test('partial success: spans without ids are dropped, the rest stored, and the answer says how many', async () => {
  const { app, store } = await collector();
  const body = { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', name: 'ok' }, { name: 'no ids' }] }] }] };
  const r = await app.inject({ method: 'POST', url: '/v1/traces', headers: { ...AUTH, 'content-type': 'application/json' }, payload: body });
  assert.equal(r.statusCode, 200);
  const { partialSuccess } = r.json() as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
  assert.equal(partialSuccess.rejectedSpans, '1');
  assert.match(partialSuccess.errorMessage, /spans\[1\]\.traceId/);
  assert.deepEqual(store.spans.map((s) => s.SpanName), ['ok']);
});

test('spans and logs older than the retention are not stored and are reported as partial success', async () => {
  const { app, store } = await collector();
  store.expireBeforeNs = 1_000_000_000_000_000_000n;
  const old = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', name: 'old', startTimeUnixNano: '5', endTimeUnixNano: '6' };
  const recent = { ...old, spanId: '00f067aa0ba902b8', name: 'recent', startTimeUnixNano: '1800000000000000000', endTimeUnixNano: '1800000000000000001' };
  const traces = await app.inject({ method: 'POST', url: '/v1/traces', headers: { ...AUTH, 'content-type': 'application/json' }, payload: { resourceSpans: [{ scopeSpans: [{ spans: [old, recent] }] }] } });
  assert.equal(traces.statusCode, 200);
  const t = traces.json() as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
  assert.equal(t.partialSuccess.rejectedSpans, '1');
  assert.match(t.partialSuccess.errorMessage, /older than the otel_traces retention/);
  const logs = await app.inject({ method: 'POST', url: '/v1/logs', headers: { ...AUTH, 'content-type': 'application/json' }, payload: { resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: '7', body: { stringValue: 'old' } }] }] }] } });
  assert.deepEqual(logs.json(), { partialSuccess: { rejectedLogRecords: '1', errorMessage: '1 log record(s) older than the otel_logs retention (store.retention_days.otel_logs) were not stored' } });
  assert.deepEqual(store.spans.map((s) => s.SpanName), ['recent']);
});

test('a batch with more rows than the whole queue gets 413, not an endless 429', async () => {
  const { app, store } = await collector({ maxRows: 5 });
  const r = await app.inject({ method: 'POST', url: '/v1/audit', headers: NDJSON, payload: ndjson(auditEvents(6)) });
  assert.equal(r.statusCode, 413);
  assert.match((r.json() as { error: { reason: string } }).error.reason, /exceed the whole ingest queue \(queue\.max_rows 5/);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/audit', headers: NDJSON, payload: ndjson(auditEvents(5)) })).statusCode, 200);
  assert.equal(store.audit.size, 5);
});

test('an unsupported content type or encoding gets 415', async () => {
  const { app } = await collector();
  const a = await app.inject({ method: 'POST', url: '/v1/traces', headers: { ...AUTH, 'content-type': 'text/plain' }, payload: 'x' });
  assert.equal(a.statusCode, 415);
  const b = await app.inject({ method: 'POST', url: '/v1/audit', headers: { ...AUTH, 'content-type': 'application/json' }, payload: '{}' });
  assert.equal(b.statusCode, 415);
  const c = await app.inject({ method: 'POST', url: '/v1/audit', headers: { ...NDJSON, 'content-encoding': 'br' }, payload: 'x' });
  assert.equal(c.statusCode, 415);
});

test('a body over the limit gets 413, as sent or after gunzip', async () => {
  const { app, store } = await collector({}, 4096);
  const big = ndjson(auditEvents(20));
  const r = await app.inject({ method: 'POST', url: '/v1/audit', headers: NDJSON, payload: big });
  assert.equal(r.statusCode, 413);
  assert.equal((r.json() as { error: { code: string } }).error.code, 'TW_ERR_INGEST_TOO_LARGE');
  const zipped = gzipSync(big);
  assert.ok(zipped.length < 4096);
  const z = await app.inject({ method: 'POST', url: '/v1/audit', headers: { ...NDJSON, 'content-encoding': 'gzip' }, payload: zipped });
  assert.equal(z.statusCode, 413);
  const bad = await app.inject({ method: 'POST', url: '/v1/audit', headers: { ...NDJSON, 'content-encoding': 'gzip' }, payload: 'not gzip' });
  assert.equal(bad.statusCode, 400);
  assert.equal(store.inserts, 0);
});

test('a full queue answers 429 with Retry-After, and accepts again once the store has committed', async () => {
  const { app, store, queue } = await collector({ maxRows: 10 });
  let release!: () => void;
  store.gate = new Promise<void>((resolve) => (release = resolve));
  const first = app.inject({ method: 'POST', url: '/v1/audit', headers: NDJSON, payload: ndjson(auditEvents(8)) });
  while (queue.stats().queued_rows === 0) await new Promise((r) => setTimeout(r, 5));
  const over = await app.inject({ method: 'POST', url: '/v1/audit', headers: NDJSON, payload: ndjson(auditEvents(5)) });
  assert.equal(over.statusCode, 429);
  assert.equal(over.headers['retry-after'], '2');
  assert.equal((over.json() as { error: { code: string } }).error.code, 'TW_ERR_INGEST_OVERLOADED');
  const second = app.inject({ method: 'POST', url: '/v1/audit', headers: NDJSON, payload: ndjson(auditEvents(2)) });
  while (queue.stats().queued_rows < 10) await new Promise((r) => setTimeout(r, 5));
  const full = await app.inject({ method: 'POST', url: '/v1/traces', headers: { ...AUTH, 'content-type': 'application/x-protobuf' }, payload: spanRequest().protobuf });
  assert.equal(full.statusCode, 429, 'a full queue refuses before reading the body');
  assert.equal(full.headers['retry-after'], '2');
  assert.equal(full.headers['content-type'], 'application/x-protobuf');
  release();
  assert.equal((await first).statusCode, 200);
  assert.equal((await second).statusCode, 200);
  store.gate = undefined;
  const after = await app.inject({ method: 'POST', url: '/v1/audit', headers: NDJSON, payload: ndjson(auditEvents(5)) });
  assert.equal(after.statusCode, 200);
  assert.equal(queue.stats().rejected_requests_total.overloaded, 2);
  assert.equal(store.audit.size, 15);
});

test('while the store is down ingest gets 503 with Retry-After, and readyz says not ready', async () => {
  const { app, store, queue } = await collector();
  store.up = false;
  const r = await app.inject({ method: 'POST', url: '/v1/audit', headers: NDJSON, payload: ndjson(auditEvents(2)) });
  assert.equal(r.statusCode, 503);
  assert.equal(r.headers['retry-after'], '7');
  const next = await app.inject({ method: 'POST', url: '/v1/traces', headers: { ...AUTH, 'content-type': 'application/x-protobuf' }, payload: spanRequest().protobuf });
  assert.equal(next.statusCode, 503, 'refused before the body is read');
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(ready.statusCode, 503);
  assert.equal(queue.stats().store_up, false);
  queue.close();
});

test('healthz reports the ingest counters without a token', async () => {
  const { app } = await collector();
  await app.inject({ method: 'POST', url: '/v1/audit', headers: NDJSON, payload: ndjson(auditEvents(3)) });
  const r = await app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(r.statusCode, 200);
  const body = r.json() as { status: string; ingest: { accepted_rows_total: { audit: number } } };
  assert.equal(body.status, 'ok');
  assert.equal(body.ingest.accepted_rows_total.audit, 3);
  assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
});

test('a store that commits one insert at a time is busy, not unreachable, even when its ping waits behind them', async () => {
  const { app, store } = await collector({ storeStallMs: 100, storePingTimeoutMs: 30 });
  // As the embedded engine runs one statement at a time: inserts commit in turn every 60 ms, and a
  // ping would only be answered after all of them (here: never).
  let tail = Promise.resolve();
  const commit = store.insertAudit.bind(store);
  store.insertAudit = (events) => {
    const turn = tail.then(() => new Promise<void>((r) => setTimeout(r, 60)));
    tail = turn;
    return turn.then(() => commit(events));
  };
  store.ping = () => new Promise<boolean>(() => {});
  const batches = Array.from({ length: 6 }, () => auditEvents(5));
  const answers = await Promise.all(batches.map((events) => app.inject({ method: 'POST', url: '/v1/audit', headers: NDJSON, payload: ndjson(events) })));
  assert.deepEqual(answers.map((r) => r.statusCode), [200, 200, 200, 200, 200, 200], 'the last request waited ~360 ms, past the 100 ms stall, and was not refused');
  assert.equal(store.audit.size, 30);
  // The same store with nothing committing any more is unreachable: 503 after the stall and the ping timeout.
  store.insertAudit = () => new Promise(() => {});
  const keepAlive = setInterval(() => {}, 50); // the queue's own timers are unref()ed
  const stuck = await app.inject({ method: 'POST', url: '/v1/audit', headers: NDJSON, payload: ndjson(auditEvents(1)) });
  clearInterval(keepAlive);
  assert.equal(stuck.statusCode, 503);
});
