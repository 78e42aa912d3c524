// HTTP Upgrade (WebSocket) through the tunnel: allowed only where the resource says websocket: true.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

const TOKEN = 'tw_test_ws_token_0123456789';
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = createHash('sha1').update(`${KEY}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');

let backend: http.Server;
let stack: TunnelStack;

/** Sends an upgrade request through the relay; resolves with the response head and, on 101, an echo round trip. */
function upgrade(path: string): Promise<{ head: string; echo: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(stack.proxyPort, '127.0.0.1');
    let buffer = '';
    let head = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (!head && buffer.includes('\r\n\r\n')) {
        head = buffer.slice(0, buffer.indexOf('\r\n\r\n'));
        buffer = buffer.slice(head.length + 4);
        if (head.startsWith('HTTP/1.1 101')) socket.write('hello through the tunnel');
        else return resolve({ head, echo: '' });
      }
      if (head && buffer.includes('hello through the tunnel')) {
        socket.destroy();
        resolve({ head, echo: buffer });
      }
    });
    socket.on('error', reject);
    setTimeout(() => reject(new Error(`no answer; got ${JSON.stringify(buffer)}`)), 5000).unref();
    socket.write(
      `GET http://chat.virtual:80${path} HTTP/1.1\r\nHost: chat.virtual\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\nProxy-Authorization: Bearer ${TOKEN}\r\n\r\n`,
    );
  });
}

describe('WebSocket upgrade through the tunnel', () => {
  before(async () => {
    backend = http.createServer((_req, res) => res.end('plain'));
    backend.on('upgrade', (req, socket) => {
      const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      socket.pipe(socket); // echo the raw bytes back
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const port = (backend.address() as net.AddressInfo).port;
    stack = await startTunnelStack({
      tokens: [{ subaccount: 'acme', cloudApp: 'chat', token: TOKEN }],
      connectors: [{
        id: 'connector-1',
        subaccounts: { acme: { mappings: [{ virtual: 'chat.virtual:80', internal: `127.0.0.1:${port}`, protocol: 'http', resources: [
          { id: 'live', path: '/live', match: 'prefix', methods: ['GET'], websocket: true },
          { id: 'poll', path: '/poll', match: 'prefix', methods: ['GET'] },
        ] }] } },
      }],
    });
  });
  after(async () => {
    await stack?.stop();
    backend?.closeAllConnections();
    await new Promise((r) => backend?.close(r));
  });

  test('switches protocols where the resource allows websocket, and carries bytes both ways', async () => {
    const before = (await stack.auditEvents('connector-1')).length;
    const r = await upgrade('/live/feed');
    assert.match(r.head, /^HTTP\/1\.1 101 /);
    assert.match(r.head, new RegExp(`sec-websocket-accept: ${ACCEPT.replace(/[+/=]/g, '\\$&')}`, 'i'));
    assert.equal(r.echo, 'hello through the tunnel');
    const events = await stack.waitForAudit('connector-1', before + 1);
    const e = events.at(-1);
    assert.equal(e?.decision, 'allow');
    assert.equal(e?.rule_id, 'live');
    assert.equal(e?.status, 101);
    assert.equal(e?.path, '/live/feed');
    assert.equal(e?.bytes_in, 'hello through the tunnel'.length);
  });

  test('refuses an upgrade where the resource does not allow websocket', async () => {
    const before = (await stack.auditEvents('connector-1')).length;
    const r = await upgrade('/poll');
    assert.match(r.head, /^HTTP\/1\.1 403 /);
    assert.match(r.head, /x-tunnel-deny-reason: protocol_not_allowed/i);
    const events = await stack.waitForAudit('connector-1', before + 1);
    assert.equal(events.at(-1)?.deny_reason, 'protocol_not_allowed');
  });
});
