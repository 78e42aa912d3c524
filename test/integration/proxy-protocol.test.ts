// The relay behind a TCP load balancer (proxy.proxy_protocol_from): the client address of the balancer's
// PROXY protocol header (v1 or v2) becomes client_ip in the audit events; a balancer connection without a
// valid header is closed and counted; a client that is not a balancer cannot claim an address with one.
// Real relay and connector processes, a node backend, and nginx's stream module as the balancer. The
// balancer connects from 127.0.0.2, direct clients from 127.0.0.1 (Linux answers on all of 127/8).
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTcpBalancer, type TcpBalancer } from '../helpers/nginx.js';
import { waitFor } from '../helpers/processes.js';
import { proxyRequest } from '../helpers/proxy-client.js';
import { startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';
import type { AuditEvent } from '../../common/audit/event.js';

const TOKEN = 'tw_proxy_protocol_token_0123456789';
const BALANCER = '127.0.0.2';

/** Sends raw bytes from `localAddress` to the proxy port and collects everything until the peer closes. */
function raw(port: number, localAddress: string, bytes: Buffer | string, expect?: string): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    let text = '';
    const done = (closed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed });
    };
    const timer = setTimeout(() => done(false), 5000);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (expect !== undefined && text.includes(expect)) done(false);
    });
    socket.on('close', () => done(true));
    socket.on('error', () => undefined);
  });
}

/** A PROXY v2 header for TCP over IPv6 from `src` (8 groups of hex). */
function v2Ipv6(src: number[], dst: number[]): Buffer {
  const b = Buffer.alloc(16 + 36);
  Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]).copy(b, 0);
  b[12] = 0x21;
  b[13] = 0x21;
  b.writeUInt16BE(36, 14);
  src.forEach((g, i) => b.writeUInt16BE(g, 16 + 2 * i));
  dst.forEach((g, i) => b.writeUInt16BE(g, 32 + 2 * i));
  b.writeUInt16BE(40001, 48);
  b.writeUInt16BE(8080, 50);
  return b;
}

const get = (path: string, extra = 'Connection: close\r\n'): string => `GET http://erp.virtual:8000${path} HTTP/1.1\r\nHost: erp.virtual:8000\r\nProxy-Authorization: Bearer ${TOKEN}\r\n${extra}\r\n`;

describe('relay behind a TCP load balancer (PROXY protocol)', () => {
  let stack: TunnelStack;
  let backend: http.Server;
  let balancer: TcpBalancer;
  const eventFor = async (path: string, emitter = 'connector-1'): Promise<AuditEvent> =>
    waitFor(async () => (await stack.auditEvents(emitter)).find((e) => e.path === path), { timeoutMs: 5000, message: `an event for ${path} from ${emitter}` });
  const refusedMetric = async (): Promise<number> => Number(/^tunnelwatch_proxy_protocol_refused_total (\d+)$/m.exec(await (await fetch(`http://127.0.0.1:${stack.adminPort}/metrics`)).text())?.[1] ?? NaN);

  before(async () => {
    backend = http.createServer((req, res) => res.end(`ok ${req.url}\n`));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    stack = await startTunnelStack({
      tokens: [{ subaccount: 'acme', cloudApp: 'portal', token: TOKEN }],
      relayAdmin: { tokens: [{ name: 'ops', token: 'tw_proxy_protocol_admin_0123456789' }] },
      relayExtra: { proxy: { proxy_protocol_from: [BALANCER, '198.51.100.0/24'], head_timeout_ms: 1000 } },
      connectors: [{
        id: 'connector-1',
        subaccounts: { acme: { mappings: [{ virtual: 'erp.virtual:8000', internal: `127.0.0.1:${(backend.address() as AddressInfo).port}`, protocol: 'http', resources: [{ path: '/api', methods: ['GET'] }] }] } },
      }],
    });
    balancer = await startTcpBalancer(stack.proxyPort, BALANCER);
  });
  after(async () => {
    await balancer?.stop();
    await stack?.stop();
    await new Promise((r) => backend?.close(r));
  });

  test('through nginx (PROXY v1), the client address nginx saw is client_ip', async () => {
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      // The client connects to the balancer from 127.0.0.3: that is the address the event must carry.
      const req = http.request({ host: '127.0.0.1', port: balancer.port, localAddress: '127.0.0.3', method: 'GET', path: 'http://erp.virtual:8000/api/through-nginx', headers: { host: 'erp.virtual:8000', 'proxy-authorization': `Bearer ${TOKEN}` }, agent: false }, (r) => {
        let body = '';
        r.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'ok /api/through-nginx\n');
    assert.equal((await eventFor('/api/through-nginx')).client_ip, '127.0.0.3');
  });

  test('a v1 header and a v2 IPv6 header from the balancer, keep-alive requests after the header, and a direct client', async () => {
    const v1 = await raw(stack.proxyPort, BALANCER, `PROXY TCP4 203.0.113.7 127.0.0.1 40000 8080\r\n${get('/api/v1-first', '')}${get('/api/v1-second')}`);
    assert.equal((v1.text.match(/HTTP\/1\.1 200/g) ?? []).length, 2, v1.text.slice(0, 300));
    assert.equal((await eventFor('/api/v1-first')).client_ip, '203.0.113.7');
    assert.equal((await eventFor('/api/v1-second')).client_ip, '203.0.113.7', 'every request of the connection');

    const v2 = await raw(stack.proxyPort, BALANCER, Buffer.concat([v2Ipv6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 5], [0xfd00, 0, 0, 0, 0, 0, 0, 1]), Buffer.from(get('/api/v2'))]));
    assert.match(v2.text, /^HTTP\/1\.1 200/);
    assert.equal((await eventFor('/api/v2')).client_ip, '2001:db8::5');

    assert.equal((await proxyRequest(stack.proxyPort, 'http://erp.virtual:8000/api/direct', { token: TOKEN })).status, 200);
    assert.equal((await eventFor('/api/direct')).client_ip, '127.0.0.1', 'a direct client is read as before');
  });

  test('a balancer connection without a valid header is closed and counted; a direct client cannot claim an address', async () => {
    const before = await refusedMetric();
    const noHeader = await raw(stack.proxyPort, BALANCER, get('/api/no-header'));
    assert.equal(noHeader.closed, true);
    assert.equal(noHeader.text, '', 'nothing is answered to a connection that is not what the balancer promised');
    const garbled = await raw(stack.proxyPort, BALANCER, 'PROXY TCP4 999.1.1.1 127.0.0.1 1 2\r\n');
    assert.equal(garbled.closed, true);
    const silent = await raw(stack.proxyPort, BALANCER, 'PROXY TCP4 203.0.');
    assert.equal(silent.closed, true, 'a header not finished within head_timeout_ms');
    assert.equal(await refusedMetric(), before + 3);
    assert.equal((await stack.auditEvents('connector-1')).some((e) => e.path === '/api/no-header'), false);
    const log = stack.relay()?.stderr() ?? '';
    assert.match(log, /closed a load balancer connection without a valid PROXY protocol header/);

    // From 127.0.0.1 (not a balancer) a PROXY line is not read as one: the HTTP parser refuses it, with an
    // event that carries the real address.
    const spoof = await raw(stack.proxyPort, '127.0.0.1', `PROXY TCP4 192.0.2.66 127.0.0.1 40000 8080\r\n${get('/api/spoofed')}`);
    assert.match(spoof.text, /^HTTP\/1\.1 400/);
    const events = await waitFor(async () => {
      const all = await stack.auditEvents('relay-1');
      return all.some((e) => e.deny_reason === 'malformed_request' && e.method === '') ? all : undefined;
    }, { timeoutMs: 5000, message: 'the relay event of the refused PROXY line' }).catch(() => stack.auditEvents('relay-1'));
    assert.equal(events.some((e) => e.client_ip === '192.0.2.66'), false, 'the claimed address is in no event');
    assert.ok(events.some((e) => e.deny_reason === 'malformed_request' && e.client_ip === '127.0.0.1'));
    assert.equal((await stack.auditEvents('connector-1')).some((e) => e.client_ip === '192.0.2.66'), false);
  });

  test('behind the PROXY front the head timeout still holds: a slow head gets 408, through the balancer and direct', async () => {
    const slowHead = `GET http://erp.virtual:8000/api/slow-head HTTP/1.1\r\nHost: erp.virtual:8000\r\n`;
    const viaBalancer = await raw(stack.proxyPort, BALANCER, `PROXY TCP4 203.0.113.9 127.0.0.1 40000 8080\r\n${slowHead}`);
    assert.match(viaBalancer.text, /^HTTP\/1\.1 408 /, 'head_timeout_ms (1 s here) applies after the header');
    assert.match(viaBalancer.text, /TW_ERR_PROXY_REQUEST_TIMEOUT/);
    const direct = await raw(stack.proxyPort, '127.0.0.1', slowHead);
    assert.match(direct.text, /^HTTP\/1\.1 408 /);
    const events = await waitFor(async () => {
      const all = (await stack.auditEvents('relay-1')).filter((e) => e.status === 408);
      return all.length >= 2 ? all : undefined;
    }, { timeoutMs: 5000, message: 'two 408 events' });
    assert.deepEqual(events.map((e) => e.client_ip).sort(), ['127.0.0.1', '203.0.113.9']);
  });
});
