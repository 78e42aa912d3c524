// The audit shipper against a real HTTP collector stand-in on 127.0.0.1: batches, gzip, outages,
// Retry-After, a bad token, malformed lines and a full spool, each checked by event_id at the receiver.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { AuditEmitter } from '../../common/audit/emitter.js';
import { emptyCallRecord, type AuditEvent, type CallRecord } from '../../common/audit/event.js';
import { createFileSink, listAuditFiles } from '../../common/audit/file-sink.js';
import { openAuditPipeline, type AuditPipeline } from '../../common/audit/open-emitter.js';
import type { DroppedRange } from '../../common/audit/shipper-state.js';
import { validateConfig } from '../../common/config/load-config.js';
import { AuditSection, type AuditConfig } from '../../common/config/schema-parts.js';
import { createLogger } from '../../common/log.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/processes.js';
import { FakeCollector } from './shipper-collector.js';

const EMITTER_ID = 'c1';

function call(i: number, extra: Partial<CallRecord> = {}): CallRecord {
  return { ...emptyCallRecord(), ts: new Date(1_800_000_000_000 + i).toISOString(), subaccount: 'acme', path: `/p/${i}`, status: 200, ...extra };
}

function fileLines(dir: string): string[] {
  return listAuditFiles(dir, EMITTER_ID).flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l !== ''));
}

function fileEvents(dir: string): AuditEvent[] {
  return fileLines(dir).flatMap((l) => {
    try {
      return [JSON.parse(l) as AuditEvent];
    } catch {
      return [];
    }
  });
}

const turn = () => new Promise((r) => setTimeout(r, 2));

describe('audit shipper', () => {
  let dir: string;
  let collector: FakeCollector;
  let tokenFile: string;
  let logLines: string[];
  let open: AuditPipeline[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tw-shipper-'));
    collector = new FakeCollector();
    tokenFile = join(dir, 'collector.token');
    writeFileSync(tokenFile, `${collector.token}\n`);
    logLines = [];
    open = [];
  });

  afterEach(async () => {
    for (const p of open) await p.emitter.close().catch(() => {});
    await collector.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function start(audit: Record<string, unknown> = {}, collectorKeys: Record<string, unknown> = {}): AuditPipeline {
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logLines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
        cb();
      },
    });
    const config = validateConfig(
      AuditSection,
      { dir: join(dir, 'audit'), collector: { url: collector.url, token_file: tokenFile, batch_max_events: 100, flush_interval_ms: 20, ...collectorKeys }, ...audit },
      'test',
    ) as AuditConfig;
    const pipeline = openAuditPipeline({ emitter: 'connector', emitterId: EMITTER_ID, audit: config, configFile: join(dir, 'connector.yaml'), log: createLogger({ name: 'test', level: 'info', destination: stream }) });
    open.push(pipeline);
    return pipeline;
  }

  const auditDir = () => join(dir, 'audit');

  /** Waits until the shipper was told of `seq` as kept (fsync: batch) and then until it is acknowledged. */
  async function delivered(pipeline: AuditPipeline, seq: number, timeoutMs = 15_000): Promise<boolean> {
    await waitFor(() => (pipeline.shipper?.metrics.kept_seq ?? 0) >= seq, { message: `seq ${seq} kept` });
    return (await pipeline.shipper?.drained(timeoutMs)) ?? false;
  }

  function assertDeliveredExactly(ids: Iterable<string>): void {
    const expected = [...ids].sort();
    assert.deepEqual([...collector.stored.keys()].sort(), expected, 'the receiver holds exactly the emitted event_ids');
  }

  it('delivers every event written by the emitter exactly once, across gzip batches, and drains on close', async () => {
    await collector.start();
    const { emitter, shipper } = start();
    for (let i = 0; i < 1000; i++) {
      emitter.emit(call(i));
      if (i % 37 === 0) await turn();
    }
    await emitter.close();

    const events = fileEvents(auditDir());
    assert.equal(events.length, 1000);
    assertDeliveredExactly(events.map((e) => e.event_id));
    for (const [id, n] of collector.stored) assert.equal(n, 1, `${id} arrived ${n} times`);
    const accepted = collector.accepted();
    assert.ok(accepted.length >= 10, `1000 events at 100 a batch take at least 10 POSTs, got ${accepted.length}`);
    for (const r of accepted) {
      assert.equal(r.headers['content-encoding'], 'gzip');
      assert.equal(r.headers['content-type'], 'application/x-ndjson');
      assert.equal(r.headers.authorization, `Bearer ${collector.token}`);
      assert.deepEqual([...r.raw.subarray(0, 2)], [0x1f, 0x8b], 'the body on the wire is gzip');
      assert.ok(r.raw.length < Buffer.byteLength(r.ndjson) / 2, 'and compressed');
      assert.ok(r.ids.length <= 100);
    }
    // The lines arrive exactly as they are in the files, in chain order.
    assert.equal(accepted.map((r) => gunzipSync(r.raw).toString('utf8')).join(''), fileLines(auditDir()).map((l) => `${l}\n`).join(''));
    const cursor = JSON.parse(readFileSync(join(auditDir(), `shipper-${EMITTER_ID}.cursor`), 'utf8')) as { seq: number };
    assert.equal(cursor.seq, 1000);
    const m = shipper?.metrics;
    assert.equal(m?.shipped_events_total, 1000);
    assert.equal(m?.unshipped_events, 0);
    assert.equal(m?.spool_bytes, 0);
    assert.equal(m?.accepted_total, 1000);
    assert.ok(m?.last_success_time);
  });

  it('keeps events while the collector is down and delivers them all once it is back', async () => {
    collector.usePort(await freePort());
    const pipeline = start();
    const { emitter, shipper } = pipeline;
    for (let i = 0; i < 500; i++) {
      emitter.emit(call(i));
      if (i % 50 === 0) await turn();
    }
    await waitFor(() => (shipper?.metrics.failed_requests_total ?? 0) >= 2, { message: 'the shipper tried and failed' });
    assert.match(shipper?.metrics.last_error ?? '', /ECONNREFUSED/);
    assert.equal(collector.stored.size, 0);
    assert.ok(logLines.some((l) => l.includes('TW_ERR_SHIPPER_UNAVAILABLE')), 'the outage is logged');
    await collector.start();
    assert.equal(await delivered(pipeline, 500), true, 'everything is acknowledged after the collector came back');
    assertDeliveredExactly(fileEvents(auditDir()).map((e) => e.event_id));
    assert.ok(logLines.some((l) => l.includes('the collector takes audit events again')));
  });

  it('honours Retry-After on 429 and 503 instead of its own backoff', async () => {
    await collector.start();
    collector.forced.push({ status: 429, retryAfter: '1' }, { status: 503, retryAfter: '1' });
    const pipeline = start();
    for (let i = 0; i < 10; i++) pipeline.emitter.emit(call(i));
    assert.equal(await delivered(pipeline, 10), true);
    const [first, second, third] = collector.requests;
    assert.equal(first?.status, 429);
    assert.equal(second?.status, 503);
    assert.equal(third?.status, 200);
    // The backoff alone would retry after 250-500 ms, then 500-1000 ms.
    assert.ok((second?.at ?? 0) - (first?.at ?? 0) >= 950, `retried ${(second?.at ?? 0) - (first?.at ?? 0)} ms after a 429 with Retry-After: 1`);
    assert.ok((third?.at ?? 0) - (second?.at ?? 0) >= 950, `retried ${(third?.at ?? 0) - (second?.at ?? 0)} ms after a 503 with Retry-After: 1`);
    assertDeliveredExactly(fileEvents(auditDir()).map((e) => e.event_id));
  });

  it('takes a 200 for an acknowledgement only with the collector\'s answer for the whole batch', async () => {
    await collector.start();
    // A wrong URL or a proxy's page answers 200 too; so might a receiver that lost part of the batch.
    collector.forced.push({ status: 200, body: '<html>OK</html>' }, { status: 200, body: { accepted: 3, duplicates: 0 } });
    const pipeline = start();
    for (let i = 0; i < 10; i++) pipeline.emitter.emit(call(i));
    assert.equal(await delivered(pipeline, 10), true);
    assert.deepEqual(collector.requests.map((r) => r.status), [200, 200, 200], 'two answers that were not acknowledgements, then the one that was');
    assertDeliveredExactly(fileEvents(auditDir()).map((e) => e.event_id));
    assert.match(pipeline.shipper?.metrics.last_error ?? '', /HTTP 200 without the collector's acknowledgement of 10 events/);
    assert.equal(pipeline.shipper?.metrics.shipped_events_total, 10);
  });

  it('moves malformed lines to the dead-letter file and delivers the rest of their batches', async () => {
    // Written before the shipper runs: 40 events, a line that is not JSON, 40 more.
    const sink = createFileSink({ dir: auditDir(), emitterId: EMITTER_ID, maxFileBytes: 1 << 20 });
    const plain = new AuditEmitter({ emitter: 'connector', emitterId: EMITTER_ID, sinks: [sink], chain: sink.recovered });
    for (let i = 0; i < 40; i++) plain.emit(call(i));
    await sink.flush();
    const garbage = 'this line is not an audit event';
    appendFileSync(listAuditFiles(auditDir(), EMITTER_ID)[0] as string, `${garbage}\n`);
    for (let i = 40; i < 80; i++) plain.emit(call(i));
    await plain.close();

    await collector.start();
    const pipeline = start();
    const { emitter, shipper } = pipeline;
    let poison: AuditEvent | undefined;
    for (let i = 80; i < 200; i++) {
      const e = emitter.emit(call(i, i === 150 ? { path: collector.poisonPath } : {}));
      if (i === 150) poison = e;
    }
    assert.equal(await delivered(pipeline, 200), true);

    const deadLetters = readFileSync(join(auditDir(), `dead-letter-${EMITTER_ID}.ndjson`), 'utf8').split('\n').filter((l) => l !== '');
    assert.deepEqual(deadLetters, [garbage, JSON.stringify(poison)], 'both bad lines, as they were in the file');
    assert.equal(shipper?.metrics.dead_letters_total, 2);
    const good = fileEvents(auditDir()).filter((e) => e.event_id !== poison?.event_id);
    assert.equal(good.length, 199);
    assertDeliveredExactly(good.map((e) => e.event_id));
    assert.ok(collector.requests.length < 30, `isolating two lines took ${collector.requests.length} requests`);
    assert.equal(logLines.filter((l) => l.includes('TW_ERR_SHIPPER_REJECTED')).length, 2);
  });

  it('logs a refused token with what to fix, keeps every event, and uses a corrected token file without a restart', async () => {
    await collector.start();
    writeFileSync(tokenFile, 'wrong-token\n');
    const pipeline = start();
    const { emitter } = pipeline;
    for (let i = 0; i < 20; i++) emitter.emit(call(i));
    const line = await waitFor(() => logLines.find((l) => l.includes('TW_ERR_SHIPPER_UNAUTHORISED')), { message: 'a log line about the token' });
    assert.match(line, /audit\.collector\.token_file/);
    assert.ok(line.includes(tokenFile), 'names the token file');
    assert.ok(!line.includes('wrong-token') && !line.includes(collector.token), 'but never a token');
    assert.ok(collector.requests.every((r) => r.status === 401));
    writeFileSync(tokenFile, `${collector.token}\n`);
    assert.equal(await delivered(pipeline, 20), true);
    assertDeliveredExactly(fileEvents(auditDir()).map((e) => e.event_id));
  });

  it('with spool_full: refuse, reports the emitter unhealthy while the spool is full and recovers when the collector is back', async () => {
    collector.usePort(await freePort());
    const pipeline = start({ spool_max_bytes: 8192, spool_full: 'refuse' });
    const { emitter, shipper } = pipeline;
    let emitted = 0;
    while (emitter.healthy && emitted < 200) {
      emitter.emit(call(emitted++));
      await turn();
    }
    await waitFor(() => !emitter.healthy, { message: 'the emitter turns unhealthy' });
    assert.ok(emitted < 40, `the 8 KiB spool held ${emitted} events`);
    assert.equal(shipper?.metrics.refusing, true);
    assert.match(emitter.unhealthyReason ?? '', /^the audit delivery spool is full/, 'the refusal says which: the spool, not the disk');
    assert.ok((shipper?.metrics.spool_fill_ratio ?? 0) >= 1);
    assert.ok(logLines.some((l) => l.includes('TW_ERR_SHIPPER_SPOOL_FULL')));
    await collector.start();
    await waitFor(() => emitter.healthy, { timeoutMs: 15_000, message: 'the emitter is healthy again' });
    assert.equal(emitter.unhealthyReason, undefined);
    assert.equal(await delivered(pipeline, emitted), true);
    assertDeliveredExactly(fileEvents(auditDir()).map((e) => e.event_id));
  });

  it('with spool_full: drop_oldest, stays healthy, gives up the oldest events, counts and records them, and delivers the rest', async () => {
    collector.usePort(await freePort());
    const pipeline = start({ spool_max_bytes: 8192, spool_full: 'drop_oldest' });
    const { emitter, shipper } = pipeline;
    for (let i = 0; i < 150; i++) {
      emitter.emit(call(i));
      await turn();
      assert.equal(emitter.healthy, true, 'drop_oldest never refuses calls');
    }
    await waitFor(() => (shipper?.metrics.dropped_events_total ?? 0) > 0, { message: 'something is dropped' });
    await waitFor(() => (shipper?.metrics.spool_bytes ?? Infinity) <= 8192, { message: 'the spool is back within bounds' });
    await collector.start();
    assert.equal(await delivered(pipeline, 150), true);

    const events = fileEvents(auditDir());
    assert.equal(events.length, 150, 'dropped events stay in the files');
    const ranges = readFileSync(join(auditDir(), `shipper-${EMITTER_ID}.dropped`), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as DroppedRange);
    const droppedSeqs = new Set(ranges.flatMap((r) => Array.from({ length: r.to_seq - r.from_seq + 1 }, (_, k) => r.from_seq + k)));
    const dropped = shipper?.metrics.dropped_events_total ?? 0;
    assert.equal(droppedSeqs.size, dropped, 'the recorded ranges hold what the counter says');
    assert.equal(ranges.reduce((n, r) => n + r.events, 0), dropped);
    const shipped = events.filter((e) => !droppedSeqs.has(e.seq));
    assert.equal(shipped.length + dropped, 150);
    assertDeliveredExactly(shipped.map((e) => e.event_id));
    assert.ok(Math.max(...droppedSeqs) < Math.min(...shipped.map((e) => e.seq)), 'the oldest were dropped');
    assert.ok(logLines.some((l) => l.includes('will not be delivered')));
  });
});
