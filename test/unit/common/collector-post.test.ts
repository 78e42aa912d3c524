// The pieces the JSON reporters share, against a local server standing in for the collector: what each
// answer means (200 ok with its body, 400 final, 401 and 503 retried, 429 after its Retry-After, a refused
// connection retried), that the token file is read per attempt, and the batch queue's bound and drop count.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createBatchPoster, createCollectorPoster, type BatchPosterEvent, type CollectorTarget } from '../../../common/collector-post.js';
import { waitFor } from '../../helpers/processes.js';

interface Answer { status: number; headers?: Record<string, string>; body?: string }
interface Got { url: string; auth: string; gzip: boolean; body: unknown }

describe('collector post', () => {
  let dir: string;
  let server: http.Server;
  let target: CollectorTarget;
  let deadPort: number;
  const got: Got[] = [];
  let answers: Answer[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tw-collector-post-'));
    writeFileSync(join(dir, 'token'), 'tw_first_token\n');
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const gzip = req.headers['content-encoding'] === 'gzip';
        got.push({ url: req.url ?? '', auth: String(req.headers.authorization), gzip, body: JSON.parse((gzip ? gunzipSync(raw) : raw).toString('utf8')) });
        const a = answers.shift() ?? { status: 200 };
        res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
        res.end(a.body ?? '{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    target = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/base/`, tokenFile: join(dir, 'token'), requestTimeoutMs: 2000 };
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    deadPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('classifies 200, 400, 401, 429 with Retry-After, 503 and a refused connection', async () => {
    got.length = 0;
    answers = [
      { status: 200, body: '{"rules":4,"known":true}' },
      { status: 400, body: '{"error":{"code":"TW_ERR_INGEST_MALFORMED","reason":"events[0]: bad"}}' },
      { status: 401, headers: { 'retry-after': '30' }, body: '{"error":{"message":"bad token"}}' },
      { status: 429, headers: { 'retry-after': '7' }, body: '' },
      { status: 503, body: '<html>down</html>' },
    ];
    const p = createCollectorPoster(target, 'rules');
    assert.equal(p.endpoint.href, `${target.url}v1/rules`);
    assert.deepEqual(await p.post({ n: 1 }), { kind: 'ok', body: { rules: 4, known: true } });
    assert.deepEqual(await p.post({ n: 2 }), { kind: 'rejected', status: 400, reason: 'HTTP 400: events[0]: bad' });
    // Retry-After counts only with 429 and 503: a 401 waits for the backoff (and a fixed token file).
    assert.deepEqual(await p.post({ n: 3 }), { kind: 'retry', status: 401, reason: 'HTTP 401: bad token', retryAfterMs: undefined });
    assert.deepEqual(await p.post({ n: 4 }), { kind: 'retry', status: 429, reason: 'HTTP 429', retryAfterMs: 7000 });
    assert.deepEqual(await p.post({ n: 5 }), { kind: 'retry', status: 503, reason: 'HTTP 503: <html>down</html>', retryAfterMs: undefined });
    assert.deepEqual(got.map((g) => [g.url, (g.body as { n: number }).n, g.gzip]), [1, 2, 3, 4, 5].map((n) => ['/base/v1/rules', n, false]));

    const dead = await createCollectorPoster({ ...target, url: `http://127.0.0.1:${deadPort}` }, 'ops').post({});
    assert.equal(dead.kind, 'retry');
    assert.match(dead.kind === 'retry' ? dead.reason : '', /^ECONNREFUSED/);
  });

  it('reads the token file before every attempt and gzips only above the threshold', async () => {
    got.length = 0;
    answers = [{ status: 403 }];
    const p = createCollectorPoster(target, 'checks', { gzipAboveBytes: 1000, okStatuses: [200, 202] });
    assert.equal((await p.post({ small: true })).kind, 'retry');
    writeFileSync(join(dir, 'token'), 'tw_fixed_token\n');
    assert.equal((await p.post({ large: 'x'.repeat(2000) })).kind, 'ok');
    assert.deepEqual(got.map((g) => [g.auth, g.gzip]), [['Bearer tw_first_token', false], ['Bearer tw_fixed_token', true]]);
    writeFileSync(join(dir, 'token'), '');
    const unreadable = await p.post({});
    assert.equal(unreadable.kind, 'retry');
    assert.equal(got.length, 2, 'nothing sent without a token');
    writeFileSync(join(dir, 'token'), 'tw_first_token\n');
  });

  it('keeps at most maxQueued items while the collector is away, counting the dropped ones once per burst', async () => {
    const events: BatchPosterEvent[] = [];
    const q = createBatchPoster<number>({
      target: { ...target, url: `http://127.0.0.1:${deadPort}` }, path: 'ops', body: (items) => ({ items }),
      maxQueued: 3, maxBatch: 2, flushDelayMs: 5, backoff: { initialDelayMs: 20, maxDelayMs: 40, jitter: 0 },
      closeReason: 'test', onEvent: (e) => events.push(e),
    });
    for (let i = 1; i <= 10; i++) q.enqueue(i);
    assert.equal(q.dropped, 7);
    assert.equal(q.queued, 3);
    const drops = events.filter((e) => e.kind === 'dropped');
    assert.equal(drops.length, 7);
    assert.deepEqual(drops.map((e) => e.firstOfBurst), [true, false, false, false, false, false, false]);
    await waitFor(() => events.filter((e) => e.kind === 'retrying').length >= 2, { timeoutMs: 5000, intervalMs: 10, message: 'two failed attempts' });
    assert.ok(q.queued <= 3, 'still bounded while retrying');
    assert.equal(q.delivered, 0);
    q.close();
    assert.deepEqual(events.at(-1), { kind: 'unsent', items: q.queued });
  });

  it('delivers the newest items in batches once the collector answers, reporting the burst of drops', async () => {
    got.length = 0;
    answers = [{ status: 503, headers: { 'retry-after': '0' } }, { status: 400 }];
    const events: BatchPosterEvent[] = [];
    const q = createBatchPoster<number>({
      target, path: 'checks', body: (items) => ({ items }), maxQueued: 4, maxBatch: 2, flushDelayMs: 5,
      backoff: { initialDelayMs: 20, maxDelayMs: 40, jitter: 0 }, closeReason: 'test', onEvent: (e) => events.push(e),
    });
    for (let i = 1; i <= 6; i++) q.enqueue(i);
    await waitFor(() => q.delivered + q.rejected === 4, { timeoutMs: 5000, intervalMs: 10, message: 'all batches answered' });
    // 503 puts [3,4] back; the 400 gives them up for good; [5,6] then go through.
    assert.deepEqual(got.map((g) => (g.body as { items: number[] }).items), [[3, 4], [3, 4], [5, 6]]);
    assert.deepEqual([q.dropped, q.rejected, q.delivered, q.queued], [2, 2, 2, 0]);
    const delivered = events.find((e) => e.kind === 'delivered');
    assert.deepEqual(delivered, { kind: 'delivered', items: 2, failures: 1, burstDropped: 2, droppedTotal: 2 });
    q.close();
  });
});
