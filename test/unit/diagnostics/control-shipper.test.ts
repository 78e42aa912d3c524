// The check shipper against a recording collector: batches, token, retry, refusal, bounded queue, gzip.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createLogger } from '../../../common/log.js';
import { createCheckShipper, type CheckShipper } from '../../../connector/diagnostics/check-shipper.js';
import type { CheckBatch, CheckReport } from '../../../connector/diagnostics/types.js';

const log = createLogger({ name: 'test', level: 'silent' });
const TOKEN = 'tw_ingest_token_for_checks';

function report(n: number, summary = `reachable in ${n} ms`): CheckReport {
  return {
    check_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    connector_id: 'connector-1', location_id: '', subaccount: 'acme',
    virtual_host: 'erp.virtual:8000', internal_host: '127.0.0.1:8080', protocol: 'http',
    trigger: 'schedule', requested_by: '', started_at: new Date(1_700_000_000_000 + n).toISOString(), duration_ms: n,
    state: 'up', classification: 'ok', summary, steps: [],
  };
}

interface Received {
  headers: IncomingMessage['headers'];
  batch: CheckBatch;
}

let server: Server;
let url: string;
let received: Received[] = [];
/** What the collector answers next: a queue of [status, headers], then 200. */
let answers: [number, Record<string, string>, string][] = [];
let dir: string;
let shipper: CheckShipper | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tw-shipper-'));
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      const [status, headers, body] = answers.shift() ?? [200, {}, '{"accepted":1}'];
      if (req.url === '/base/v1/checks' && status === 200) received.push({ headers: req.headers, batch: JSON.parse(text) as CheckBatch });
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/base/`;
});
after(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  shipper?.close();
  received = [];
  answers = [];
});

function make(overrides: Partial<Parameters<typeof createCheckShipper>[0]> = {}): CheckShipper {
  shipper = createCheckShipper({
    url, tokenFile: join(dir, 'token'), connectorId: 'connector-1', requestTimeoutMs: 2000, maxQueued: 100,
    flushDelayMs: 20, backoff: { initialDelayMs: 20, maxDelayMs: 50, jitter: 0 }, log, ...overrides,
  });
  return shipper;
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('check shipper', () => {
  test('sends the reports of a round as one CheckBatch with the ingest token', async () => {
    const s = make();
    for (let i = 1; i <= 5; i++) s.enqueue(report(i));
    await until(() => s.shipped === 5);
    assert.equal(received.length, 1);
    const [r] = received;
    assert.equal(r?.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(r?.headers['content-type'], 'application/json');
    assert.equal(r?.batch.schema, 'tunnelwatch.checks/1');
    assert.equal(r?.batch.connector_id, 'connector-1');
    assert.deepEqual(r?.batch.reports.map((x) => x.duration_ms), [1, 2, 3, 4, 5]);
  });

  test('splits at maxBatch and gzips a large body', async () => {
    const s = make({ maxBatch: 4 });
    for (let i = 1; i <= 10; i++) s.enqueue(report(i, 'x'.repeat(5000)));
    await until(() => s.shipped === 10);
    assert.deepEqual(received.map((r) => r.batch.reports.length), [4, 4, 2]);
    assert.equal(received[0]?.headers['content-encoding'], 'gzip');
  });

  test('retries 503 (after Retry-After) and 401 with backoff, losing nothing and keeping the order', async () => {
    answers = [[503, { 'retry-after': '0' }, '{"error":{"code":"TW_ERR_INGEST_STORE_UNAVAILABLE"}}'], [401, {}, '{}']];
    const s = make();
    s.enqueue(report(1));
    s.enqueue(report(2));
    await until(() => s.shipped === 2);
    assert.equal(answers.length, 0);
    assert.deepEqual(received.flatMap((r) => r.batch.reports.map((x) => x.duration_ms)), [1, 2]);
  });

  test('gives up a batch the collector refuses as malformed and goes on with the next', async () => {
    answers = [[400, {}, '{"error":{"code":"TW_ERR_INGEST_MALFORMED","reason":"reports[0].state: bad"}}']];
    const s = make();
    s.enqueue(report(1));
    await until(() => s.rejected === 1);
    s.enqueue(report(2));
    await until(() => s.shipped === 1);
    assert.deepEqual(received.flatMap((r) => r.batch.reports.map((x) => x.duration_ms)), [2]);
  });

  test('keeps at most maxQueued reports while the collector is away, dropping the oldest', async () => {
    const s = make({ url: 'http://127.0.0.1:1/', maxQueued: 3 });
    for (let i = 1; i <= 10; i++) s.enqueue(report(i));
    assert.equal(s.dropped, 7);
    assert.equal(s.queued, 3);
    // Failed sends put their batch back without exceeding the bound.
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(s.queued <= 3);
    assert.equal(s.shipped, 0);
    s.close();
  });

  test('delivers the newest reports once the collector is back', async () => {
    answers = [[503, { 'retry-after': '0' }, '{}'], [503, { 'retry-after': '0' }, '{}']];
    const s = make({ maxQueued: 3, flushDelayMs: 1 });
    for (let i = 1; i <= 6; i++) s.enqueue(report(i));
    await until(() => s.shipped === 3);
    assert.equal(s.dropped, 3);
    assert.deepEqual(received.flatMap((r) => r.batch.reports.map((x) => x.duration_ms)), [4, 5, 6]);
  });
});
