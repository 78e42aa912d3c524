// The relay admin API against a real relay and connector (separate processes) and node backends on
// loopback: the connectors view with its statistics, on-demand checks through the tunnel's control
// channel, and what the API refuses.
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { CheckReport, ConnectorSessionView } from '../../connector/diagnostics/types.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/processes.js';
import { startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

const ADMIN_TOKEN = 'tw_admin_token_for_the_dashboard_0123456789';
const APP_TOKEN = 'tw_cloud_app_token_acme_portal_0123456789';

let stack: TunnelStack;
let backend: Server;
let hanging: net.Server;
const hangingSockets = new Set<net.Socket>();
let closedPort: number;

async function admin(method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${stack.adminPort}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

async function connectors(): Promise<ConnectorSessionView[]> {
  const r = await admin('GET', '/admin/v1/connectors');
  assert.equal(r.status, 200);
  return r.body.connectors as ConnectorSessionView[];
}

/** A cloud app's proxy request in absolute form. */
function proxyPost(url: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port: stack.proxyPort, method: 'POST', path: url,
      headers: { host: new URL(url).host, 'proxy-authorization': `Bearer ${APP_TOKEN}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('relay admin API', () => {
  before(async () => {
    backend = createServer((_req, res) => res.end('ok\n'));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    // Accepts and never answers: the check's probe step hangs until its timeout.
    hanging = net.createServer((s) => {
      hangingSockets.add(s);
      s.on('error', () => {});
      s.on('close', () => hangingSockets.delete(s));
    });
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
    closedPort = await freePort();
    stack = await startTunnelStack({
      tokens: [{ subaccount: 'acme', cloudApp: 'portal', token: APP_TOKEN }],
      relayAdmin: { tokens: [{ name: 'dashboard', token: ADMIN_TOKEN }], checkTimeoutMs: 2500 },
      connectors: [{
        id: 'connector-1',
        subaccounts: {
          acme: {
            mappings: [
              { virtual: 'erp.virtual:8000', internal: `127.0.0.1:${(backend.address() as net.AddressInfo).port}`, protocol: 'http', resources: [{ path: '/api', methods: ['GET'] }] },
              { virtual: 'closed.virtual:9000', internal: `127.0.0.1:${closedPort}`, protocol: 'tcp' },
              { virtual: 'hang.virtual:7000', internal: `127.0.0.1:${(hanging.address() as net.AddressInfo).port}`, protocol: 'http', resources: [] },
            ],
          },
        },
        extra: { diagnostics: { interval_ms: 0, timeout_ms: 6000 } },
      }],
    });
  });
  after(async () => {
    await stack?.stop();
    for (const s of hangingSockets) s.destroy();
    await new Promise((r) => backend?.close(r));
    await new Promise((r) => hanging?.close(r));
  });

  test('lists the connector with its subaccounts, a measured round trip and no reconnects', async () => {
    const view = await waitFor(async () => {
      const list = await connectors();
      return list.length === 1 && (list[0]?.rtt_ms ?? -1) >= 0 ? list[0] : undefined;
    }, { timeoutMs: 10_000, message: 'a PING round trip' });
    assert.equal(view.connector_id, 'connector-1');
    assert.equal(view.location_id, '');
    assert.deepEqual(view.subaccounts, ['acme']);
    assert.match(view.remote_address, /^127\.0\.0\.1:\d+$/);
    assert.ok(Date.now() - Date.parse(view.connected_since) < 120_000);
    assert.ok(view.rtt_ms >= 0 && view.rtt_ms < 1000, `rtt ${view.rtt_ms}`);
    assert.equal(view.open_streams, 0);
    assert.equal(view.reconnects, 0);
  });

  test('checks a mapped backend through the tunnel: up, with who asked', async () => {
    const r = await admin('POST', '/admin/v1/check', { subaccount: 'acme', virtual_host: 'ERP.virtual:8000', requested_by: 'alice@acme' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const report = r.body as unknown as CheckReport;
    assert.equal(report.state, 'up', report.summary);
    assert.equal(report.classification, 'ok');
    assert.equal(report.connector_id, 'connector-1');
    assert.equal(report.subaccount, 'acme');
    assert.equal(report.virtual_host, 'erp.virtual:8000');
    assert.equal(report.trigger, 'dashboard');
    assert.equal(report.requested_by, 'alice@acme');
    assert.ok(report.steps.some((s) => s.step === 'tcp' && s.outcome === 'ok'));
    // The relay logs asynchronously: the line may follow the answer by a moment.
    const log = await waitFor(() => {
      const text = stack.relay()?.stderr() ?? '';
      return /"token_name":"dashboard".*"virtual_host":"ERP.virtual:8000".*"msg":"admin check"/.test(text) ? text : undefined;
    }, { timeoutMs: 5000, message: 'the admin check log line with the token name' });
    assert.ok(!log.includes(ADMIN_TOKEN), 'the admin token appears in the relay log');
  });

  test('checks a mapped closed port: down, tcp_refused, naming the address', async () => {
    const r = await admin('POST', '/admin/v1/check', { subaccount: 'acme', virtual_host: 'closed.virtual:9000', requested_by: 'alice@acme' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const report = r.body as unknown as CheckReport;
    assert.equal(report.state, 'down');
    assert.equal(report.classification, 'tcp_refused');
    assert.match(report.summary, new RegExp(`127\\.0\\.0\\.1:${closedPort}`));
  });

  test('answers 404 for an unmapped virtual host, and for a subaccount no connector serves', async () => {
    const unmapped = await admin('POST', '/admin/v1/check', { subaccount: 'acme', virtual_host: 'intranet.corp:80', requested_by: 'alice@acme' });
    assert.equal(unmapped.status, 404);
    assert.equal(unmapped.body.code, 'TW_ERR_RELAY_ADMIN_NO_MAPPING');
    assert.match(String(unmapped.body.message), /intranet\.corp:80/);
    const nobody = await admin('POST', '/admin/v1/check', { subaccount: 'globex', virtual_host: 'erp.virtual:8000', requested_by: 'alice@acme' });
    assert.equal(nobody.status, 404);
    assert.equal(nobody.body.code, 'TW_ERR_RELAY_ADMIN_NO_CONNECTOR');
  });

  test('answers 504 when the connector does not report within admin.check_timeout_ms', async () => {
    const started = Date.now();
    const r = await admin('POST', '/admin/v1/check', { subaccount: 'acme', virtual_host: 'hang.virtual:7000', requested_by: 'alice@acme' });
    assert.equal(r.status, 504, JSON.stringify(r.body));
    assert.equal(r.body.code, 'TW_ERR_RELAY_ADMIN_CHECK_TIMEOUT');
    const took = Date.now() - started;
    assert.ok(took >= 2400 && took < 5000, `answered after ${took} ms`);
  });

  test('refuses a bad token with 401 and a malformed body with 400', async () => {
    const bad = await admin('GET', '/admin/v1/connectors', undefined, 'tw_not_the_admin_token');
    assert.equal(bad.status, 401);
    assert.match(bad.headers.get('www-authenticate') ?? '', /^Bearer realm="tunnelwatch-relay-admin"/);
    assert.equal(bad.body.code, 'TW_ERR_RELAY_ADMIN_UNAUTHENTICATED');
    const app = await admin('POST', '/admin/v1/check', { subaccount: 'acme', virtual_host: 'erp.virtual:8000', requested_by: 'x' }, APP_TOKEN);
    assert.equal(app.status, 401, 'a cloud app token is no admin token');
    const malformed = await admin('POST', '/admin/v1/check', '{"subaccount":"acme",');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.code, 'TW_ERR_RELAY_ADMIN_BAD_REQUEST');
    const wrongType = await admin('POST', '/admin/v1/check', { subaccount: 'acme', virtual_host: 8000, requested_by: 'x' });
    assert.equal(wrongType.status, 400);
    assert.match(String(wrongType.body.message), /virtual_host/);
    const health = await admin('GET', '/healthz', undefined, null);
    assert.equal(health.status, 200);
  });

  test('a cloud app cannot reach the control channel: its call to /_tunnelwatch/v1/check is decided as a call', async () => {
    const before = (await stack.auditEvents('connector-1')).length;
    const r = await proxyPost('http://erp.virtual:8000/_tunnelwatch/v1/check', JSON.stringify({ subaccount: 'acme', virtual_host: 'erp.virtual:8000', requested_by: 'mallory' }));
    assert.equal(r.status, 403);
    assert.doesNotMatch(r.body, /check_id/);
    const events = await stack.waitForAudit('connector-1', before + 1);
    const e = events.at(-1);
    assert.equal(e?.decision, 'deny');
    assert.equal(e?.path, '/_tunnelwatch/v1/check');
    // Nor can it forge the relay's registration message to the connector.
    const forged = await proxyPost('http://erp.virtual:8000/_tunnelwatch/v1/registered', JSON.stringify({ accepted: [], rejected: [{ subaccount: 'acme', reason: 'forged' }], relay_id: 'evil' }));
    assert.equal(forged.status, 403);
    await stack.waitForAudit('connector-1', before + 2);
    assert.doesNotMatch(stack.connector('connector-1')?.stderr() ?? '', /"relay":"evil"/);
  });

  test('counts a reconnect after the connector is killed and started again, and shows why the session ended', async () => {
    const first = (await connectors())[0];
    await stack.connector('connector-1')?.kill9();
    await stack.startConnector('connector-1');
    const view = await waitFor(async () => {
      const list = await connectors();
      return list[0] && list[0].connected_since !== first?.connected_since ? list[0] : undefined;
    }, { timeoutMs: 15_000, message: 'the new session' });
    assert.equal(view.reconnects, 1);
    // A killed connector leaves a reset or a silent close behind, depending on what was in flight.
    assert.match(view.last_error, /^(tunnel socket error: ECONNRESET|tunnel session error|the tunnel connection closed)/);
    assert.ok(!Number.isNaN(Date.parse(view.last_error_at)));
    assert.ok(Date.parse(view.connected_since) > Date.parse(first?.connected_since ?? ''));
  });
});
