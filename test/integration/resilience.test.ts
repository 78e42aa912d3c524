// Failure behaviour of the real relay and connector processes: stalled backends and slow readers must not
// hold up other calls, backend timeouts, a crashed or frozen connector, a crashed relay. Every wait is bounded.
import assert from 'node:assert/strict';
import http, { type IncomingMessage } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import type { AuditEvent } from '../../common/audit/event.js';
import { startIdBackend, type IdAnswer, type IdBackend } from '../helpers/id-backend.js';
import { startNginx, type Nginx } from '../helpers/nginx.js';
import { waitFor } from '../helpers/processes.js';
import { proxyConnect, proxyRequest, refusalOf, socketClosed, type ProxyResponse } from '../helpers/proxy-client.js';
import { waitRoutable } from '../helpers/routable.js';
import { startLatencyLink, type LatencyLink } from '../helpers/latency-link.js';
import { startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

const TOKEN = 'tw_test_acme_app_0123456789abcdef';
const TOKEN_SHORT = 'tw_test_shorty_app_0123456789abcdef';

/** The stack's reconnect settings (test/helpers/tunnel-stack.ts): initial 100 ms, max 1000 ms. */
const MAX_RECONNECT_DELAY_MS = 1000;
/** The stack's keepalive: PING every 1000 ms on both ends; two missed close the session. */
const PING_INTERVAL_MS = 1000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const everything = (id: string) => [{ id, path: '/', match: 'prefix', methods: [] }];

/** A TCP echo server (for CONNECT streams that stay open). */
async function startEcho(): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A TCP backend that sends `total` bytes as fast as the reader takes them; written() counts what it handed over. */
async function startFirehose(total: number): Promise<{ port: number; written(): number; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let written = 0;
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let sent = 0;
    const pump = (): void => {
      while (sent < total && !s.destroyed) {
        sent += chunk.length;
        written += chunk.length;
        if (!s.write(chunk)) {
          s.once('drain', pump);
          return;
        }
      }
      if (sent >= total) s.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    written: () => written,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** What a call that must end (but may fail) ended with: a response or a client-side error. */
type Outcome = { kind: 'response'; r: ProxyResponse; ms: number } | { kind: 'error'; message: string; ms: number };

async function outcome(p: Promise<ProxyResponse>): Promise<Outcome> {
  const started = performance.now();
  try {
    const r = await p;
    return { kind: 'response', r, ms: performance.now() - started };
  } catch (e) {
    return { kind: 'error', message: (e as Error).message, ms: performance.now() - started };
  }
}

describe('stalled backends, slow readers and backend timeouts', () => {
  let stack: TunnelStack;
  let nginx: Nginx;
  let stall: IdBackend;
  let firehose: { port: number; written(): number; stop(): Promise<void> };

  const orders = (token = TOKEN, host = 'erp.virtual:8000') => proxyRequest(stack.proxyPort, `http://${host}/api/orders/1`, { token, timeoutMs: 10_000 });

  before(async () => {
    nginx = await startNginx({ bigFileMb: 256 });
    stall = await startIdBackend('stall', { stall: true });
    firehose = await startFirehose(256 * 1024 * 1024);
    stack = await startTunnelStack({
      tokens: [
        { subaccount: 'acme', cloudApp: 'app', token: TOKEN },
        { subaccount: 'shorty', cloudApp: 'app', token: TOKEN_SHORT },
      ],
      connectors: [
        {
          id: 'conn-main',
          subaccounts: {
            acme: {
              mappings: [
                { virtual: 'erp.virtual:8000', internal: `127.0.0.1:${nginx.port}`, protocol: 'http', resources: everything('acme-erp') },
                { virtual: 'stall.virtual:8000', internal: `127.0.0.1:${stall.port}`, protocol: 'http', resources: everything('acme-stall') },
                { virtual: 'firehose.virtual:9000', internal: `127.0.0.1:${firehose.port}`, protocol: 'tcp', id: 'acme-firehose' },
              ],
            },
          },
        },
        {
          id: 'conn-short',
          subaccounts: {
            shorty: {
              mappings: [
                { virtual: 'erp.virtual:8000', internal: `127.0.0.1:${nginx.port}`, protocol: 'http', resources: everything('shorty-erp') },
                { virtual: 'stall.virtual:8000', internal: `127.0.0.1:${stall.port}`, protocol: 'http', resources: everything('shorty-stall') },
              ],
            },
          },
          extra: { backend: { connect_timeout_ms: 2000, response_timeout_ms: 700 } },
        },
      ],
    });
    await waitRoutable(stack.proxyPort, 'http://erp.virtual:8000/api/orders/1', TOKEN);
    await waitRoutable(stack.proxyPort, 'http://erp.virtual:8000/api/orders/1', TOKEN_SHORT);
  });
  after(async () => {
    await stack?.stop();
    await nginx?.stop();
    await stall?.stop();
    await firehose?.stop();
  });

  test('20 calls stuck on a stalled backend do not slow calls to a healthy one', async () => {
    const stalledBefore = stall.requests.length;
    const pendingBefore = stall.pending();
    const aborts = Array.from({ length: 20 }, () => new AbortController());
    let settled = 0;
    const stuck = aborts.map((abort, i) =>
      outcome(proxyRequest(stack.proxyPort, `http://stall.virtual:8000/hang/${i}`, { token: TOKEN, timeoutMs: 60_000, signal: abort.signal })).finally(() => settled++),
    );
    try {
      // All 20 are really inside the backend, holding a tunnel stream and a backend connection each.
      await waitFor(() => stall.requests.length - stalledBefore >= 20, { timeoutMs: 5000, message: '20 requests at the stalled backend' });
      for (let i = 0; i < 10; i++) {
        const r = await orders();
        assert.equal(r.status, 200, r.body);
        assert.deepEqual(JSON.parse(r.body), { id: 1, item: 'valve', quantity: 3 });
        assert.ok(r.ms < 1000, `call ${i} to the healthy backend took ${Math.round(r.ms)} ms`);
      }
      const parallel = await Promise.all(Array.from({ length: 10 }, () => orders()));
      for (const r of parallel) {
        assert.equal(r.status, 200, r.body);
        assert.ok(r.ms < 1000, `a parallel call to the healthy backend took ${Math.round(r.ms)} ms`);
      }
      assert.equal(settled, 0, 'a call to the stalled backend ended although the backend never answered');
      assert.equal(stall.pending() - pendingBefore, 20);
    } finally {
      for (const abort of aborts) abort.abort();
    }
    const ends = await Promise.all(stuck);
    assert.ok(ends.every((o) => o.kind === 'error'), 'an aborted call got a response');
  });

  test('when cloud apps give up on calls, the connector cancels their backend requests and audits each call', async () => {
    const seen = stall.requests.length;
    const abandonedBefore = stall.abandoned();
    const eventsBefore = (await stack.auditEvents('conn-main')).length;
    const abort = new AbortController();
    const calls = Array.from({ length: 5 }, (_, i) =>
      outcome(proxyRequest(stack.proxyPort, `http://stall.virtual:8000/give-up/${i}`, { token: TOKEN, timeoutMs: 60_000, signal: abort.signal })),
    );
    await waitFor(() => stall.requests.length - seen >= 5, { timeoutMs: 5000, message: '5 requests at the stalled backend' });
    abort.abort();
    await Promise.all(calls);
    // Every call writes one audit event, also the cancelled ones.
    const events = await waitFor(
      async () => {
        const mine = (await stack.auditEvents('conn-main')).slice(eventsBefore).filter((e) => e.path.startsWith('/give-up/'));
        return mine.length >= 5 ? mine : undefined;
      },
      { timeoutMs: 5000, message: '5 connector events for the cancelled calls' },
    );
    assert.equal(events.length, 5);
    assert.ok(events.every((e) => e.decision === 'allow' && e.rule_id === 'acme-stall' && e.internal_port === stall.port));
    // The cloud apps hung up: the connector must hang up on the backend too, not leave the requests (and
    // their backend connections) open for as long as the backend cares to hold them.
    await waitFor(() => stall.abandoned() - abandonedBefore >= 5, {
      timeoutMs: 5000,
      message: `the connector to cancel the 5 backend requests (cancelled: ${stall.abandoned() - abandonedBefore})`,
    });
  });

  test('a client that stops reading a large download does not stall other calls, and the download completes later', async () => {
    const big = nginx.bigFile;
    assert.ok(big);
    const req = http.request({
      host: '127.0.0.1',
      port: stack.proxyPort,
      path: `http://erp.virtual:8000${big.path}`,
      headers: { host: 'erp.virtual:8000', 'proxy-authorization': `Bearer ${TOKEN}` },
      agent: false,
    });
    const killer = setTimeout(() => req.destroy(new Error('the big download did not finish within 60 s')), 60_000);
    try {
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        req.on('response', resolve);
        req.on('error', reject);
        req.end();
      });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-length'], String(big.bytes));
      let received = 0;
      let paused = false;
      const done = new Promise<void>((resolve, reject) => {
        res.on('end', resolve);
        res.on('error', reject);
        req.on('error', reject);
      });
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (!paused) {
          paused = true;
          res.pause();
        }
      });
      await waitFor(() => paused, { timeoutMs: 5000, message: 'the first bytes of the download' });
      // Give the pipeline time to fill every buffer and window up to the paused reader.
      await sleep(1000);
      const atPause = received;
      for (let i = 0; i < 10; i++) {
        const r = await orders();
        assert.equal(r.status, 200, r.body);
        assert.ok(r.ms < 1000, `call ${i} took ${Math.round(r.ms)} ms while a reader was paused`);
      }
      const parallel = await Promise.all(Array.from({ length: 10 }, () => orders()));
      for (const r of parallel) assert.ok(r.status === 200 && r.ms < 1000, `a parallel call: ${r.status} in ${Math.round(r.ms)} ms`);
      assert.equal(received, atPause);
      // Backpressure reaches the backend: nothing on the way buffered the whole 256 MiB, so nginx has not
      // finished sending it (it logs a request once the response is complete).
      assert.ok(!(await nginx.accessLog()).some((l) => l.startsWith(`GET ${big.path} `)), 'nginx finished sending the whole file to a paused reader');
      res.resume();
      await done;
      assert.equal(received, big.bytes);
    } finally {
      clearTimeout(killer);
      req.destroy();
    }
  });

  test('a CONNECT client that stops reading a fast TCP sender does not stall other calls, and backpressure reaches the sender', async () => {
    const r = await proxyConnect(stack.proxyPort, 'firehose.virtual:9000', { token: TOKEN });
    assert.equal(r.status, 200, r.body);
    const socket = r.socket;
    socket.on('error', () => {});
    try {
      let received = 0;
      socket.on('data', (c: Buffer) => (received += c.length));
      await waitFor(() => received > 0, { timeoutMs: 5000, message: 'the first bytes from the firehose' });
      socket.pause();
      await sleep(1000);
      const writtenAtPause = firehose.written();
      for (let i = 0; i < 10; i++) {
        const o = await orders();
        assert.equal(o.status, 200, o.body);
        assert.ok(o.ms < 1000, `call ${i} took ${Math.round(o.ms)} ms while a CONNECT reader was paused`);
      }
      // The sender is held back: it neither finished nor kept writing while nobody read.
      const total = 256 * 1024 * 1024;
      assert.ok(firehose.written() < total / 2, `the firehose pushed ${firehose.written()} of ${total} bytes to a paused reader`);
      assert.ok(firehose.written() - writtenAtPause < 16 * 1024 * 1024, `the firehose kept writing while the reader was paused (${firehose.written() - writtenAtPause} bytes)`);
    } finally {
      socket.destroy();
    }
  });

  test('a backend that never answers gets 504 backend_timeout after backend.response_timeout_ms', async () => {
    const before = (await stack.auditEvents('conn-short')).length;
    const abandonedBefore = stall.abandoned();
    const r = await proxyRequest(stack.proxyPort, 'http://stall.virtual:8000/never', { token: TOKEN_SHORT, timeoutMs: 10_000 });
    assert.equal(r.status, 504, r.body);
    assert.equal(r.headers['x-tunnel-error-type'], 'backend_timeout');
    assert.equal(refusalOf(r.body)?.error_type, 'backend_timeout');
    assert.ok(r.ms >= 650, `504 after ${Math.round(r.ms)} ms, before the 700 ms timeout`);
    assert.ok(r.ms < 700 + 2000, `504 only after ${Math.round(r.ms)} ms`);
    const e = (await stack.waitForAudit('conn-short', before + 1)).at(-1) as AuditEvent;
    assert.equal(e.decision, 'allow');
    assert.equal(e.rule_id, 'shorty-stall');
    assert.equal(e.error_type, 'backend_timeout');
    assert.equal(e.status, 504);
    assert.equal(e.path, '/never');
    assert.equal(e.internal_port, stall.port);
    assert.equal(e.backend_ttfb_us, 0);
    assert.ok(e.duration_us >= 650_000, `duration_us ${e.duration_us}`);
    // The connector gave up on the backend request too.
    await waitFor(() => stall.abandoned() > abandonedBefore, { timeoutMs: 3000, message: 'the connector to drop the timed-out backend request' });
    // The same connector still answers fast calls.
    const ok = await orders(TOKEN_SHORT);
    assert.equal(ok.status, 200, ok.body);
  });
});

describe('connector crash and freeze', () => {
  let stack: TunnelStack;
  let backend: IdBackend;
  let stall: IdBackend;
  let echo: Awaited<ReturnType<typeof startEcho>>;
  const CONNECTOR = 'conn-1';

  const call = (timeoutMs = 8000) => proxyRequest(stack.proxyPort, 'http://app.virtual:8000/ping', { token: TOKEN, timeoutMs });
  const newestRelayEvent = async (before: number): Promise<AuditEvent> => (await stack.waitForAudit('relay-1', before + 1)).at(-1) as AuditEvent;

  before(async () => {
    backend = await startIdBackend('app');
    stall = await startIdBackend('stall', { stall: true });
    echo = await startEcho();
    stack = await startTunnelStack({
      tokens: [{ subaccount: 'acme', cloudApp: 'app', token: TOKEN }],
      connectors: [
        {
          id: CONNECTOR,
          subaccounts: {
            acme: {
              mappings: [
                { virtual: 'app.virtual:8000', internal: `127.0.0.1:${backend.port}`, protocol: 'http', resources: everything('acme-app') },
                { virtual: 'stall.virtual:8000', internal: `127.0.0.1:${stall.port}`, protocol: 'http', resources: everything('acme-stall') },
                { virtual: 'echo.virtual:7', internal: `127.0.0.1:${echo.port}`, protocol: 'tcp', id: 'acme-echo' },
              ],
            },
          },
        },
      ],
    });
    await waitRoutable(stack.proxyPort, 'http://app.virtual:8000/ready', TOKEN);
  });
  after(async () => {
    await stack?.stop();
    await Promise.all([backend?.stop(), stall?.stop(), echo?.stop()]);
  });

  test('calls in flight when the connector is killed -9 end with a clean error, never a hang', async () => {
    const ok = await call();
    assert.equal(ok.status, 200, ok.body);
    const relayBefore = (await stack.auditEvents('relay-1')).length;
    // An HTTP call waiting on its backend, and an open CONNECT stream.
    const seen = stall.requests.length;
    const inFlight = outcome(proxyRequest(stack.proxyPort, 'http://stall.virtual:8000/in-flight', { token: TOKEN, timeoutMs: 10_000 }));
    await waitFor(() => stall.requests.length > seen, { timeoutMs: 5000, message: 'the in-flight call at the backend' });
    const tcp = await proxyConnect(stack.proxyPort, 'echo.virtual:7', { token: TOKEN });
    assert.equal(tcp.status, 200);
    tcp.socket.on('error', () => {});
    tcp.socket.write('ping\n');
    const echoed = await new Promise<string>((resolve) => tcp.socket.once('data', (c: Buffer) => resolve(c.toString())));
    assert.equal(echoed, 'ping\n');

    const killedAt = performance.now();
    await stack.connector(CONNECTOR)?.kill9();
    const o = await inFlight;
    assert.equal(o.kind, 'response', `the in-flight call failed on the client side instead of getting an answer: ${o.kind === 'error' ? o.message : ''}`);
    if (o.kind === 'response') {
      assert.ok([502, 503].includes(o.r.status), `in-flight call got ${o.r.status}: ${o.r.body}`);
      if (o.r.status === 502) assert.equal(o.r.headers['x-tunnel-error-type'], 'tunnel_down');
    }
    assert.ok(performance.now() - killedAt < 5000, 'the in-flight call took more than 5 s to end');
    await socketClosed(tcp.socket, 5000);
    // The relay records the broken call (the connector died before it could).
    const events = await stack.waitForAudit('relay-1', relayBefore + 1);
    const broken = events.slice(relayBefore).find((e) => e.path === '/in-flight');
    assert.ok(broken, 'no relay event for the call broken by the connector crash');
    assert.equal(broken.error_type, o.kind === 'response' && o.r.status === 503 ? '' : 'tunnel_down');
    assert.equal(broken.subaccount, 'acme');
  });

  test('with the connector dead, calls get 503 no_connector at once, with a relay event', async () => {
    const before = (await stack.auditEvents('relay-1')).length;
    const r = await call();
    assert.equal(r.status, 503, r.body);
    assert.equal(refusalOf(r.body)?.deny_reason, 'no_connector');
    assert.ok(r.ms < 1000, `503 took ${Math.round(r.ms)} ms`);
    const e = await newestRelayEvent(before);
    assert.equal(e.deny_reason, 'no_connector');
    assert.equal(e.decision, 'deny');
    assert.equal(e.status, 503);
    assert.equal(e.subaccount, 'acme');
    assert.equal(e.path, '/ping');
    // CONNECT is refused the same way.
    const c = await proxyConnect(stack.proxyPort, 'echo.virtual:7', { token: TOKEN });
    assert.equal(c.status, 503);
    assert.equal(refusalOf(c.body)?.deny_reason, 'no_connector');
  });

  test('a restarted connector serves calls again', async () => {
    await stack.connector(CONNECTOR)?.kill9();
    await stack.startConnector(CONNECTOR);
    await waitRoutable(stack.proxyPort, 'http://app.virtual:8000/ready', TOKEN, { timeoutMs: 1000 });
    const r = await call();
    assert.equal(r.status, 200, r.body);
    assert.equal((JSON.parse(r.body) as IdAnswer).backend, 'app');
  });

  test('a frozen connector (SIGSTOP) is dropped by keepalive: calls end within a bound, and it recovers after SIGCONT', async () => {
    const proc = stack.connector(CONNECTOR);
    assert.ok(proc);
    await waitFor(async () => (await call()).status === 200, { timeoutMs: 3000, message: 'the connector to route calls' });
    const frozenAt = performance.now();
    process.kill(proc.pid, 'SIGSTOP');
    try {
      // The TCP connection stays up; only the missed PINGs (2 x 1000 ms) can tell the relay.
      const inFlight = outcome(call(15_000));
      const o = await inFlight;
      const bound = 3 * PING_INTERVAL_MS + 2000;
      assert.ok(o.ms < bound, `a call to a frozen connector took ${Math.round(o.ms)} ms (bound ${bound})`);
      assert.equal(o.kind, 'response', o.kind === 'error' ? o.message : '');
      if (o.kind === 'response') assert.ok([502, 503].includes(o.r.status), `got ${o.r.status}: ${o.r.body}`);
      // Once the session is dropped, calls are refused at once.
      const r = await call();
      assert.equal(r.status, 503, r.body);
      assert.ok(r.ms < 1000);
      assert.ok(performance.now() - frozenAt < bound + 1000);
    } finally {
      process.kill(proc.pid, 'SIGCONT');
    }
    const resumedAt = performance.now();
    await waitFor(async () => (await call(2000)).status === 200, { timeoutMs: 10_000, intervalMs: 50, message: 'the thawed connector to serve calls again' });
    const took = performance.now() - resumedAt;
    // It must notice the dead session (relay closed it) and redial within its backoff.
    assert.ok(took < 2 * PING_INTERVAL_MS + MAX_RECONNECT_DELAY_MS + 1500, `recovery after SIGCONT took ${Math.round(took)} ms`);
  });
});

describe('relay crash', () => {
  let stack: TunnelStack;
  let backend: IdBackend;
  let stall: IdBackend;
  const CONNECTOR = 'conn-1';

  const call = (timeoutMs = 5000) => proxyRequest(stack.proxyPort, 'http://app.virtual:8000/ping', { token: TOKEN, timeoutMs });

  before(async () => {
    backend = await startIdBackend('app');
    stall = await startIdBackend('stall', { stall: true });
    stack = await startTunnelStack({
      tokens: [{ subaccount: 'acme', cloudApp: 'app', token: TOKEN }],
      connectors: [
        {
          id: CONNECTOR,
          subaccounts: {
            acme: {
              mappings: [
                { virtual: 'app.virtual:8000', internal: `127.0.0.1:${backend.port}`, protocol: 'http', resources: everything('acme-app') },
                { virtual: 'stall.virtual:8000', internal: `127.0.0.1:${stall.port}`, protocol: 'http', resources: everything('acme-stall') },
              ],
            },
          },
        },
      ],
    });
    await waitRoutable(stack.proxyPort, 'http://app.virtual:8000/ready', TOKEN);
  });
  after(async () => {
    await stack?.stop();
    await Promise.all([backend?.stop(), stall?.stop()]);
  });

  /** Polls until a proxied call succeeds; returns ms from now until then. */
  async function timeToFirstSuccess(limitMs: number): Promise<number> {
    const started = performance.now();
    await waitFor(
      async () => {
        const r = await call(1000).catch(() => undefined);
        return r?.status === 200;
      },
      { timeoutMs: limitMs, intervalMs: 20, message: 'a successful call after the relay restart' },
    );
    return performance.now() - started;
  }

  test('a call in flight when the relay is killed -9: the client gets an error, the connector cancels the backend request', async () => {
    const ok = await call();
    assert.equal(ok.status, 200, ok.body);
    const abandoned = stall.abandoned();
    const seen = stall.requests.length;
    const inFlight = outcome(proxyRequest(stack.proxyPort, 'http://stall.virtual:8000/in-flight', { token: TOKEN, timeoutMs: 10_000 }));
    await waitFor(() => stall.requests.length > seen, { timeoutMs: 5000, message: 'the in-flight call at the backend' });
    await stack.relay()?.kill9();
    try {
      const o = await inFlight;
      assert.equal(o.kind, 'error', 'the relay is dead: the client cannot have got an answer');
      assert.ok(o.ms < 5000);
      await waitFor(() => stall.abandoned() > abandoned, { timeoutMs: 5000, message: 'the connector to cancel the backend request of the dead tunnel' });
    } finally {
      await stack.startRelay();
      await timeToFirstSuccess(10_000);
    }
  });

  test('after kill -9 and restart of the relay, the connector reconnects within its backoff', async () => {
    const ok = await call();
    assert.equal(ok.status, 200, ok.body);
    const connectorPid = stack.connector(CONNECTOR)?.pid;
    await stack.relay()?.kill9();
    // Down long enough for the connector's backoff to reach its maximum (100, 200, 400, 800, 1000 ms...).
    await sleep(2500);
    await assert.rejects(call(1000), /ECONNREFUSED/);

    await stack.startRelay();
    const took = await timeToFirstSuccess(10_000);
    const bound = MAX_RECONNECT_DELAY_MS + 1000;
    assert.ok(took < bound, `first successful call ${Math.round(took)} ms after the relay was ready (bound ${bound} ms)`);
    // The same connector process reconnected; it was not restarted.
    assert.equal(stack.connector(CONNECTOR)?.pid, connectorPid);
    assert.equal(stack.connector(CONNECTOR)?.child.exitCode, null);
  });

  test('a relay that is back within the first backoff steps is rejoined just as fast', async () => {
    await stack.relay()?.kill9();
    await sleep(150);
    await stack.startRelay();
    const took = await timeToFirstSuccess(10_000);
    assert.ok(took < MAX_RECONNECT_DELAY_MS + 1000, `first successful call ${Math.round(took)} ms after the relay was ready`);
  });

  test('a relay frozen for 3 s (SIGSTOP) is rejoined within the backoff after SIGCONT', async () => {
    const relay = stack.relay();
    assert.ok(relay);
    assert.equal((await call()).status, 200);
    process.kill(relay.pid, 'SIGSTOP');
    try {
      // The connector sees no PING answers and drops the tunnel; its redials hang on the frozen relay.
      await sleep(3000);
    } finally {
      process.kill(relay.pid, 'SIGCONT');
    }
    const took = await timeToFirstSuccess(15_000);
    assert.ok(took < MAX_RECONNECT_DELAY_MS + 2000, `first successful call ${Math.round(took)} ms after SIGCONT`);
  });

  test('after the restart the relay refuses and audits as before (its audit chain continues)', async () => {
    const events = await stack.auditEvents('relay-1');
    const before = events.length;
    const r = await proxyRequest(stack.proxyPort, 'http://app.virtual:8000/ping', { token: 'tw_wrong', timeoutMs: 5000 });
    assert.equal(r.status, 407);
    const after = await stack.waitForAudit('relay-1', before + 1);
    const e = after.at(-1) as AuditEvent;
    assert.equal(e.deny_reason, 'unauthenticated');
    // seq is never reused after a restart and the chain links across it.
    const seqs = after.map((x) => x.seq);
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'relay seq numbers are not 1..n across restarts');
    for (let i = 1; i < after.length; i++) assert.equal(after[i]?.prev_hash, after[i - 1]?.hash, `chain broken at seq ${after[i]?.seq}`);
  });
});

describe('connector registration over a slow link', () => {
  let stack: TunnelStack;
  let backend: IdBackend;
  let link: LatencyLink;
  const CONNECTOR = 'conn-1';
  /** One-way delay from the connector to the relay (a WAN link); the other way is fast. */
  const UPSTREAM_MS = 300;

  before(async () => {
    backend = await startIdBackend('app');
    stack = await startTunnelStack({
      tokens: [{ subaccount: 'acme', cloudApp: 'app', token: TOKEN }],
      connectors: [
        {
          id: CONNECTOR,
          subaccounts: { acme: { mappings: [{ virtual: 'app.virtual:8000', internal: `127.0.0.1:${backend.port}`, protocol: 'http', resources: everything('acme-app') }] } },
        },
      ],
    });
    // Re-point the connector at the relay through the slow link and restart it there.
    link = await startLatencyLink({ port: stack.tunnelPort }, { upstreamMs: UPSTREAM_MS, downstreamMs: 5 });
    const file = join(stack.dir, `${CONNECTOR}.yaml`);
    const config = parse(await readFile(file, 'utf8')) as { relay: { address: string } };
    config.relay.address = `127.0.0.1:${link.port}`;
    await writeFile(file, stringify(config));
    await stack.connector(CONNECTOR)?.kill9();
  });
  after(async () => {
    await stack?.stop();
    await link?.stop();
    await backend?.stop();
  });

  test('once the connector reports "tunnel registered with relay", the relay routes its calls', async () => {
    await stack.startConnector(CONNECTOR);
    assert.ok(link.connections() >= 1, 'the connector did not dial through the slow link');
    // The connector declared itself registered (log line, status, whenRegistered): a call now must be routed.
    const r = await proxyRequest(stack.proxyPort, 'http://app.virtual:8000/ping', { token: TOKEN, timeoutMs: 5000 });
    assert.equal(r.status, 200, `first call after "tunnel registered with relay": ${r.status} ${r.body}`);
  });

  test('calls and keepalive work across the slow link', async () => {
    await waitRoutable(stack.proxyPort, 'http://app.virtual:8000/ready', TOKEN, { timeoutMs: 3000 });
    for (let i = 0; i < 3; i++) {
      const r = await proxyRequest(stack.proxyPort, 'http://app.virtual:8000/ping', { token: TOKEN, timeoutMs: 5000 });
      assert.equal(r.status, 200, r.body);
      assert.ok(r.ms >= UPSTREAM_MS - 20, `a call took ${Math.round(r.ms)} ms: it did not cross the slow link`);
    }
    // Several PING intervals with a 300 ms one-way delay: the session must stay up (no reconnect).
    const connects = link.connections();
    await sleep(3 * PING_INTERVAL_MS);
    for (const [name, p] of [['relay', stack.relay()], ['connector', stack.connector(CONNECTOR)]] as const) {
      const alive = p !== undefined && p.child.exitCode === null && p.child.signalCode === null;
      assert.ok(alive, `the ${name} exited (code ${p?.child.exitCode}, signal ${p?.child.signalCode}):\n${p?.stdout().slice(-4000)}\n${p?.stderr().slice(-4000)}`);
    }
    assert.equal(link.connections(), connects, 'the tunnel was re-established: keepalive dropped a slow but healthy link');
    const r = await proxyRequest(stack.proxyPort, 'http://app.virtual:8000/ping', { token: TOKEN, timeoutMs: 5000 });
    assert.equal(r.status, 200, r.body);
  });
});
