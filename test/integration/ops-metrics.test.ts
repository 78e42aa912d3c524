// /metrics, /healthz and /readyz of a real relay (admin listener) and connector (ops listener), scraped
// after real calls: allowed, denied and failed calls are counted with bounded labels, the tunnel and the
// audit spool show, and readiness follows the tunnel.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/processes.js';
import { proxyRequest } from '../helpers/proxy-client.js';
import { startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

const TOKEN = 'tw_cloud_app_token_metrics_0123456789';
let stack: TunnelStack;
let backend: Server;
let opsPort: number;
let closedPort: number;
const dir = mkdtempSync(join(tmpdir(), 'tw-ops-'));

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return res.text();
}

function series(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

describe('relay and connector metrics and health', () => {
  before(async () => {
    backend = createServer((req, res) => res.end(`ok ${req.url}\n`));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    opsPort = await freePort();
    closedPort = await freePort();
    const collectorPort = await freePort(); // nothing listens: events pile up in the spool
    writeFileSync(join(dir, 'ingest.token'), 'tw_ingest_token_metrics_0123456789\n');
    stack = await startTunnelStack({
      tokens: [{ subaccount: 'acme', cloudApp: 'portal', token: TOKEN }],
      relayAdmin: { tokens: [{ name: 'ops', token: 'tw_admin_token_metrics_0123456789' }] },
      connectors: [{
        id: 'connector-1',
        subaccounts: {
          acme: {
            mappings: [
              { virtual: 'erp.virtual:8000', internal: `127.0.0.1:${(backend.address() as AddressInfo).port}`, protocol: 'http', resources: [{ path: '/api', methods: ['GET'] }] },
              { virtual: 'gone.virtual:8000', internal: `127.0.0.1:${closedPort}`, protocol: 'http', resources: [{ path: '/', methods: ['GET'] }] },
            ],
          },
        },
        extra: {
          ops: { listen: `127.0.0.1:${opsPort}` },
          audit: { dir: 'audit/connector-1', collector: { url: `http://127.0.0.1:${collectorPort}`, token_file: join(dir, 'ingest.token') } },
        },
      }],
    });
  });
  after(async () => {
    await stack?.stop();
    await new Promise((r) => backend?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  test('count every call by decision, status class and error type at both ends, never by path', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await proxyRequest(stack.proxyPort, `http://erp.virtual:8000/api/orders/${i}`, { token: TOKEN })).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await proxyRequest(stack.proxyPort, `http://erp.virtual:8000/admin/secret-${i}`, { token: TOKEN })).status, 403);
    assert.equal((await proxyRequest(stack.proxyPort, 'http://gone.virtual:8000/x', { token: TOKEN })).status, 502);
    const connector = await waitFor(async () => {
      const t = await scrape(opsPort);
      return series(t, 'tunnelwatch_calls_total') >= 9 ? t : undefined;
    }, { timeoutMs: 10_000, message: 'nine calls counted at the connector' });
    assert.equal(series(connector, 'tunnelwatch_calls_total', { subaccount: 'acme', decision: 'allow', status_class: '2xx' }), 5);
    assert.equal(series(connector, 'tunnelwatch_calls_total', { subaccount: 'acme', decision: 'deny', deny_reason: 'path_not_allowed' }), 3);
    assert.equal(series(connector, 'tunnelwatch_calls_total', { status_class: '5xx', error_type: 'connect_refused' }), 1);
    assert.equal(series(connector, 'tunnelwatch_call_duration_seconds_count', { subaccount: 'acme', decision: 'allow' }), 6);
    assert.equal(series(connector, 'tunnelwatch_backend_first_byte_seconds_count', { subaccount: 'acme' }), 5);
    assert.equal(series(connector, 'tunnelwatch_tunnel_sessions', { state: 'registered' }), 1);
    assert.ok(series(connector, 'tunnelwatch_tunnel_connects_total') >= 1);
    // The collector is down: the events wait in the spool, and that shows.
    assert.ok(series(connector, 'tunnelwatch_audit_unshipped_events') >= 9, 'unshipped events');
    assert.ok(series(connector, 'tunnelwatch_audit_spool_bytes') > 0);
    assert.ok(series(connector, 'tunnelwatch_audit_spool_fill_ratio') > 0);
    assert.match(connector, /^# TYPE tunnelwatch_audit_failed_requests_total counter$/m, 'delivery failures are exposed as a counter');

    const relay = await scrape(stack.adminPort);
    assert.equal(series(relay, 'tunnelwatch_calls_total', { subaccount: 'acme', status_class: '2xx' }), 5);
    assert.equal(series(relay, 'tunnelwatch_calls_total', { subaccount: 'acme', status_class: '4xx' }), 3);
    assert.equal(series(relay, 'tunnelwatch_tunnel_sessions', { ha_role: 'standalone', active: 'true' }), 1);
    for (const text of [connector, relay]) {
      assert.doesNotMatch(text, /secret-|\/api\/orders|portal@|127\.0\.0\.1/, 'no path, principal or address in the series');
    }
  });

  test('health and readiness: ready while registered, not ready (503) once the relay is gone', async () => {
    const health = await (await fetch(`http://127.0.0.1:${opsPort}/healthz`)).json() as Record<string, unknown>;
    assert.equal(health.status, 'ok');
    assert.equal(health.tunnel, 'registered');
    assert.deepEqual(health.subaccounts, ['acme']);
    assert.equal((await fetch(`http://127.0.0.1:${opsPort}/readyz`)).status, 200);
    const relayHealth = await (await fetch(`http://127.0.0.1:${stack.adminPort}/healthz`)).json() as Record<string, unknown>;
    assert.equal(relayHealth.role, 'relay');
    assert.equal(relayHealth.sessions, 1);
    assert.equal((await fetch(`http://127.0.0.1:${stack.adminPort}/readyz`)).status, 200);

    await stack.relay()?.stop();
    const r = await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${opsPort}/readyz`);
      return res.status === 503 ? res : undefined;
    }, { timeoutMs: 10_000, message: 'connector not ready without its relay' });
    const body = await r.json() as { ready: boolean; reason: string };
    assert.equal(body.ready, false);
    assert.match(body.reason, /tunnel to the relay is (connecting|waiting)/);
  });
});
