// Bounded batching in front of the store, as group commit: calls add rows to the open batch, and the batch
// is committed when it is full (`batchRows`), or once its first row has waited `maxDelayMs` and an insert
// slot is free. While every slot is busy the open batch keeps growing, so batches are small when traffic
// is light (a row waits at most maxDelayMs plus the insert in front of it) and large under load, where each
// insert's fixed cost (a part per table and per rollup view) is shared by more rows: with the rollup views,
// 100k-row inserts measured 2.5x less engine CPU per row than 10k-row ones (docs/store.md). With pacing
// (minIntervalMs), a stream too light to fill batches of paceBelowRows is committed at most once per
// interval instead of once per maxDelayMs: the fixed cost of an insert then stops scaling with how
// often rows happen to arrive (audit_events: commit-defaults.ts, open-store.ts). Each call's
// promise settles only when every batch holding its rows has committed (or failed). The collector
// acknowledges on that promise.
import type { Logger } from 'pino';
import { TunnelwatchError } from '../../common/errors.js';

/** What committing one batch reports: per row, a small outcome code whose meaning the flush defines. */
export type RowOutcomes = Uint8Array;

export interface BatchWriterOptions<Row> {
  /** Names the writer in logs and errors, e.g. 'audit_events'. */
  readonly name: string;
  /** Commits one batch; resolves after the rows are durable in the store. */
  readonly flush: (rows: Row[]) => Promise<RowOutcomes>;
  /** Most rows per batch (default 100,000); a batch is cut earlier when it is due and a slot is free. */
  readonly batchRows?: number;
  /** After this many ms (default 200) the open batch is due: committed as soon as an insert slot is free. */
  readonly maxDelayMs?: number;
  /**
   * Pacing (default 0: none). A batch of fewer than `paceBelowRows` rows is not due before this many ms
   * after the previous commit started, even when its first row has waited maxDelayMs: a trickle or a
   * moderate stream is committed once per interval however its rows arrive, while a row after a quiet
   * spell still waits only maxDelayMs, and a heavy stream (batches past paceBelowRows) is not slowed.
   */
  readonly minIntervalMs?: number;
  /** Batches of at least this many rows are due after maxDelayMs whatever minIntervalMs says (default 10,000). */
  readonly paceBelowRows?: number;
  /** Rows held at most (waiting, sealed and being inserted); a call past it is refused (default 400,000). */
  readonly maxQueuedRows?: number;
  /** Batches committed at the same time (default 2: the engine parses one while the next is built). */
  readonly concurrency?: number;
  /** Number of distinct outcome codes the flush returns (default 1). */
  readonly outcomeCodes?: number;
  readonly log?: Logger;
}

export interface BatchWriterStats {
  /** Rows accepted and not yet committed. */
  readonly queuedRows: number;
  readonly maxQueuedRows: number;
  readonly inFlightBatches: number;
  readonly committedRows: number;
  readonly committedBatches: number;
  readonly failedBatches: number;
  /** Rows refused because the queue was full (TW_ERR_STORE_OVERLOADED). */
  readonly refusedRows: number;
}

export interface BatchWriter<Row> {
  /**
   * Queues rows; resolves with the count of rows per outcome code once all of them committed. Rejects at
   * once with TW_ERR_STORE_OVERLOADED when the queue cannot take them, TW_ERR_STORE_CLOSED after close(),
   * and with the batch's error (TW_ERR_STORE_INSERT) when a batch holding them failed.
   */
  write(rows: readonly Row[]): Promise<number[]>;
  /** Seals the open batch and waits until everything queued so far has settled. */
  flush(): Promise<void>;
  /** Refuses new rows, then flushes. */
  close(): Promise<void>;
  stats(): BatchWriterStats;
}

interface Segment {
  readonly start: number;
  readonly end: number;
  readonly done: (outcomes: RowOutcomes | Error) => void;
}

interface Batch<Row> {
  readonly rows: Row[];
  readonly segments: Segment[];
}

export function createBatchWriter<Row>(options: BatchWriterOptions<Row>): BatchWriter<Row> {
  const batchRows = options.batchRows ?? 100_000;
  const maxDelayMs = options.maxDelayMs ?? 200;
  const minIntervalMs = options.minIntervalMs ?? 0;
  const paceBelowRows = options.paceBelowRows ?? 10_000;
  const maxQueuedRows = options.maxQueuedRows ?? 400_000;
  const concurrency = options.concurrency ?? 2;
  const codes = options.outcomeCodes ?? 1;
  const log = options.log;

  let open: Batch<Row> | null = null;
  let timer: NodeJS.Timeout | null = null;
  /** The open batch has waited maxDelayMs (or a flush asked for it): commit it when a slot is free. */
  let due = false;
  const sealed: Batch<Row>[] = [];
  let inFlight = 0;
  let queuedRows = 0;
  let closed = false;
  let committedRows = 0;
  let committedBatches = 0;
  let failedBatches = 0;
  let refusedRows = 0;
  let refusing = false;
  let idleWaiters: (() => void)[] = [];
  /** When the last commit started (performance.now()), for minIntervalMs. */
  let lastStartAt = -Infinity;
  /** When the open batch got its first row, and whether its timer was put off by pacing. */
  let openSince = 0;
  let paced = false;

  /** Takes the open batch out of the filling position, for `sealed` or straight into a slot. */
  function takeOpen(): Batch<Row> | null {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    due = false;
    const batch = open && open.rows.length > 0 ? open : null;
    open = null;
    return batch;
  }

  function sealFull(): void {
    const batch = takeOpen();
    if (batch) sealed.push(batch);
    pump();
  }

  function markDue(): void {
    timer = null;
    due = true;
    pump();
  }

  function pump(): void {
    while (inFlight < concurrency) {
      const batch = sealed.shift() ?? (due ? takeOpen() : null);
      if (!batch) break;
      inFlight++;
      lastStartAt = performance.now();
      void run(batch);
    }
    if (inFlight === 0 && sealed.length === 0 && (open === null || open.rows.length === 0)) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  async function run(batch: Batch<Row>): Promise<void> {
    let result: RowOutcomes | Error;
    try {
      result = await options.flush(batch.rows);
      committedRows += batch.rows.length;
      committedBatches++;
    } catch (err) {
      failedBatches++;
      result = err instanceof TunnelwatchError ? err : new TunnelwatchError('TW_ERR_STORE_INSERT', `${options.name}: ${(err as Error).message}`, { cause: err });
      log?.error({ err, table: options.name, rows: batch.rows.length }, 'store batch failed; its callers get an error and retry');
    }
    queuedRows -= batch.rows.length;
    inFlight--;
    for (const segment of batch.segments) segment.done(result);
    pump();
  }

  function write(rows: readonly Row[]): Promise<number[]> {
    if (closed) return Promise.reject(new TunnelwatchError('TW_ERR_STORE_CLOSED', options.name));
    if (rows.length === 0) return Promise.resolve(new Array<number>(codes).fill(0));
    if (queuedRows + rows.length > maxQueuedRows) {
      refusedRows += rows.length;
      // Logged once per burst: the first refusal after the queue had room again.
      if (!refusing) log?.warn({ table: options.name, queuedRows, maxQueuedRows }, 'store queue full: refusing writes until it drains');
      refusing = true;
      return Promise.reject(new TunnelwatchError('TW_ERR_STORE_OVERLOADED', `${options.name}: ${queuedRows} rows queued, limit ${maxQueuedRows}`));
    }
    refusing = false;
    queuedRows += rows.length;
    const counts = new Array<number>(codes).fill(0);
    const parts: Promise<void>[] = [];
    let offset = 0;
    while (offset < rows.length) {
      open ??= { rows: [], segments: [] };
      const batch: Batch<Row> = open;
      const take = Math.min(batchRows - batch.rows.length, rows.length - offset);
      const start = batch.rows.length;
      for (let i = 0; i < take; i++) batch.rows.push(rows[offset + i] as Row);
      offset += take;
      parts.push(
        new Promise<void>((resolve, reject) => {
          batch.segments.push({
            start,
            end: start + take,
            done: (outcome) => {
              if (outcome instanceof Error) return reject(outcome);
              for (let i = start; i < start + take; i++) counts[outcome[i] ?? 0] = (counts[outcome[i] ?? 0] ?? 0) + 1;
              resolve();
            },
          });
        }),
      );
      if (batch.rows.length >= batchRows) sealFull();
      else if (!due) schedule(batch.rows.length);
    }
    return Promise.all(parts).then(() => counts);
  }

  /**
   * Arms the open batch's timer on its first row: maxDelayMs, or later when pacing holds it back; a paced
   * batch that grows past paceBelowRows gets its maxDelayMs back. Not unref()ed, unlike our other timers:
   * every row behind it has a caller waiting for its commit, and letting the process exit first would
   * drop them. It lives at most minIntervalMs.
   */
  function schedule(rows: number): void {
    const now = performance.now();
    if (!timer) {
      openSince = now;
      const wait = Math.max(maxDelayMs, lastStartAt + minIntervalMs - now);
      paced = wait > maxDelayMs && rows < paceBelowRows;
      timer = setTimeout(markDue, paced ? wait : maxDelayMs);
    } else if (paced && rows >= paceBelowRows) {
      paced = false;
      clearTimeout(timer);
      timer = setTimeout(markDue, Math.max(0, openSince + maxDelayMs - now));
    }
  }

  function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    markDue();
    if (inFlight === 0 && sealed.length === 0) return Promise.resolve();
    return new Promise((resolve) => idleWaiters.push(resolve));
  }

  return {
    write,
    flush,
    async close() {
      closed = true;
      await flush();
    },
    stats: () => ({ queuedRows, maxQueuedRows, inFlightBatches: inFlight, committedRows, committedBatches, failedBatches, refusedRows }),
  };
}
