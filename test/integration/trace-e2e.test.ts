// One call from curl with a traceparent: one trace in the store with spans from the relay, the connector
// and its backend client span, and the backend saw the cloud app's trace id. The audit event is stored too.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { queryStore, startCollectorProcess, type CollectorProcess } from '../helpers/collector-process.js';
import { run } from '../helpers/processes.js';
import { startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

const TOKEN = 'tw_test_trace_token_0123456789';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

let backend: http.Server;
let seen: { traceparent: string; path: string }[] = [];
let collector: CollectorProcess;
let stack: TunnelStack;

interface SpanRow {
  SpanId: string;
  ParentSpanId: string;
  ServiceName: string;
  SpanKind: string;
  SpanName: string;
  attrs: Record<string, string>;
}

describe('a traced call end to end', () => {
  before(async () => {
    backend = http.createServer((req, res) => {
      seen.push({ traceparent: String(req.headers.traceparent ?? ''), path: req.url ?? '' });
      res.end('{"ok":true}');
    });
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
  });
  after(async () => {
    await stack?.stop();
    await collector?.stop();
    await new Promise((r) => backend?.close(r));
  });

  test('the backend gets the cloud app trace id, and the store holds the whole trace and the audit event', async () => {
    seen = [];
    const r = await run('curl', ['-s', '-x', `http://127.0.0.1:${stack.proxyPort}`, '--proxy-header', `Proxy-Authorization: Bearer ${TOKEN}`,
      '-H', `traceparent: 00-${TRACE_ID}-${PARENT}-01`, 'http://erp.virtual:8000/api/orders/7'], { timeoutMs: 15_000 });
    assert.equal(r.stdout, '{"ok":true}');
    assert.equal(seen.length, 1);
    const [, traceId, backendParent] = seen[0]?.traceparent.split('-') ?? [];
    assert.equal(traceId, TRACE_ID, 'the backend received the cloud app trace id');

    const [event] = await stack.waitForAudit('connector-1', 1);
    assert.equal(event?.trace_id, TRACE_ID);

    // Give the batch span processors and the audit shipper time to deliver, then stop the collector
    // (chDB: one process per data directory) and read what it stored.
    await stack.waitForShipped('connector-1');
    await new Promise((res) => setTimeout(res, 300)); // spans: batch_delay_ms is 50
    await stack.stop();
    await collector.stop();
    const [spans, audit] = await queryStore<Record<string, unknown>>(collector.dataDir, [
      { sql: 'SELECT SpanId, ParentSpanId, ServiceName, toString(SpanKind) AS SpanKind, SpanName, SpanAttributes AS attrs FROM otel_traces WHERE TraceId = {t:String}', params: { t: TRACE_ID } },
      { sql: 'SELECT event_id, trace_id, span_id, path, decision FROM audit_events FINAL WHERE trace_id = {t:String}', params: { t: TRACE_ID } },
    ]);
    const rows = spans as unknown as SpanRow[];
    const relay = rows.find((s) => s.ServiceName === 'tunnelwatch-relay');
    const server = rows.find((s) => s.ServiceName === 'tunnelwatch-connector' && /server/i.test(s.SpanKind));
    const client = rows.find((s) => s.ServiceName === 'tunnelwatch-connector' && /client/i.test(s.SpanKind));
    assert.ok(relay && server && client, `spans of relay, connector and backend client: ${JSON.stringify(rows)}`);
    assert.equal(rows.length, 3);
    assert.equal(relay.ParentSpanId, PARENT, 'the relay span continues the cloud app span');
    assert.equal(server.ParentSpanId, relay.SpanId, 'the connector span is a child of the relay span');
    assert.equal(client.ParentSpanId, server.SpanId, 'the backend client span is a child of the connector span');
    assert.equal(backendParent, client.SpanId, 'the backend received the client span as its parent');
    assert.equal(server.attrs['tunnelwatch.subaccount'], 'acme');
    assert.equal(server.attrs['url.path'], '/api/orders/7');
    assert.equal(server.attrs['http.response.status_code'], '200');
    assert.ok(Number(client.attrs['tunnelwatch.phase.backend_ttfb_us']) > 0);
    assert.ok(relay.attrs['tunnelwatch.phase.relay_us'] !== undefined);
    assert.equal(audit?.length, 1, 'the audit event is stored once');
    assert.equal((audit?.[0] as { span_id: string }).span_id, server.SpanId, 'the audit event names the connector span');
  });
});
