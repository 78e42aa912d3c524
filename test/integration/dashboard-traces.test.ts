// The trace API: spans from otel_traces as a waterfall (tree order, parents, offsets, durations), the
// latency phases from the relay's and connector's span attributes, the audit events of the trace, and
// its scope rules. Then one real call through relay and connector, read back through the API.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent } from '../../common/audit/event.js';
import { uuidv7 } from '../../common/ids.js';
import { openStore } from '../../collector/store/open-store.js';
import type { SpanRow } from '../../collector/store/otel-rows.js';
import type { Store } from '../../collector/store/store.js';
import { trafficEvents } from '../helpers/audit-traffic.js';
import { startCollectorProcess, type CollectorProcess } from '../helpers/collector-process.js';
import { bearer, openTestStore, testDashboard, type TestDashboard, type TestStore } from '../helpers/dashboard.js';
import { run } from '../helpers/processes.js';
import { startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

interface Span {
  span_id: string; parent_span_id: string; depth: number; name: string; service: string; service_instance: string; kind: string;
  start: string; start_offset_us: number; duration_us: number; status_code: string; attributes: Record<string, string>;
  events: { name: string; offset_us: number; attributes: Record<string, string> }[];
}
interface Phase { phase: string; duration_us: number; span_id: string; start_offset_us: number }
interface Trace { trace_id: string; start: string; duration_us: number; spans: Span[]; phases: Phase[]; audit_events: AuditEvent[]; subaccounts: string[] }

const hex = (n: number, c: string): string => c.repeat(n);
const TRACE_ACME = 'a1'.repeat(16);
const TRACE_GLOBEX = 'b2'.repeat(16);
const TRACE_SPANS_ONLY = 'c3'.repeat(16);
const TRACE_SHARED = 'd4'.repeat(16);
/** The trace's first span starts here (Unix ns, with sub-millisecond digits). */
const T0 = BigInt(Date.now() - 10 * 60_000) * 1_000_000n + 123_456n;
const US = 1000n;

function span(traceId: string, spanId: string, parent: string, service: string, kind: string, startUs: bigint, durationUs: bigint, attrs: Record<string, string>, events: SpanRow['Events'] = []): SpanRow {
  return {
    Timestamp: T0 + startUs * US, TraceId: traceId, SpanId: spanId, ParentSpanId: parent, TraceState: '', SpanName: 'GET', SpanKind: kind,
    ServiceName: service, ResourceAttributes: { 'service.name': service, 'service.instance.id': `${service}-1` }, ScopeName: 'tunnelwatch', ScopeVersion: '0.1.0',
    SpanAttributes: attrs, Duration: durationUs * US, StatusCode: 'Unset', StatusMessage: '', Events: events, Links: [],
  };
}

/** Relay -> connector -> backend client, as relay and connector emit them (docs/tracing.md). */
function callSpans(traceId: string, prefix: string, subaccount: string, offsetUs = 0n): SpanRow[] {
  const relay = `${prefix}01`.padEnd(16, '0');
  const server = `${prefix}02`.padEnd(16, '0');
  const client = `${prefix}03`.padEnd(16, '0');
  return [
    // Stored out of order on purpose: the API orders them.
    span(traceId, client, server, 'tunnelwatch-connector', 'Client', offsetUs + 1500n, 8000n, { 'tunnelwatch.phase.backend_connect_us': '400', 'tunnelwatch.phase.backend_ttfb_us': '5000', 'server.address': '10.0.0.5' },
      [{ Timestamp: T0 + (offsetUs + 6900n) * US, Name: 'first byte', Attributes: { note: 'x' } }]),
    span(traceId, relay, hex(16, 'e'), 'tunnelwatch-relay', 'Server', offsetUs, 12_000n, { 'tunnelwatch.subaccount': subaccount, 'tunnelwatch.emitter': 'relay', 'tunnelwatch.phase.relay_us': '300' }),
    span(traceId, server, relay, 'tunnelwatch-connector', 'Server', offsetUs + 800n, 10_000n, { 'tunnelwatch.subaccount': subaccount, 'tunnelwatch.emitter': 'connector', 'tunnelwatch.phase.tunnel_us': '800' }),
  ];
}

function auditFor(base: AuditEvent, traceId: string, subaccount: string, spanId: string): AuditEvent {
  return { ...base, event_id: uuidv7(), subaccount, trace_id: traceId, span_id: spanId, duration_us: 10_000, backend_connect_us: 400, backend_ttfb_us: 5000, ts: new Date(Number(T0 / 1_000_000n)).toISOString() };
}

async function getTrace(dash: TestDashboard, traceId: string, token = 'analyst') {
  return dash.app.inject({ method: 'GET', url: `/api/v1/traces/${traceId}`, headers: bearer(token) });
}

describe('trace API', () => {
  let ts: TestStore;
  let dash: TestDashboard;
  let acmeEvent: AuditEvent;
  let sharedEvents: AuditEvent[];

  before(async () => {
    ts = await openTestStore();
    dash = await testDashboard(ts.store);
    const [base] = trafficEvents({ count: 1, from: new Date(Date.now() - 3_600_000), to: new Date(), seed: 3 });
    assert.ok(base);
    acmeEvent = auditFor(base, TRACE_ACME, 'acme', 'a002000000000000');
    sharedEvents = [auditFor(base, TRACE_SHARED, 'acme', 'd402000000000000'), auditFor(base, TRACE_SHARED, 'globex', 'd502000000000000')];
    await ts.store.insertSpans([
      ...callSpans(TRACE_ACME, 'a0', 'acme'),
      ...callSpans(TRACE_GLOBEX, 'b0', 'globex'),
      ...callSpans(TRACE_SPANS_ONLY, 'c0', 'initech'),
      // A globex app reused acme's trace id: its spans start 20 ms earlier.
      ...callSpans(TRACE_SHARED, 'd4', 'acme', 20_000n),
      ...callSpans(TRACE_SHARED, 'd5', 'globex'),
    ]);
    await ts.store.insertAuditEvents([acmeEvent, auditFor(base, TRACE_GLOBEX, 'globex', 'b002000000000000'), ...sharedEvents]);
  });
  after(async () => {
    await dash?.app.close();
    await ts?.close();
  });

  test('spans come as a waterfall: parents first, offsets and durations in µs, with the phases and the audit event', async () => {
    const r = await getTrace(dash, TRACE_ACME);
    assert.equal(r.statusCode, 200, r.body);
    const t = r.json<Trace>();
    assert.equal(t.trace_id, TRACE_ACME);
    assert.deepEqual(t.spans.map((s) => [s.span_id, s.parent_span_id, s.depth, s.service, s.kind]), [
      ['a001000000000000', 'eeeeeeeeeeeeeeee', 0, 'tunnelwatch-relay', 'Server'],
      ['a002000000000000', 'a001000000000000', 1, 'tunnelwatch-connector', 'Server'],
      ['a003000000000000', 'a002000000000000', 2, 'tunnelwatch-connector', 'Client'],
    ]);
    assert.deepEqual(t.spans.map((s) => s.start_offset_us), [0, 800, 1500]);
    assert.deepEqual(t.spans.map((s) => s.duration_us), [12_000, 10_000, 8000]);
    assert.equal(t.duration_us, 12_000);
    assert.equal(t.spans[0]?.start, `${new Date(Number(T0 / 1_000_000n)).toISOString().slice(0, 19)}.${(T0 % 1_000_000_000n).toString().padStart(9, '0')}Z`);
    assert.equal(t.start, t.spans[0]?.start);
    assert.equal(t.spans[0]?.service_instance, 'tunnelwatch-relay-1');
    assert.deepEqual(t.spans[2]?.events.map((e) => [e.name, e.offset_us, e.attributes.note]), [['first byte', 6900, 'x']]);
    assert.equal(t.spans[1]?.attributes['tunnelwatch.subaccount'], 'acme');
    assert.deepEqual(t.phases.map((p) => [p.phase, p.duration_us, p.start_offset_us, p.span_id]), [
      ['relay', 300, 0, 'a001000000000000'],
      ['tunnel', 800, 0, 'a002000000000000'],
      ['backend_connect', 400, 1500, 'a003000000000000'],
      ['backend_ttfb', 5000, 1900, 'a003000000000000'],
    ]);
    assert.deepEqual(t.audit_events, [acmeEvent]);
    assert.deepEqual(t.subaccounts, ['acme']);
    // Upper-case hex names the same trace.
    assert.equal((await getTrace(dash, TRACE_ACME.toUpperCase())).json<Trace>().spans.length, 3);
  });

  test('unknown traces are 404 and malformed ids 400; viewers may not read traces', async () => {
    assert.equal((await getTrace(dash, 'f'.repeat(32))).statusCode, 404);
    for (const bad of ['xyz', 'a'.repeat(31), 'a'.repeat(33), `${'g'.repeat(32)}`]) {
      const r = await getTrace(dash, bad);
      assert.equal(r.statusCode, 400, bad);
      assert.equal(r.json<{ error: { code: string } }>().error.code, 'TW_ERR_DASH_BAD_REQUEST');
    }
    assert.equal((await getTrace(dash, TRACE_ACME, 'viewer')).statusCode, 403);
    assert.equal((await dash.app.inject({ method: 'GET', url: `/api/v1/traces/${TRACE_ACME}` })).statusCode, 401);
  });

  test('scope: other tenants\' traces are 404, spans without audit events only for unscoped principals', async () => {
    assert.equal((await getTrace(dash, TRACE_ACME, 'analyst@acme')).statusCode, 200);
    assert.equal((await getTrace(dash, TRACE_GLOBEX, 'analyst@acme')).statusCode, 404);
    assert.equal((await getTrace(dash, TRACE_GLOBEX)).statusCode, 200);
    assert.equal((await getTrace(dash, TRACE_SPANS_ONLY, 'analyst@acme')).statusCode, 404);
    const unscoped = await getTrace(dash, TRACE_SPANS_ONLY);
    assert.equal(unscoped.statusCode, 200);
    assert.equal(unscoped.json<Trace>().spans.length, 3);
    assert.deepEqual(unscoped.json<Trace>().audit_events, []);
  });

  test('a trace id reused across tenants shows a scoped analyst only its own spans and events', async () => {
    const all = (await getTrace(dash, TRACE_SHARED)).json<Trace>();
    assert.equal(all.spans.length, 6);
    assert.equal(all.audit_events.length, 2);
    assert.deepEqual(all.subaccounts, ['acme', 'globex']);
    assert.equal(all.spans.find((s) => s.span_id === 'd401000000000000')?.start_offset_us, 20_000);

    const acme = (await getTrace(dash, TRACE_SHARED, 'analyst@acme')).json<Trace>();
    assert.deepEqual(acme.spans.map((s) => s.span_id), ['d401000000000000', 'd402000000000000', 'd403000000000000'], 'the backend span (no subaccount attribute) follows its acme parent');
    assert.deepEqual(acme.spans.map((s) => s.start_offset_us), [0, 800, 1500], 'offsets from the first visible span');
    assert.deepEqual(acme.audit_events, [sharedEvents[0]]);
    assert.deepEqual(acme.subaccounts, ['acme']);
  });
});

describe('trace API on a real call through relay and connector', () => {
  const TOKEN = 'tw_test_trace_token_0123456789';
  const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
  let backend: http.Server;
  let collector: CollectorProcess;
  let stack: TunnelStack;
  let store: Store;
  let dash: TestDashboard;

  before(async () => {
    backend = http.createServer((_req, res) => res.end('{"ok":true}'));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const port = (backend.address() as AddressInfo).port;
    collector = await startCollectorProcess();
    const tokenFile = join(collector.dir, 'ingest.token');
    await writeFile(tokenFile, collector.token);
    const telemetry = (id: string) => ({
      audit: { dir: `audit/${id}`, collector: { url: collector.url, token_file: tokenFile, flush_interval_ms: 50 } },
      tracing: { enabled: true, otlp_endpoint: collector.url, token_file: tokenFile, batch_delay_ms: 50 },
    });
    stack = await startTunnelStack({
      tokens: [{ subaccount: 'acme', cloudApp: 'portal', token: TOKEN }],
      relayExtra: telemetry('relay-1'),
      connectors: [{
        id: 'connector-1',
        subaccounts: { acme: { mappings: [{ virtual: 'erp.virtual:8000', internal: `127.0.0.1:${port}`, protocol: 'http', resources: [{ id: 'orders', path: '/api/orders' }] }] } },
        extra: telemetry('connector-1'),
      }],
    });
    const r = await run('curl', ['-s', '-x', `http://127.0.0.1:${stack.proxyPort}`, '--proxy-header', `Proxy-Authorization: Bearer ${TOKEN}`,
      '-H', `traceparent: 00-${TRACE_ID}-00f067aa0ba902b7-01`, 'http://erp.virtual:8000/api/orders/7'], { timeoutMs: 15_000 });
    assert.equal(r.stdout, '{"ok":true}');
    await stack.waitForAudit('connector-1', 1);
    await stack.waitForShipped('connector-1');
    await new Promise((res) => setTimeout(res, 300)); // spans: batch_delay_ms is 50
    await stack.stop();
    await collector.stop();
    // chDB: one process per data directory, so the dashboard reads the collector's store once it stopped.
    store = await openStore({ dataDir: collector.dataDir });
    dash = await testDashboard(store);
  });
  after(async () => {
    await dash?.app.close();
    await store?.close();
    await stack?.stop();
    await collector?.stop();
    await new Promise((r) => backend?.close(r));
    if (collector) await rm(collector.dir, { recursive: true, force: true });
  });

  test('the waterfall holds the relay, connector and backend spans with their real phases', async () => {
    const r = await getTrace(dash, TRACE_ID, 'analyst@acme');
    assert.equal(r.statusCode, 200, r.body);
    const t = r.json<Trace>();
    assert.deepEqual(t.spans.map((s) => [s.service, s.kind, s.depth]), [
      ['tunnelwatch-relay', 'Server', 0],
      ['tunnelwatch-connector', 'Server', 1],
      ['tunnelwatch-connector', 'Client', 2],
    ]);
    const [relay, server, client] = t.spans as [Span, Span, Span];
    assert.equal(relay.parent_span_id, '00f067aa0ba902b7', 'continues the cloud app span');
    assert.equal(server.parent_span_id, relay.span_id);
    assert.equal(client.parent_span_id, server.span_id);
    assert.ok(server.start_offset_us >= 0 && client.start_offset_us >= server.start_offset_us);
    assert.ok(relay.duration_us > 0 && client.duration_us > 0 && client.duration_us <= relay.duration_us);
    assert.deepEqual(t.phases.map((p) => p.phase).sort(), ['backend_connect', 'backend_ttfb', 'relay', 'tunnel']);
    const [event] = t.audit_events;
    assert.equal(t.audit_events.length, 1);
    assert.equal(event?.span_id, server.span_id);
    assert.equal(event?.path, '/api/orders/7');
    const ttfb = t.phases.find((p) => p.phase === 'backend_ttfb');
    assert.equal(ttfb?.duration_us, event?.backend_ttfb_us, 'the span phase and the audit event agree');
    assert.equal(ttfb?.span_id, client.span_id);
  });
});
