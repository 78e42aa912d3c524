// Rule changes reach tunnels already open. A connector reload that removes a mapping, points it at another
// backend, or stops allowing websockets on a resource cuts the CONNECT tunnels and websockets it no longer
// allows as they were allowed, and leaves the others open; a relay reload that removes a token, or moves it
// to another cloud app, cuts the tunnels that token opened. (An HTTP call in flight finishes under the
// rules that admitted it: relay-reload.test.ts.) Real relay and connector processes, node backends.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { freePort } from '../helpers/ports.js';
import { jsonLogLines, waitFor, type StartedProcess } from '../helpers/processes.js';
import { proxyConnect, socketClosed } from '../helpers/proxy-client.js';
import { sha256, startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

const TOKEN_A = 'tw_revoke_token_portal_0123456789';
const TOKEN_B = 'tw_revoke_token_batch_0123456789';
const TOKEN_C = 'tw_revoke_token_short_lived_0123456789';
const CUT_CONNECTOR = 'call cut: the access rules in force no longer allow it';
const CUT_RELAY = 'call cut: the token that admitted it is no longer in force';
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

type Mapping = { virtual: string; internal: string; protocol: string; resources?: { id?: string; path: string; websocket?: boolean }[] };
type ConnectorYaml = { subaccounts: { acme: { mappings: Mapping[] } } };
type RelayYaml = { tokens: { subaccount: string; cloud_app: string; sha256: string; expires_at?: string }[] };

const logLines = jsonLogLines;

const count = (p: StartedProcess | undefined, msg: string): number => logLines(p).filter((l) => l.msg === msg).length;

/** Writes `text` into an open tunnel and waits for the echo. */
function echo(socket: net.Socket, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = '';
    const timer = setTimeout(() => {
      socket.off('data', onData);
      reject(new Error(`no echo of ${text} within 5 s (got ${JSON.stringify(got)})`));
    }, 5000);
    const onData = (chunk: Buffer): void => {
      got += chunk.toString('latin1');
      if (!got.includes(text)) return;
      clearTimeout(timer);
      socket.off('data', onData);
      resolve();
    };
    socket.on('data', onData);
    socket.write(text);
  });
}

describe('rule changes cut the open tunnels they no longer allow', () => {
  let stack: TunnelStack;
  let echoServer: net.Server;
  let otherEcho: net.Server;
  let wsBackend: http.Server;
  let opsPort = 0;
  const open: net.Socket[] = [];
  const port = (s: net.Server | http.Server): number => (s.address() as AddressInfo).port;

  const tunnel = async (authority: string, token: string): Promise<net.Socket> => {
    const r = await proxyConnect(stack.proxyPort, authority, { token });
    assert.equal(r.status, 200, `CONNECT ${authority}: ${r.body}`);
    open.push(r.socket);
    await echo(r.socket, `hello ${authority}`);
    return r.socket;
  };
  /** A websocket to chat.virtual/live through the tunnel, echoing once the upgrade is answered. */
  const websocket = (token: string): Promise<net.Socket> => new Promise((resolve, reject) => {
    const socket = net.connect(stack.proxyPort, '127.0.0.1');
    open.push(socket);
    let buf = '';
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString('latin1');
      if (!buf.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (!buf.startsWith('HTTP/1.1 101')) return reject(new Error(`no upgrade: ${buf.slice(0, 200)}`));
      echo(socket, 'hello websocket').then(() => resolve(socket), reject);
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.write(`GET http://chat.virtual:80/live HTTP/1.1\r\nHost: chat.virtual\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\nProxy-Authorization: Bearer ${token}\r\n\r\n`);
  });
  const hup = async (p: StartedProcess | undefined, msg: RegExp): Promise<void> => {
    const before = logLines(p).filter((l) => msg.test(String(l.msg))).length;
    process.kill(p?.pid as number, 'SIGHUP');
    await waitFor(() => (logLines(p).filter((l) => msg.test(String(l.msg))).length > before ? true : undefined), { timeoutMs: 10_000, message: `${msg} in the log` });
  };
  const editConnector = async (change: (doc: ConnectorYaml) => void): Promise<void> => {
    const file = join(stack.dir, 'connector-1.yaml');
    const doc = parse(await readFile(file, 'utf8')) as ConnectorYaml;
    change(doc);
    await writeFile(file, stringify(doc));
  };
  const editRelay = async (change: (doc: RelayYaml) => void): Promise<void> => {
    const file = join(stack.dir, 'relay.yaml');
    const doc = parse(await readFile(file, 'utf8')) as RelayYaml;
    change(doc);
    await writeFile(file, stringify(doc));
  };
  const cutMetric = async (metricsPort: number): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const m = /^tunnelwatch_calls_cut_by_rules_total (\d+)$/m.exec(text);
    assert.ok(m, 'the counter is exposed');
    return Number(m[1]);
  };

  before(async () => {
    echoServer = net.createServer((s) => s.pipe(s));
    otherEcho = net.createServer((s) => s.pipe(s));
    wsBackend = http.createServer((_req, res) => res.end('plain'));
    wsBackend.on('upgrade', (req, socket) => {
      const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      socket.pipe(socket);
    });
    for (const s of [echoServer, otherEcho, wsBackend]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    opsPort = await freePort();
    stack = await startTunnelStack({
      tokens: [{ subaccount: 'acme', cloudApp: 'portal', token: TOKEN_A }, { subaccount: 'acme', cloudApp: 'batch', token: TOKEN_B }],
      relayAdmin: { tokens: [{ name: 'ops', token: 'tw_revoke_admin_token_0123456789' }] },
      connectors: [{
        id: 'connector-1',
        subaccounts: {
          acme: {
            mappings: [
              { virtual: 'db.virtual:5432', internal: `127.0.0.1:${port(echoServer)}`, protocol: 'tcp' },
              { virtual: 'cache.virtual:6379', internal: `127.0.0.1:${port(echoServer)}`, protocol: 'tcp' },
              { virtual: 'keep.virtual:7000', internal: `127.0.0.1:${port(echoServer)}`, protocol: 'tcp' },
              { virtual: 'chat.virtual:80', internal: `127.0.0.1:${port(wsBackend)}`, protocol: 'http', resources: [{ id: 'live', path: '/live', websocket: true }] },
            ],
          },
        },
        extra: { ops: { listen: `127.0.0.1:${opsPort}` } },
      }],
    });
  });
  after(async () => {
    for (const s of open) s.destroy();
    await stack?.stop();
    for (const s of [echoServer, otherEcho, wsBackend]) await new Promise((r) => s?.close(r));
  });

  test('a connector reload cuts the tunnels and websockets its new rules refuse or send elsewhere, and no other', async () => {
    const db = await tunnel('db.virtual:5432', TOKEN_A);
    const cache = await tunnel('cache.virtual:6379', TOKEN_A);
    const keep = await tunnel('keep.virtual:7000', TOKEN_A);
    const ws = await websocket(TOKEN_A);
    const connector = (): StartedProcess | undefined => stack.connector('connector-1');
    assert.equal(await cutMetric(opsPort), 0);

    await editConnector((doc) => {
      const m = doc.subaccounts.acme.mappings;
      doc.subaccounts.acme.mappings = m.filter((x) => x.virtual !== 'db.virtual:5432');
      const cacheMapping = doc.subaccounts.acme.mappings.find((x) => x.virtual === 'cache.virtual:6379');
      if (cacheMapping) cacheMapping.internal = `127.0.0.1:${port(otherEcho)}`;
      const chat = doc.subaccounts.acme.mappings.find((x) => x.virtual === 'chat.virtual:80');
      if (chat?.resources?.[0]) chat.resources[0].websocket = false;
    });
    await hup(connector(), /^configuration reload/);
    await Promise.all([socketClosed(db, 5000), socketClosed(cache, 5000), socketClosed(ws, 5000)]);
    await echo(keep, 'still here');
    assert.equal(keep.destroyed, false, 'the tunnel the rules still allow, to the same backend, stays open');
    assert.equal(count(connector(), CUT_CONNECTOR), 3);
    const why = logLines(connector()).filter((l) => l.msg === CUT_CONNECTOR).map((l) => `${String(l.virtual_host)} ${String(l.why)}`).sort();
    assert.match(why[0] ?? '', /^cache\.virtual the mapping of cache\.virtual:6379 now leads to tcp:\/\/127\.0\.0\.1:\d+$/);
    assert.match(why[1] ?? '', /^chat\.virtual protocol_not_allowed: websocket upgrade is not allowed by resource live$/);
    assert.match(why[2] ?? '', /^db\.virtual no_mapping: no mapping for db\.virtual:5432/);
    assert.equal(await cutMetric(opsPort), 3);

    // Each cut tunnel has its event: allowed when it opened, ended by a reset.
    const events = await stack.waitForAudit('connector-1', 3);
    for (const host of ['db.virtual', 'cache.virtual', 'chat.virtual']) {
      const e = events.find((x) => x.virtual_host === host);
      assert.ok(e, `an event for ${host}`);
      assert.equal(e.decision, 'allow');
      assert.equal(e.error_type, 'reset');
    }
    assert.equal(events.some((x) => x.virtual_host === 'keep.virtual'), false, 'the open tunnel has no event yet');
    const again = await proxyConnect(stack.proxyPort, 'db.virtual:5432', { token: TOKEN_A });
    assert.equal(again.status, 403, 'a new tunnel to the removed mapping is refused');
    // The re-pointed mapping opens to its new backend.
    const moved = await tunnel('cache.virtual:6379', TOKEN_A);
    assert.equal(otherEcho.listening, true);
    moved.destroy();
    keep.destroy();
  });

  test('a relay reload cuts the tunnels opened with a token it removes or moves, and no other', async () => {
    const relay = (): StartedProcess | undefined => stack.relay();
    const adminPort = stack.adminPort;
    const a = await tunnel('keep.virtual:7000', TOKEN_A);
    const b = await tunnel('keep.virtual:7000', TOKEN_B);
    const bAgain = await tunnel('keep.virtual:7000', TOKEN_B);
    assert.equal(await cutMetric(adminPort), 0);

    await editRelay((doc) => {
      doc.tokens = doc.tokens.filter((t) => t.sha256 !== sha256(TOKEN_A));
    });
    await hup(relay(), /^relay configuration changed|^configuration reload/);
    await socketClosed(a, 5000);
    await echo(b, 'b is still here');
    await echo(bAgain, 'so is the other');
    assert.equal(count(relay(), CUT_RELAY), 1);
    const cut = logLines(relay()).find((l) => l.msg === CUT_RELAY);
    assert.equal(cut?.cloud_app, 'portal');
    assert.equal(cut?.kind, 'connect');
    assert.equal(JSON.stringify(logLines(relay())).includes(TOKEN_A), false, 'the token is never logged');
    assert.equal((await proxyConnect(stack.proxyPort, 'keep.virtual:7000', { token: TOKEN_A })).status, 407);

    // The same token moved to another cloud app: what it admitted as "batch" is cut.
    await editRelay((doc) => {
      for (const t of doc.tokens) if (t.sha256 === sha256(TOKEN_B)) t.cloud_app = 'reports';
    });
    await hup(relay(), /^relay configuration changed|^configuration reload/);
    await Promise.all([socketClosed(b, 5000), socketClosed(bAgain, 5000)]);
    assert.equal(count(relay(), CUT_RELAY), 3);
    assert.equal(await cutMetric(adminPort), 3);
    const fresh = await tunnel('keep.virtual:7000', TOKEN_B);
    fresh.destroy();
  });

  test('a token that expires is refused from then on, and the tunnels it opened are cut at that moment', async () => {
    const relay = (): StartedProcess | undefined => stack.relay();
    const expiresAt = new Date(Date.now() + 4000).toISOString();
    await editRelay((doc) => {
      doc.tokens.push({ subaccount: 'acme', cloud_app: 'nightly', sha256: sha256(TOKEN_C), expires_at: expiresAt });
    });
    await hup(relay(), /^relay configuration changed|^configuration reload/);
    const metrics = await (await fetch(`http://127.0.0.1:${stack.adminPort}/metrics`)).text();
    assert.match(metrics, new RegExp(`^tunnelwatch_token_expiry_timestamp_seconds\\{subaccount="acme",cloud_app="nightly"\\} ${Date.parse(expiresAt) / 1000}$`, 'm'));
    assert.ok(logLines(relay()).some((l) => l.msg === 'a cloud app token expires soon: give the app a new one (tunnelwatch token new) before then' && l.cloud_app === 'nightly'));
    const before = count(relay(), 'call cut: the token that admitted it expired');
    const c = await tunnel('keep.virtual:7000', TOKEN_C);
    const other = await tunnel('keep.virtual:7000', TOKEN_B);
    await socketClosed(c, 10_000);
    assert.ok(Date.now() >= Date.parse(expiresAt), 'not cut before its time');
    assert.equal(count(relay(), 'call cut: the token that admitted it expired'), before + 1);
    await echo(other, 'the unexpired token stays');
    const refused = await proxyConnect(stack.proxyPort, 'keep.virtual:7000', { token: TOKEN_C });
    assert.equal(refused.status, 407);
    assert.match(refused.body, /the token expired at /);
    await proxyConnect(stack.proxyPort, 'keep.virtual:7000', { token: TOKEN_C });
    assert.equal(count(relay(), 'a cloud app presented an expired token (refused as unauthenticated)'), 1, 'one warning, not one per attempt');
    other.destroy();
  });
});
