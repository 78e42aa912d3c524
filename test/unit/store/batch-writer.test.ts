import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TunnelwatchError } from '../../../common/errors.js';
import { createBatchWriter } from '../../../collector/store/batch-writer.js';

function recorder(options: { failOn?: (rows: number[]) => boolean; delayMs?: number } = {}) {
  const batches: number[][] = [];
  let active = 0;
  let maxActive = 0;
  const flush = async (rows: number[]): Promise<Uint8Array> => {
    active++;
    maxActive = Math.max(maxActive, active);
    await sleep(options.delayMs ?? 5);
    active--;
    if (options.failOn?.(rows)) throw new Error('disk on fire');
    batches.push(rows);
    return Uint8Array.from(rows.map((r) => r % 2));
  };
  return { batches, flush, maxActive: () => maxActive };
}

describe('batch writer', () => {
  it('cuts rows into batches of batchRows and resolves each call after its batches committed', async () => {
    const r = recorder();
    const writer = createBatchWriter<number>({ name: 't', flush: r.flush, batchRows: 4, maxDelayMs: 10_000, outcomeCodes: 2 });
    const call = writer.write([1, 2, 3, 4, 5, 6]);
    let settled = false;
    void call.then(() => (settled = true));
    await sleep(30);
    assert.equal(settled, false, 'rows 5 and 6 wait for their batch');
    assert.deepEqual(r.batches, [[1, 2, 3, 4]]);
    await writer.flush();
    assert.deepEqual(await call, [3, 3], 'counts per outcome code: 3 even, 3 odd');
    assert.deepEqual(r.batches, [[1, 2, 3, 4], [5, 6]]);
  });

  it('flushes a partial batch after maxDelayMs', async () => {
    const r = recorder();
    const writer = createBatchWriter<number>({ name: 't', flush: r.flush, batchRows: 1000, maxDelayMs: 20 });
    const t0 = Date.now();
    await writer.write([1, 2]);
    assert.ok(Date.now() - t0 >= 15);
    assert.deepEqual(r.batches, [[1, 2]]);
  });

  // Timing bounds leave several hundred ms of headroom: test files run side by side, and a busy machine
  // delays timers (a 60 ms margin failed there once).
  it('paces a light stream to one commit per minIntervalMs, but not a row after a quiet spell, nor a full batch', async () => {
    const r = recorder({ delayMs: 1 });
    const writer = createBatchWriter<number>({ name: 't', flush: r.flush, batchRows: 3, maxDelayMs: 40, minIntervalMs: 1200 });
    let t0 = performance.now();
    await writer.write([1]);
    const quiet = performance.now() - t0;
    assert.ok(quiet >= 35 && quiet < 700, `after a quiet spell a row waits maxDelayMs only (${quiet.toFixed(0)} ms)`);
    t0 = performance.now();
    await writer.write([2]);
    const paced = performance.now() - t0;
    assert.ok(paced >= 900, `the next commit starts minIntervalMs after the last one (${paced.toFixed(0)} ms)`);
    t0 = performance.now();
    await writer.write([3, 4, 5]);
    const full = performance.now() - t0;
    assert.ok(full < 700, `a full batch is not paced (${full.toFixed(0)} ms)`);
    await sleep(1250);
    t0 = performance.now();
    await writer.write([6]);
    const after = performance.now() - t0;
    assert.ok(after < 700, `the interval has passed: maxDelayMs again (${after.toFixed(0)} ms)`);
    assert.deepEqual(r.batches, [[1], [2], [3, 4, 5], [6]]);
  });

  it('stops pacing a batch once it reaches paceBelowRows', async () => {
    const r = recorder({ delayMs: 1 });
    const writer = createBatchWriter<number>({ name: 't', flush: r.flush, batchRows: 100, maxDelayMs: 40, minIntervalMs: 3000, paceBelowRows: 4 });
    await writer.write([1]);
    const t0 = performance.now();
    const light = writer.write([2]);
    await sleep(100);
    assert.deepEqual(r.batches, [[1]], 'one row: held back by pacing');
    await Promise.all([light, writer.write([3, 4, 5])]);
    const took = performance.now() - t0;
    assert.ok(took < 2000, `four rows: due after maxDelayMs from the first (${took.toFixed(0)} ms), not after minIntervalMs`);
    assert.deepEqual(r.batches, [[1], [2, 3, 4, 5]]);
  });

  it('refuses a call when the queue is full, counts it, and takes rows again once it drained', async () => {
    const r = recorder({ delayMs: 30 });
    const writer = createBatchWriter<number>({ name: 't', flush: r.flush, batchRows: 5, maxQueuedRows: 10, concurrency: 1 });
    const first = writer.write([1, 2, 3, 4, 5, 6, 7, 8]);
    await assert.rejects(writer.write([9, 10, 11]), (e: unknown) => e instanceof TunnelwatchError && e.code === 'TW_ERR_STORE_OVERLOADED' && e.status === 503);
    assert.equal(writer.stats().refusedRows, 3);
    await first;
    await writer.write([9, 10, 11]);
    await writer.flush();
    assert.equal(writer.stats().queuedRows, 0);
  });

  it('fails every call holding rows of a failed batch, and only those', async () => {
    const r = recorder({ failOn: (rows) => rows.includes(13) });
    const writer = createBatchWriter<number>({ name: 't', flush: r.flush, batchRows: 3, maxDelayMs: 5 });
    const results = await Promise.allSettled([writer.write([10, 11]), writer.write([12, 13]), writer.write([14, 15, 16])]);
    // Batches: [10, 11, 12] commits, [13, 14, 15] fails, [16] commits.
    assert.deepEqual(results.map((x) => x.status), ['fulfilled', 'rejected', 'rejected']);
    const reason = (results[1] as PromiseRejectedResult).reason as TunnelwatchError;
    assert.equal(reason.code, 'TW_ERR_STORE_INSERT');
    assert.match(reason.message, /disk on fire/);
    assert.equal(writer.stats().failedBatches, 1);
  });

  it('keeps at most `concurrency` batches in flight', async () => {
    const r = recorder({ delayMs: 20 });
    const writer = createBatchWriter<number>({ name: 't', flush: r.flush, batchRows: 2, concurrency: 2 });
    await writer.write(Array.from({ length: 20 }, (_, i) => i));
    assert.equal(r.maxActive(), 2);
  });

  it('grows the open batch while every insert slot is busy, instead of queueing many small ones', async () => {
    // The first insert holds the only slot until released: no timing involved.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const batches: number[][] = [];
    const flush = async (rows: number[]): Promise<Uint8Array> => {
      if (batches.length === 0) await held;
      batches.push(rows);
      return new Uint8Array(rows.length);
    };
    const writer = createBatchWriter<number>({ name: 't', flush, batchRows: 1000, maxDelayMs: 5, concurrency: 1 });
    const first = writer.write([0]);
    await sleep(20);
    // The slot is busy with [0]: these calls arrive one by one, each past maxDelayMs, and must wait.
    const later: Promise<number[]>[] = [];
    for (let i = 1; i <= 8; i++) {
      later.push(writer.write([i]));
      await sleep(10);
    }
    assert.deepEqual(batches, [], 'nothing committed while the slot is held');
    release();
    await Promise.all([first, ...later]);
    assert.deepEqual(batches, [[0], [1, 2, 3, 4, 5, 6, 7, 8]], 'one batch for everything that waited behind the busy slot');
  });

  it('refuses writes after close, once what was queued has committed', async () => {
    const r = recorder();
    const writer = createBatchWriter<number>({ name: 't', flush: r.flush, batchRows: 100, maxDelayMs: 10_000 });
    const pending = writer.write([1, 2, 3]);
    await writer.close();
    await pending;
    assert.deepEqual(r.batches, [[1, 2, 3]]);
    await assert.rejects(writer.write([4]), (e: unknown) => e instanceof TunnelwatchError && e.code === 'TW_ERR_STORE_CLOSED');
  });
});
