// The alert reporter of relay and connector against a local HTTP server standing in for the collector:
// report() returns at once whatever the collector does; batches carry schema, emitter and token; a 503 is
// retried (Retry-After honoured) until a 200, keeping the order; a 400 is final; a full queue drops the
// oldest; without a collector every alert is only logged, and the log line says which alert it is.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../../common/log.js';
import type { OpsBatch, OpsEvent } from '../../../common/ops/ops-events.js';
import { createOpsReporter } from '../../../common/ops/ops-reporter.js';

interface Got { auth: string; type: string; batch: OpsBatch }

const TOKEN = 'tw_ops-reporter-test-token';
const silent = createLogger({ name: 'test', level: 'silent' });

function event(n: number, state: OpsEvent['state'] = 'firing'): OpsEvent {
  const at = new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString();
  return { type: 'tunnel_down', state, at, subject: `conn-${n}`, episode: at, since: at, detail: { n } };
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('OpsReporter', () => {
  let dir: string;
  let server: http.Server;
  let url: string;
  const got: Got[] = [];
  let answers: { status: number; headers?: Record<string, string>; body?: string }[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tw-ops-reporter-'));
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        got.push({ auth: String(req.headers.authorization), type: String(req.headers['content-type']), batch: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OpsBatch });
        const a = answers.shift() ?? { status: 200 };
        res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
        res.end(a.body ?? '{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const reporter = (maxQueued = 100, target = url) => createOpsReporter({
    emitter: 'relay', emitterId: 'relay-1', maxQueued, flushDelayMs: 5, log: silent,
    backoff: { initialDelayMs: 20, maxDelayMs: 50, jitter: 0 },
    collector: { url: target, tokenFile: join(dir, 'token'), requestTimeoutMs: 2000 },
  });

  it('sends a batch with schema, emitter and token, retries a 503 after its Retry-After, keeps the order', async () => {
    got.length = 0;
    answers = [{ status: 503, headers: { 'retry-after': '0' } }, { status: 503, body: '{"error":{"reason":"store down"}}' }];
    const r = reporter();
    const started = Date.now();
    r.report(event(1));
    r.report(event(2));
    r.report(event(3, 'resolved'));
    assert.ok(Date.now() - started < 50, 'report() does not wait for the collector');
    assert.equal(r.stats.reported, 3);
    await until('three alerts delivered', () => (r.stats.sent === 3 ? true : undefined));
    assert.equal(got.length, 3, 'two refused attempts, then the delivery');
    for (const g of got) {
      assert.equal(g.auth, `Bearer ${TOKEN}`);
      assert.equal(g.type, 'application/json');
      assert.equal(g.batch.schema, 'tunnelwatch.ops/1');
      assert.deepEqual([g.batch.emitter, g.batch.emitter_id], ['relay', 'relay-1']);
      assert.deepEqual(g.batch.events.map((e) => [e.subject, e.state]), [['conn-1', 'firing'], ['conn-2', 'firing'], ['conn-3', 'resolved']]);
    }
    assert.deepEqual({ ...r.stats }, { reported: 3, sent: 3, dropped: 0, rejected: 0, queued: 0 });
    r.close();
  });

  it('gives a batch up when the collector refuses it as malformed (400), and goes on with the next', async () => {
    got.length = 0;
    answers = [{ status: 400, body: '{"error":{"code":"TW_ERR_INGEST_MALFORMED","reason":"events[0]: bad"}}' }];
    const r = reporter();
    r.report(event(1));
    await until('the refusal', () => (r.stats.rejected === 1 ? true : undefined));
    r.report(event(2));
    await until('the next alert delivered', () => (r.stats.sent === 1 ? true : undefined));
    assert.deepEqual(got.map((g) => g.batch.events.map((e) => e.subject)), [['conn-1'], ['conn-2']], 'the refused batch was not sent again');
    r.close();
  });

  it('holds at most maxQueued alerts while the collector is away, dropping the oldest', async () => {
    const closed = http.createServer();
    await new Promise<void>((res) => closed.listen(0, '127.0.0.1', res));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((res) => closed.close(res));
    const r = reporter(3, `http://127.0.0.1:${port}`);
    for (let i = 1; i <= 5; i++) r.report(event(i));
    assert.equal(r.stats.dropped, 2);
    assert.equal(r.stats.queued, 3);
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(r.stats.sent, 0);
    assert.ok(r.stats.queued + 0 <= 3, 'still bounded while retrying');
    r.close();
  });

  it('without a collector, logs each alert (warn when firing, with its code) and counts it', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write(chunk: Buffer, _enc, cb) { for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>); cb(); } });
    const r = createOpsReporter({ emitter: 'connector', emitterId: 'conn-1', maxQueued: 10, log: createLogger({ name: 'test', level: 'debug', destination: sink }) });
    r.report({ type: 'spool_filling', state: 'firing', at: '2025-01-01T00:00:00.000Z', subject: 'conn-1', episode: 'e1', severity: 'medium', detail: { fill_ratio: 0.85 } });
    r.report({ type: 'spool_filling', state: 'resolved', at: '2025-01-01T00:10:00.000Z', subject: 'conn-1', episode: 'e1', detail: { fill_ratio: 0.4 } });
    await until('two log lines', () => (lines.length >= 2 ? true : undefined));
    const [firing, resolved] = lines;
    assert.deepEqual([firing?.level, firing?.code, firing?.alert, firing?.fill_ratio, firing?.severity], [40, 'TW_ERR_OPS_ALERT', 'ops_spool_filling', 0.85, 'medium']);
    assert.deepEqual([resolved?.level, resolved?.state], [30, 'resolved']);
    assert.equal(r.stats.reported, 2);
    assert.equal(r.stats.sent, 0);
    r.close();
  });
});
