// The TCP/TLS transport against small in-process receivers that misbehave on purpose: closing after a
// batch, resetting under one, never reading, presenting a certificate we must refuse.
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../../../common/log.js';
import { createCa, issueRelayCertificate, type IssuedCertificate } from '../../../../connector/pki/pki.js';
import { octetCountedFrames } from '../../../../collector/export/syslog/framing.js';
import { StreamTransport, type StreamTransportOptions } from '../../../../collector/export/syslog/stream-transport.js';
import type { SendResult } from '../../../../collector/export/syslog/transport.js';
import { freePort } from '../../../helpers/ports.js';

const log = createLogger({ name: 'test', level: 'silent' });
const never = new AbortController().signal;

/** Reads octet-counted frames off a byte stream. */
class FrameReader {
  private buf = Buffer.alloc(0);
  readonly messages: string[] = [];
  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      const sp = this.buf.indexOf(0x20);
      if (sp < 0) return;
      const len = Number(this.buf.subarray(0, sp).toString('latin1'));
      if (this.buf.length < sp + 1 + len) return;
      this.messages.push(this.buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
      this.buf = this.buf.subarray(sp + 1 + len);
    }
  }
}

interface Receiver {
  readonly port: number;
  readonly reader: FrameReader;
  readonly sockets: net.Socket[];
  close(): Promise<void>;
}

async function receiver(onSocket: (s: net.Socket, r: FrameReader) => void = () => undefined, secure?: tls.TlsOptions): Promise<Receiver> {
  const reader = new FrameReader();
  const sockets: net.Socket[] = [];
  const handle = (s: net.Socket) => {
    sockets.push(s);
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => reader.push(d));
    onSocket(s, reader);
  };
  const server = secure ? tls.createServer(secure, handle) : net.createServer(handle);
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port, reader, sockets,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

function transport(port: number, extra: Partial<StreamTransportOptions> = {}): StreamTransport {
  return new StreamTransport({ host: '127.0.0.1', port, connectTimeoutMs: 2000, writeTimeoutMs: 2000, confirmMs: 50, replayWindowMs: 10_000, log, ...extra });
}

const messages = (tag: string, n: number): string[] => Array.from({ length: n }, (_, i) => `<134>1 - h tw 1 audit - ${tag}-${i} ünï`);
/** A batch as the exporter hands it over: the messages as one buffer of octet-counted frames. */
const batch = (tag: string, n: number): Buffer => octetCountedFrames(messages(tag, n));
const waitFor = async (cond: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('TCP transport', () => {
  test('delivers every message of a batch in octet-counting framing', async () => {
    const r = await receiver();
    const t = transport(r.port);
    assert.deepEqual(await t.send(batch('a', 100), never), { ok: true });
    await waitFor(() => r.reader.messages.length === 100);
    assert.equal(r.reader.messages[99], '<134>1 - h tw 1 audit - a-99 ünï');
    await t.close();
    await r.close();
  });

  test('says retryable, with the code, when nothing listens', async () => {
    const t = transport(await freePort());
    const res = await t.send(batch('x', 1), never);
    assert.equal(res.ok, false);
    assert.equal((res as Extract<SendResult, { ok: false }>).retryable, true);
    assert.match((res as Extract<SendResult, { ok: false }>).reason, /^TW_ERR_SYSLOG_UNREACHABLE: .*connecting.*ECONNREFUSED/);
  });

  test('writes recent batches again on a new connection when the receiver closed the old one', async () => {
    // Batch a is delivered and settled; then the receiver closes. Had it restarted, a might be lost
    // (TCP cannot tell), so a is written again, before b, on the next connection.
    const r = await receiver();
    const t = transport(r.port);
    assert.deepEqual(await t.send(batch('a', 10), never), { ok: true });
    await waitFor(() => r.reader.messages.length === 10);
    r.sockets[0]?.end();
    await waitFor(() => t.replayBytes > 0);
    assert.ok(t.replayBytes > 0, 'batch a waits to be replayed');
    assert.deepEqual(await t.send(batch('b', 5), never), { ok: true });
    await waitFor(() => r.reader.messages.length === 25);
    assert.deepEqual(r.reader.messages.slice(10, 25), [...messages('a', 10), ...messages('b', 5)]);
    assert.equal(t.replayBytes, 0);
    await t.close();
    await r.close();
  });

  test('makes a batch retryable when the receiver resets the connection under it', async () => {
    const r = await receiver((s) => s.once('data', () => s.resetAndDestroy()));
    const t = transport(r.port, { confirmMs: 300 });
    const res = await t.send(batch('a', 3), never);
    assert.equal(res.ok, false, 'the reset arrives within confirm_ms');
    assert.match((res as Extract<SendResult, { ok: false }>).reason, /TW_ERR_SYSLOG_UNREACHABLE/);
    await t.close();
    await r.close();
  });

  test('writes the next batch while the last one is being confirmed, in order', async () => {
    const r = await receiver();
    const t = transport(r.port, { confirmMs: 400 });
    // A new connection waits confirm_ms before its first write (a TLS refusal comes late): connect first.
    assert.deepEqual(await t.send(batch('z', 1), never), { ok: true });
    const first = t.send(batch('a', 3), never);
    const second = t.send(batch('b', 2), never);
    let firstSettled = false;
    void first.then(() => (firstSettled = true));
    // Both batches reach the receiver before the first one's confirmation (400 ms) is over.
    await waitFor(() => r.reader.messages.length === 6, 350);
    assert.equal(firstSettled, false);
    assert.deepEqual(r.reader.messages, [...messages('z', 1), ...messages('a', 3), ...messages('b', 2)]);
    assert.deepEqual(await first, { ok: true });
    assert.deepEqual(await second, { ok: true });
    await t.close();
    await r.close();
  });

  test('fails both batches in flight when the connection resets while the first is confirmed', async () => {
    // The receiver resets once it holds both batches: neither counts as delivered, and both are
    // written again on the next connection (replay), before anything sent later.
    const r = await receiver((s, reader) => s.on('data', () => {
      if (reader.messages.length === 5 && r.sockets.length === 1) s.resetAndDestroy();
    }));
    const t = transport(r.port, { confirmMs: 300 });
    const [first, second] = await Promise.all([t.send(batch('a', 3), never), t.send(batch('b', 2), never)]);
    assert.equal(first?.ok, false);
    assert.equal(second?.ok, false);
    assert.deepEqual(await t.send(batch('c', 1), never), { ok: true });
    await waitFor(() => r.reader.messages.length === 11);
    assert.deepEqual(r.reader.messages.slice(5), [...messages('a', 3), ...messages('b', 2), ...messages('c', 1)]);
    await t.close();
    await r.close();
  });

  test('gives up on a receiver that stops reading after write_timeout_ms', async () => {
    const r = await receiver((s) => s.pause());
    const t = transport(r.port, { writeTimeoutMs: 300 });
    const big = octetCountedFrames(['a'.repeat(32 * 1024 * 1024)]);
    const started = Date.now();
    const res = await t.send(big, never);
    assert.equal(res.ok, false);
    assert.match((res as Extract<SendResult, { ok: false }>).reason, /write_timeout_ms/);
    assert.ok(Date.now() - started < 2000);
    await t.close();
    await r.close();
  });

  test('settles at once when the send is aborted', async () => {
    const r = await receiver();
    const t = transport(r.port);
    const ac = new AbortController();
    ac.abort();
    const res = await t.send(batch('a', 1), ac.signal);
    assert.equal(res.ok, false);
    assert.match((res as Extract<SendResult, { ok: false }>).reason, /aborted/);
    await t.close();
    await r.close();
  });
});

describe('TLS transport', () => {
  let ca: IssuedCertificate;
  let server: IssuedCertificate;
  let r: Receiver;
  before(async () => {
    ca = await createCa();
    server = await issueRelayCertificate(ca, { hosts: ['syslog.test', '127.0.0.1'] });
    r = await receiver(undefined, { cert: server.certPem, key: server.keyPem });
  });
  after(() => r.close());

  test('delivers over TLS when the receiver\'s certificate verifies for the server name', async () => {
    const t = transport(r.port, { tls: { ca: ca.certPem, servername: 'syslog.test', minVersion: 'TLSv1.2' } });
    assert.deepEqual(await t.send(batch('tls', 20), never), { ok: true });
    await waitFor(() => r.reader.messages.some((m) => m.endsWith('tls-19 ünï')));
    await t.close();
  });

  test('fails (not retryable) on an untrusted certificate or a wrong server name', async () => {
    const other = await createCa({ commonName: 'Other CA' });
    for (const options of [{ ca: other.certPem, servername: 'syslog.test' }, { ca: ca.certPem, servername: 'elsewhere.test' }]) {
      const t = transport(r.port, { tls: options });
      const res = await t.send(batch('x', 1), never);
      assert.equal(res.ok, false);
      assert.equal((res as Extract<SendResult, { ok: false }>).retryable, false);
      assert.match((res as Extract<SendResult, { ok: false }>).reason, /^TW_ERR_SYSLOG_TLS: /);
      await t.close();
    }
  });
});
