// Concurrent call limits (connector.yaml `limits:`) through a real relay and connector: a cloud app past
// its limit, or a subaccount past its own, gets 429 TW_ERR_ACL_RATE_LIMITED with Retry-After and a deny
// event (rate_limited), and the backend never sees the call; open CONNECT tunnels count; another subaccount
// is not affected; and a slot frees as soon as a call ends. A node backend holds its calls until released.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../helpers/processes.js';
import { proxyConnect, proxyRequest, refusalOf, type ProxyResponse } from '../helpers/proxy-client.js';
import { startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

const PORTAL = 'tw_limits_token_portal_0123456789';
const BATCH = 'tw_limits_token_batch_0123456789';
const GLOBEX = 'tw_limits_token_globex_0123456789';

describe('concurrent call limits', () => {
  let stack: TunnelStack;
  let backend: http.Server;
  let echo: net.Server;
  const held: http.ServerResponse[] = [];
  const seen: string[] = [];
  const sockets: net.Socket[] = [];

  const call = (token: string, path: string, host = 'erp.virtual:8000'): Promise<ProxyResponse> => proxyRequest(stack.proxyPort, `http://${host}${path}`, { token, timeoutMs: 15_000 });
  const heldCount = (n: number): Promise<true> => waitFor(() => (held.length >= n ? true : undefined), { timeoutMs: 10_000, message: `${n} calls held at the backend` });

  before(async () => {
    backend = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      if (req.url?.startsWith('/api/slow')) held.push(res);
      else res.end(`ok ${req.url}\n`);
    });
    // An Upgrade the backend refuses: a complete answer that opens no tunnel.
    // /ws/hang: one that never answers.
    backend.on('upgrade', (req, socket: net.Socket) => {
      if (req.url?.startsWith('/ws/hang')) sockets.push(socket);
      else socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 2\r\nconnection: close\r\n\r\nno');
    });
    echo = net.createServer((s) => s.pipe(s));
    for (const s of [backend, echo]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s: net.Server): number => (s.address() as AddressInfo).port;
    const erp = (p: number): Record<string, unknown> => ({ virtual: 'erp.virtual:8000', internal: `127.0.0.1:${p}`, protocol: 'http', resources: [{ path: '/api', methods: ['GET'] }, { path: '/ws', methods: ['GET'], websocket: true }] });
    stack = await startTunnelStack({
      tokens: [
        { subaccount: 'acme', cloudApp: 'portal', token: PORTAL },
        { subaccount: 'acme', cloudApp: 'batch', token: BATCH },
        { subaccount: 'globex', cloudApp: 'portal', token: GLOBEX },
      ],
      connectors: [{
        id: 'connector-1',
        subaccounts: {
          acme: {
            limits: { max_calls_in_flight: 3, app_max_calls_in_flight: 2, apps: { batch: 1 } },
            mappings: [erp(port(backend)), { virtual: 'db.virtual:5432', internal: `127.0.0.1:${port(echo)}`, protocol: 'tcp' }, { virtual: 'gone.virtual:5432', internal: '127.0.0.1:9', protocol: 'tcp' }],
          },
          globex: { mappings: [erp(port(backend))] },
        },
      }],
    });
  });
  after(async () => {
    for (const r of held) r.end();
    for (const s of sockets) s.destroy();
    await stack?.stop();
    for (const s of [backend, echo]) await new Promise((r) => s?.close(r));
  });

  test('an app past its limit, then the subaccount past its own, is refused with 429 and an event; others go on', async () => {
    const slow = [call(PORTAL, '/api/slow/1'), call(PORTAL, '/api/slow/2')];
    await heldCount(2);

    const third = await call(PORTAL, '/api/orders/3');
    assert.equal(third.status, 429);
    assert.equal(third.headers['retry-after'], '1');
    assert.equal(third.headers['x-tunnel-deny-reason'], 'rate_limited');
    const body = refusalOf(third.body);
    assert.equal(body?.code, 'TW_ERR_ACL_RATE_LIMITED');
    assert.match(body?.detail ?? '', /cloud app portal has 2 calls in progress in subaccount acme .*app_max_calls_in_flight: 2/);

    // batch has its own count: its tunnel is the subaccount's third call in progress.
    const tunnel = await proxyConnect(stack.proxyPort, 'db.virtual:5432', { token: BATCH });
    assert.equal(tunnel.status, 200);
    sockets.push(tunnel.socket);
    const fourth = await call(BATCH, '/api/orders/4');
    assert.equal(fourth.status, 429);
    assert.match(refusalOf(fourth.body)?.detail ?? '', /subaccount acme has 3 calls in progress .*max_calls_in_flight: 3/);
    assert.equal((await call(GLOBEX, '/api/orders/5')).status, 200, 'another subaccount is not limited by acme');
    assert.deepEqual(seen.filter((u) => u === '/api/orders/3' || u === '/api/orders/4'), [], 'the backend never saw a refused call');

    // The tunnel ends and one held call is answered: slots free at once.
    tunnel.socket.destroy();
    held.shift()?.end('done 1\n');
    assert.equal((await slow[0])?.status, 200);
    await waitFor(async () => ((await call(BATCH, '/api/orders/6')).status === 200 ? true : undefined), { timeoutMs: 5000, message: 'batch admitted once its tunnel closed' });
    assert.equal((await call(PORTAL, '/api/orders/7')).status, 200);
    held.shift()?.end('done 2\n');
    assert.equal((await slow[1])?.status, 200);

    const events = await stack.waitForAudit('connector-1', 8);
    const limited = events.filter((e) => e.deny_reason === 'rate_limited');
    assert.deepEqual(limited.map((e) => [e.cloud_app, e.path, e.status, e.decision, e.rule_id]).sort(), [
      ['batch', '/api/orders/4', 429, 'deny', ''],
      ['portal', '/api/orders/3', 429, 'deny', ''],
    ]);
    assert.equal(limited.every((e) => e.internal_host === '127.0.0.1'), true, 'the mapping the call would have taken is recorded');
  });

  test('calls that end without opening a tunnel free their slot: a refused websocket, a CONNECT to a closed port, a client that leaves first', async () => {
    const upgrade = (path: string, leaveWhen?: () => Promise<unknown>): Promise<string> => new Promise((resolve) => {
      const socket = net.connect(stack.proxyPort, '127.0.0.1', () => {
        socket.write(`GET http://erp.virtual:8000${path} HTTP/1.1\r\nhost: erp.virtual:8000\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\nproxy-authorization: Bearer ${PORTAL}\r\n\r\n`);
        if (leaveWhen) void leaveWhen().then(() => socket.end());
      });
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
      socket.on('close', () => resolve(got.split('\r\n', 1)[0] ?? ''));
      socket.on('error', () => undefined);
      setTimeout(() => socket.destroy(), 5000).unref();
    });
    // Twice the app's limit of each: a slot held by any of them would refuse the probe below.
    for (let i = 0; i < 2; i++) {
      assert.equal(await upgrade('/ws/refused'), 'HTTP/1.1 403 Forbidden');
      assert.equal((await proxyConnect(stack.proxyPort, 'gone.virtual:5432', { token: PORTAL })).status, 502);
    }
    held.length = 0;
    // The client half-closes while the backend has not answered: it has left, and its slot is free at once
    // (not after backend.response_timeout_ms).
    for (let i = 0; i < 2; i++) {
      const before = sockets.length;
      await upgrade('/ws/hang', () => waitFor(() => (sockets.length > before ? true : undefined), { timeoutMs: 5000, message: 'the upgrade at the backend' }));
    }
    const probe = [call(PORTAL, '/api/slow/p1'), call(PORTAL, '/api/slow/p2')];
    await waitFor(() => (held.length >= 2 && held.some((r) => r.req.url === '/api/slow/p2') ? true : undefined), { timeoutMs: 10_000, message: 'both probe calls admitted (no slot leaked)' });
    for (const r of held.splice(0)) r.end('done\n');
    for (const r of await Promise.all(probe)) assert.equal(r.status, 200);
  });
});
