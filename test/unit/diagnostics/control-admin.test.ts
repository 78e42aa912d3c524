// The relay admin listener in-process: token auth, errors as {code, message}, body limits and schemas,
// and the relay side of a check against a stand-in connector on a real HTTP/2 connection.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../../common/log.js';
import { initPki } from '../../../connector/pki/pki.js';
import { checkRoute } from '../../../connector/relay/admin-check.js';
import { startAdminServer, type RunningAdminServer } from '../../../connector/relay/admin-server.js';
import { healthRoute } from '../../../common/ops/ops-routes.js';
import { SessionRegistry, type TunnelSession } from '../../../connector/relay/session-registry.js';
import { connectorsRoute, countStreams, SessionStats } from '../../../connector/relay/session-stats.js';
import { CHECK_PATH } from '../../../connector/tunnel/protocol.js';

const TOKEN = 'tw_admin_dashboard_token_0123456789';
const OTHER = 'tw_admin_ops_token_abcdef';
const sha = (t: string): string => createHash('sha256').update(t).digest('hex');

let logged = '';
const log = createLogger({ name: 'test', level: 'info', destination: new Writable({ write(c, _e, cb) { logged += String(c); cb(); } }) });

/** The stand-in connector: answers CHECK_PATH as `behaviour` says. */
type Behaviour = 'report' | 'no-mapping' | 'busy' | 'hang' | 'reset' | 'garbage';
let behaviour: Behaviour = 'report';
let connectorServer: http2.Http2Server;
let h2: http2.ClientHttp2Session;
let admin: RunningAdminServer;
const registry = new SessionRegistry();
const stats = new SessionStats();
let base: string;

before(async () => {
  connectorServer = http2.createServer();
  connectorServer.on('stream', (stream, headers) => {
    assert.equal(headers[':path'], CHECK_PATH);
    stream.on('error', () => {});
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const ask = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, string>;
      if (behaviour === 'hang') return;
      if (behaviour === 'reset') return stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      const [status, body] =
        behaviour === 'no-mapping' ? [404, { error: `connector connector-1 has no mapping ${ask.virtual_host} for subaccount ${ask.subaccount}` }]
        : behaviour === 'busy' ? [429, { error: 'busy' }]
        : behaviour === 'garbage' ? [200, { hello: 'world' }]
        : [200, { check_id: 'c-1', connector_id: 'connector-1', subaccount: ask.subaccount, virtual_host: ask.virtual_host, requested_by: ask.requested_by, state: 'up', classification: 'ok', steps: [] }];
      stream.respond({ ':status': status, 'content-type': 'application/json' });
      stream.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => connectorServer.listen(0, '127.0.0.1', r));
  h2 = http2.connect(`http://127.0.0.1:${(connectorServer.address() as AddressInfo).port}`);
  countStreams(h2);
  const session: TunnelSession = { connectorId: 'connector-1', locationId: '', subaccounts: ['acme'], connectedAt: new Date('2030-01-02T03:04:05Z'), remoteAddress: '127.0.0.1:5555', h2, rttMs: 1.23456 };
  registry.add(session);
  stats.sessionOpened('connector-1');
  stats.sessionOpened('connector-1');
  stats.error('connector-1', 'tunnel socket error: ECONNRESET read ECONNRESET');
  admin = await startAdminServer({
    host: '127.0.0.1', port: 0, maxBodyBytes: 1024, log,
    tokens: [{ name: 'ops', sha256: sha(OTHER) }, { name: 'dashboard', sha256: sha(TOKEN) }],
    routes: [healthRoute(() => ({ role: 'relay' })), connectorsRoute(registry, stats), checkRoute({ registry, checkTimeoutMs: 300, log })],
  });
  base = `http://127.0.0.1:${admin.port}`;
});
after(async () => {
  await admin.close();
  h2.close();
  await new Promise((r) => connectorServer.close(r));
});

async function call(method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(base + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

const CHECK = { subaccount: 'acme', virtual_host: 'erp.virtual:8000', requested_by: 'alice@acme' };

describe('relay admin listener', () => {
  test('answers /healthz without a token', async () => {
    const r = await call('GET', '/healthz', undefined, null);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'ok', role: 'relay' });
  });

  test('refuses a missing or wrong token with 401, WWW-Authenticate and a JSON code, and never logs the token', async () => {
    const none = await call('GET', '/admin/v1/connectors', undefined, null);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="tunnelwatch-relay-admin"');
    assert.equal(none.body.code, 'TW_ERR_RELAY_ADMIN_UNAUTHENTICATED');
    const wrong = await call('GET', '/admin/v1/connectors', undefined, `${TOKEN}x`);
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    const basic = await fetch(`${base}/admin/v1/connectors`, { headers: { authorization: `Basic ${Buffer.from(`a:${TOKEN}`).toString('base64')}` } });
    assert.equal(basic.status, 401);
    assert.ok(!logged.includes(TOKEN), 'the token appears in the log');
  });

  test('lists connector sessions with their statistics', async () => {
    const r = await call('GET', '/admin/v1/connectors');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, {
      connectors: [{
        connector_id: 'connector-1', location_id: '', subaccounts: ['acme'], remote_address: '127.0.0.1:5555',
        connected_since: '2030-01-02T03:04:05.000Z', rtt_ms: 1.235, open_streams: 0, reconnects: 1,
        last_error: 'tunnel socket error: ECONNRESET read ECONNRESET', last_error_at: (r.body.connectors as Record<string, unknown>[])[0]?.last_error_at,
      }],
    });
    assert.match(String((r.body.connectors as Record<string, unknown>[])[0]?.last_error_at), /^\d{4}-\d\d-\d\dT/);
  });

  test('answers 404 for an unknown route and 405 with Allow for a wrong method', async () => {
    const nf = await call('GET', '/admin/v1/nothing');
    assert.equal(nf.status, 404);
    assert.equal(nf.body.code, 'TW_ERR_RELAY_ADMIN_NOT_FOUND');
    const na = await call('GET', '/admin/v1/check');
    assert.equal(na.status, 405);
    assert.equal(na.headers.get('allow'), 'POST');
  });

  test('refuses bodies that are not JSON, do not fit the schema or are too large', async () => {
    const notJson = await call('POST', '/admin/v1/check', '{"subaccount"');
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.code, 'TW_ERR_RELAY_ADMIN_BAD_REQUEST');
    const missing = await call('POST', '/admin/v1/check', { subaccount: 'acme', virtual_host: 'erp.virtual:8000' });
    assert.equal(missing.status, 400);
    assert.match(String(missing.body.message), /missing field "requested_by"/);
    const extra = await call('POST', '/admin/v1/check', { ...CHECK, internal: '10.0.0.1:22' });
    assert.match(String(extra.body.message), /unknown field "internal"/);
    const noPort = await call('POST', '/admin/v1/check', { ...CHECK, virtual_host: 'erp.virtual' });
    assert.equal(noPort.status, 400);
    const big = await call('POST', '/admin/v1/check', { ...CHECK, requested_by: 'x'.repeat(2000) });
    assert.equal(big.status, 413);
    assert.equal(big.body.code, 'TW_ERR_RELAY_ADMIN_TOO_LARGE');
  });

  test('relays the connector\'s report and logs who asked for what', async () => {
    behaviour = 'report';
    logged = '';
    const r = await call('POST', '/admin/v1/check', CHECK);
    assert.equal(r.status, 200);
    assert.equal(r.body.check_id, 'c-1');
    assert.equal(r.body.requested_by, 'alice@acme');
    const line = logged.split('\n').find((l) => l.includes('"msg":"admin check"'));
    assert.ok(line, logged);
    const entry = JSON.parse(line) as Record<string, unknown>;
    assert.equal(entry.token_name, 'dashboard');
    assert.equal(entry.virtual_host, 'erp.virtual:8000');
    assert.equal(entry.level, 30);
  });

  test('maps the connector\'s answers and failures to 404, 429, 504 and 502', async () => {
    const expect = async (b: Behaviour, status: number, code: string): Promise<void> => {
      behaviour = b;
      const r = await call('POST', '/admin/v1/check', CHECK);
      assert.equal(r.status, status, `${b}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, code);
    };
    await expect('no-mapping', 404, 'TW_ERR_RELAY_ADMIN_NO_MAPPING');
    await expect('busy', 429, 'TW_ERR_RELAY_ADMIN_CHECK_BUSY');
    await expect('hang', 504, 'TW_ERR_RELAY_ADMIN_CHECK_TIMEOUT');
    await expect('reset', 502, 'TW_ERR_RELAY_ADMIN_TUNNEL_BROKEN');
    await expect('garbage', 502, 'TW_ERR_RELAY_ADMIN_TUNNEL_BROKEN');
    const other = await call('POST', '/admin/v1/check', { ...CHECK, subaccount: 'globex' });
    assert.equal(other.status, 404);
    assert.equal(other.body.code, 'TW_ERR_RELAY_ADMIN_NO_CONNECTOR');
    // Every check stream is closed again, the timed-out one included.
    const list = await call('GET', '/admin/v1/connectors');
    assert.equal((list.body.connectors as { open_streams: number }[])[0]?.open_streams, 0);
  });
});

describe('relay admin listener over TLS', () => {
  test('serves HTTPS with admin.tls and still wants the token', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tw-admin-tls-'));
    try {
      await initPki(dir, { connectors: ['c1'] });
      const [cert, key, ca] = await Promise.all(['relay.crt', 'relay.key', 'ca.crt'].map((f) => readFile(join(dir, f))));
      const server = await startAdminServer({
        host: '127.0.0.1', port: 0, maxBodyBytes: 1024, log, tls: { cert: cert as Buffer, key: key as Buffer },
        tokens: [{ name: 'dashboard', sha256: sha(TOKEN) }], routes: [healthRoute(() => ({ role: 'relay' })), connectorsRoute(new SessionRegistry(), new SessionStats())],
      });
      const get = (path: string, token?: string): Promise<{ status: number; body: string }> => new Promise((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', servername: 'localhost', port: server.port, path, ca, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        });
        req.on('error', reject);
        req.end();
      });
      try {
        assert.deepEqual(await get('/admin/v1/connectors', TOKEN), { status: 200, body: '{"connectors":[]}' });
        assert.equal((await get('/admin/v1/connectors')).status, 401);
      } finally {
        await server.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
