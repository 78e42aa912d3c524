// Ships an emitter's audit files to the collector: the files are the spool. It follows what the file
// sink reports as kept, sends it in gzip NDJSON batches, and moves a cursor only past what the
// collector acknowledged (after its commit), so delivery is at least once and nothing kept is lost.
import { basename } from 'node:path';
import { Backoff, type BackoffOptions } from '../backoff.js';
import { ERRORS } from '../errors.js';
import type { Logger } from '../log.js';
import { afterAck, isolate, type Isolation } from './batch-isolation.js';
import { createCollectorClient, readTokenFile, type CollectorClient, type SendResult } from './collector-client.js';
import type { KeptMark } from './file-sink.js';
import { newCounters, type ShipperMetrics } from './shipper-metrics.js';
import { appendDeadLetter, appendDropped, loadDropped, resumePosition, saveCursor, type DroppedRange } from './shipper-state.js';
import { readBatch, type Batch } from './spool-batch.js';
import { selectOldest } from './spool-drop.js';
import { sweepShippedFiles } from './spool-retention.js';
import { bytesAfter, lastSeqInFiles, listSpoolFilesSync, seqOfLine, type SpoolLimit, type SpoolPosition } from './spool-reader.js';

export type { ShipperMetrics } from './shipper-metrics.js';

export type SpoolFullPolicy = 'refuse' | 'drop_oldest';

export interface ShipperOptions {
  dir: string;
  emitterId: string;
  /** Collector base URL; batches go to <url>/v1/audit. */
  url: string;
  /** File with the ingest token; read at start (throws TW_ERR_SHIPPER_TOKEN) and after each 401/403. */
  tokenFile: string;
  ca?: string | Buffer;
  batchMaxEvents: number;
  batchMaxBytes: number;
  flushIntervalMs: number;
  requestTimeoutMs: number;
  spoolMaxBytes: number;
  spoolFull: SpoolFullPolicy;
  /** Delete fully acknowledged files last written this many days ago; undefined = keep them. */
  keepShippedDays?: number;
  log: Logger;
  backoff?: Partial<BackoffOptions>;
}

export interface Shipper {
  /** false while the spool is full and spool_full is refuse: new calls must then be refused. */
  readonly accepting: boolean;
  readonly metrics: ShipperMetrics;
  readonly endpoint: string;
  /** The file sink's onKept: events up to this mark may be shipped. */
  noteKept(mark: KeptMark): void;
  /** true once everything kept so far is acknowledged (or dead-lettered or dropped); false after timeoutMs. */
  drained(timeoutMs: number): Promise<boolean>;
  /** Stops shipping; with drainMs, first tries that long to ship what is left unless the collector is failing. */
  close(options?: { drainMs?: number }): Promise<void>;
}

/** drop_oldest gives up events until the spool is back at this share of its maximum (not one per write). */
const DROP_TO = 0.9;
const LOG_REPEAT_MS = 60_000;
const MIN_RETRY_MS = 100;
const RETENTION_SWEEP_MS = 3_600_000;
const IDLE_WAIT_MS = 5000;

export function createShipper(options: ShipperOptions): Shipper {
  return new AuditShipper(options);
}

class AuditShipper implements Shipper {
  private readonly o: ShipperOptions;
  private readonly log: Logger;
  private readonly client: CollectorClient;
  private readonly backoff: Backoff;
  private token: string;
  private position: SpoolPosition;
  private limit: SpoolLimit;
  private keptTotal = 0;
  private keptSeq: number;
  private spoolBytes: number;
  private full = false;
  private batch: Batch | undefined;
  private isolation: Isolation | undefined;
  private retryAt = 0;
  private failingSince = 0;
  private lastFailureLog = 0;
  private dropBlockedAt = -1;
  /** When the oldest kept event not yet in a batch was kept (0: long ago, send at once). */
  private oldestKeptAt = 0;
  private readonly dropped: DroppedRange[];
  private waiting: 'data' | 'linger' | 'retry' | undefined;
  private wakeSleeper: (() => void) | undefined;
  private closing = false;
  private readonly loop: Promise<void>;
  private readonly sweepTimer: NodeJS.Timeout | undefined;
  private readonly m = newCounters();

  constructor(options: ShipperOptions) {
    this.o = options;
    this.log = options.log;
    this.token = readTokenFile(options.tokenFile);
    this.client = createCollectorClient({ url: options.url, token: () => this.token, ca: options.ca, timeoutMs: options.requestTimeoutMs });
    this.backoff = new Backoff({ initialDelayMs: 500, maxDelayMs: 30_000, jitter: 0.5, ...options.backoff });
    // Synchronous on purpose: the accounting must be done before the sink writes (and reports) anything.
    const files = listSpoolFilesSync(options.dir, options.emitterId);
    const resumed = resumePosition(options.dir, options.emitterId, files);
    if (resumed.warning) this.log.warn({ cursor: resumed.cursor, resumed: resumed.position }, resumed.warning);
    this.position = resumed.position;
    const newest = files.at(-1);
    this.limit = newest ? { file: newest, size: bytesAfter(options.dir, [newest], { file: newest, offset: 0, seq: 0 }) } : { file: '', size: 0 };
    this.spoolBytes = bytesAfter(options.dir, files, this.position);
    this.keptSeq = lastSeqInFiles(options.dir, files);
    this.dropped = loadDropped(options.dir, options.emitterId);
    this.log.info({ endpoint: this.client.endpoint, acked_seq: this.position.seq, kept_seq: this.keptSeq, spool_bytes: this.spoolBytes }, 'audit shipper started');
    this.checkFull();
    this.loop = this.run();
    if (options.keepShippedDays !== undefined) {
      this.sweepTimer = setInterval(() => void this.sweep(), RETENTION_SWEEP_MS);
      this.sweepTimer.unref();
      void this.sweep();
    }
  }

  get endpoint(): string {
    return this.client.endpoint;
  }

  get accepting(): boolean {
    return this.o.spoolFull !== 'refuse' || this.spoolBytes < this.o.spoolMaxBytes;
  }

  get metrics(): ShipperMetrics {
    return {
      spool_bytes: this.spoolBytes,
      spool_max_bytes: this.o.spoolMaxBytes,
      spool_fill_ratio: this.spoolBytes / this.o.spoolMaxBytes,
      unshipped_events: Math.max(0, this.keptSeq - this.position.seq),
      acked_seq: this.position.seq,
      kept_seq: this.keptSeq,
      refusing: !this.accepting,
      ...this.m,
    };
  }

  noteKept(mark: KeptMark): void {
    if (mark.total <= this.keptTotal) return;
    if (this.caughtUp()) this.oldestKeptAt = Date.now();
    this.spoolBytes += mark.total - this.keptTotal;
    this.keptTotal = mark.total;
    this.limit = { file: basename(mark.file), size: mark.size };
    this.keptSeq = mark.seq;
    if (this.spoolBytes >= this.o.spoolMaxBytes) this.checkFull();
    if (this.waiting === 'data' || this.dropNeeded()) this.wake();
    else if (this.waiting === 'linger' && this.batchFull(this.o.batchMaxEvents)) this.wake();
  }

  async drained(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.caughtUp()) return true;
      if (Date.now() >= deadline || this.closing) return false;
      await new Promise((r) => setTimeout(r, 20).unref());
    }
  }

  async close(options: { drainMs?: number } = {}): Promise<void> {
    if (!this.closing && options.drainMs && this.retryAt <= Date.now()) await this.drained(options.drainMs);
    this.closing = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.client.abort();
    this.wake();
    await this.loop;
    this.client.close();
  }

  private checkFull(): void {
    const full = this.spoolBytes >= this.o.spoolMaxBytes;
    if (full === this.full) return;
    this.full = full;
    const fields = { code: 'TW_ERR_SHIPPER_SPOOL_FULL', spool_bytes: this.spoolBytes, spool_max_bytes: this.o.spoolMaxBytes, policy: this.o.spoolFull };
    if (full && this.o.spoolFull === 'refuse') this.log.error(fields, 'audit spool full: refusing new calls until the collector acknowledges events');
    else if (full) this.log.error(fields, 'audit spool full: dropping the oldest unshipped events');
    else this.log.warn({ spool_bytes: this.spoolBytes }, this.o.spoolFull === 'refuse' ? 'audit spool below its maximum again: accepting calls' : 'audit spool below its maximum again');
  }

  private sleep(ms: number, why: 'data' | 'linger' | 'retry'): Promise<void> {
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.waiting = undefined;
        this.wakeSleeper = undefined;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      timer.unref();
      this.waiting = why;
      this.wakeSleeper = finish;
    });
  }

  private wake(): void {
    this.wakeSleeper?.();
  }

  private async run(): Promise<void> {
    while (!this.closing) {
      try {
        await this.step();
      } catch (err) {
        // An unexpected failure (a file vanished mid-read, a bug): report it and go on, never stop shipping.
        this.noteFailure(`internal: ${(err as Error).message}`);
        this.log.error({ err: (err as Error).message }, 'audit shipper step failed; retrying');
        if (!this.closing) await this.sleep(this.backoff.next(), 'retry');
      }
    }
  }

  private async step(): Promise<void> {
    if (this.dropNeeded()) return this.dropOldest();
    const wait = this.retryAt - Date.now();
    if (wait > 0) return this.sleep(wait, 'retry');
    const limitLines = Math.min(this.isolation?.limit ?? Infinity, this.o.batchMaxEvents);
    let batch = this.batch;
    if (!batch || batch.start !== this.position || batch.maxLines !== limitLines) {
      // A batch goes when it is full or when its oldest event has waited flush_interval_ms: one small
      // POST per round trip would cost the collector an insert each.
      const linger = this.oldestKeptAt + this.o.flushIntervalMs - Date.now();
      if (linger > 0 && !this.closing && !this.batchFull(limitLines)) return this.sleep(linger, 'linger');
      const keptBefore = this.keptTotal;
      batch = await readBatch({ dir: this.o.dir, emitterId: this.o.emitterId, from: this.position, limit: this.limit, maxLines: limitLines, maxBytes: this.o.batchMaxBytes });
      if (batch.lines === 0) {
        this.batch = undefined;
        // Only a kept mark makes more readable; the timeout is a safety net.
        if (this.keptTotal === keptBefore && !this.closing) await this.sleep(IDLE_WAIT_MS, 'data');
        return;
      }
      this.batch = batch;
    }
    const result = await this.client.send(batch.body);
    if (this.closing && result.kind === 'retry') return;
    if (result.kind === 'ok') await this.acknowledge(batch, result);
    else if (result.kind === 'rejected') await this.rejected(batch, result);
    else this.retryLater(result);
  }

  private batchFull(limitLines: number): boolean {
    return this.keptSeq - this.position.seq >= limitLines || this.spoolBytes >= this.o.batchMaxBytes;
  }

  /** Everything kept so far is acknowledged (or dead-lettered or dropped). */
  private caughtUp(): boolean {
    const p = this.position;
    return this.limit.file === '' || p.file > this.limit.file || (p.file === this.limit.file && p.offset >= this.limit.size);
  }

  /** Moves the cursor past a batch the collector took (or a line moved to the dead letters). */
  private async advance(batch: Batch): Promise<void> {
    this.position = batch.end;
    // What is left was kept after this batch was read, unless the batch stopped at a limit (a backlog).
    if (!batch.full) this.oldestKeptAt = batch.readAt;
    this.spoolBytes = Math.max(0, this.spoolBytes - batch.fileBytes);
    this.batch = undefined;
    this.checkFull();
    try {
      await saveCursor(this.o.dir, this.o.emitterId, this.position);
    } catch (err) {
      // The position in memory is right; a restart before the next save sends this batch again.
      this.log.error({ err: (err as Error).message }, 'the shipper cursor cannot be saved; a restart will send some events again');
    }
  }

  private async acknowledge(batch: Batch, result: Extract<SendResult, { kind: 'ok' }>): Promise<void> {
    const m = this.m;
    m.shipped_events_total += batch.lines;
    m.shipped_bytes_total += batch.fileBytes;
    m.batches_total++;
    m.accepted_total += result.accepted;
    m.duplicates_total += result.duplicates;
    m.last_success_time = Date.now();
    if (this.failingSince) {
      this.log.warn({ failed_for_ms: Date.now() - this.failingSince, endpoint: this.client.endpoint }, 'the collector takes audit events again');
      this.failingSince = 0;
    }
    this.backoff.reset();
    if (this.isolation) this.isolation = afterAck(this.isolation, batch.lines);
    await this.advance(batch);
  }

  private async rejected(batch: Batch, result: Extract<SendResult, { kind: 'rejected' }>): Promise<void> {
    const n = batch.lines;
    if (n > 1) {
      this.isolation = isolate(n, result.line);
      this.batch = undefined;
      return;
    }
    if (result.status === 400 && result.line === undefined) {
      // Not about a line (a bad request as such): keeping the event and saying so is all that is safe.
      this.retryLater({ kind: 'retry', status: 400, auth: false, retryAfterMs: undefined, reason: `${result.reason} (without naming a line: check the collector's log)` });
      return;
    }
    try {
      await appendDeadLetter(this.o.dir, this.o.emitterId, batch.body);
    } catch (err) {
      this.retryLater({ kind: 'retry', status: 0, auth: false, retryAfterMs: undefined, reason: `dead-letter file cannot be written: ${(err as Error).message}` });
      return;
    }
    this.m.dead_letters_total++;
    this.log.error(
      { code: 'TW_ERR_SHIPPER_REJECTED', seq: seqOfLine(batch.body) ?? null, file: batch.start.file, reason: result.reason, dead_letters_total: this.m.dead_letters_total },
      ERRORS.TW_ERR_SHIPPER_REJECTED.message,
    );
    this.isolation = undefined;
    await this.advance(batch);
  }

  private noteFailure(reason: string): void {
    this.m.failed_requests_total++;
    this.m.last_error = reason;
    this.m.last_error_time = Date.now();
  }

  private retryLater(result: Extract<SendResult, { kind: 'retry' }>): void {
    this.noteFailure(result.reason);
    const delay = result.retryAfterMs !== undefined ? Math.max(MIN_RETRY_MS, result.retryAfterMs) : this.backoff.next();
    this.retryAt = Date.now() + delay;
    const now = Date.now();
    const first = this.failingSince === 0;
    if (first) this.failingSince = now;
    if (result.auth) {
      try {
        this.token = readTokenFile(this.o.tokenFile);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'the collector token file cannot be read again; keeping the old token');
      }
    }
    if (!first && now - this.lastFailureLog < LOG_REPEAT_MS) return;
    this.lastFailureLog = now;
    const code = result.auth ? 'TW_ERR_SHIPPER_UNAUTHORISED' : 'TW_ERR_SHIPPER_UNAVAILABLE';
    const fields = { code, endpoint: this.client.endpoint, reason: result.reason, retry_in_ms: delay, unshipped_events: this.metrics.unshipped_events, spool_bytes: this.spoolBytes };
    this.log.error(result.auth ? { ...fields, token_file: this.o.tokenFile } : fields, ERRORS[code].message);
  }

  private dropNeeded(): boolean {
    return this.o.spoolFull === 'drop_oldest' && this.spoolBytes > this.o.spoolMaxBytes && this.dropBlockedAt !== this.keptTotal;
  }

  /** drop_oldest: moves the cursor past the oldest unshipped events, records the range, counts it. */
  private async dropOldest(): Promise<void> {
    const needed = this.spoolBytes - Math.floor(this.o.spoolMaxBytes * DROP_TO);
    const drop = await selectOldest(this.o.dir, this.o.emitterId, this.position, this.limit, needed);
    if (!drop) {
      // Nothing readable to drop (the count is ahead of the files): wait for the next kept events.
      this.dropBlockedAt = this.keptTotal;
      return;
    }
    const { range } = drop;
    try {
      await appendDropped(this.o.dir, this.o.emitterId, range);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'the list of dropped audit events cannot be written; the drop is in this log only');
    }
    this.dropped.push(range);
    this.m.dropped_events_total += range.events;
    this.m.dropped_bytes_total += range.bytes;
    this.isolation = undefined;
    this.log.error(
      { code: 'TW_ERR_SHIPPER_SPOOL_FULL', ...range, dropped_events_total: this.m.dropped_events_total },
      'audit spool full (spool_full: drop_oldest): the oldest unshipped events will not be delivered; they stay in the audit files',
    );
    await this.advance({ start: this.position, end: drop.end, lines: range.events, fileBytes: range.bytes, body: Buffer.alloc(0), maxLines: 0, readAt: 0, full: true });
  }

  private async sweep(): Promise<void> {
    if (this.o.keepShippedDays === undefined) return;
    try {
      await sweepShippedFiles({ dir: this.o.dir, emitterId: this.o.emitterId, keepDays: this.o.keepShippedDays, position: this.position, dropped: this.dropped, log: this.log });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'deleting shipped audit files failed; trying again in an hour');
    }
  }
}
