// One exporter at work (docs/siem.md, "Delivery"): a loop per stream reads a page after the stream's
// cursor (and the next page while this one is sent), hands it to the exporter in batches through the
// retry wrapper, writes what went dead to the dead-letter table, and only then moves the cursor past the
// batch. The cursor is saved at most every cursor_save_interval_ms (and when caught up, and on close):
// after a crash the exporter re-sends from the last saved position, which receivers de-duplicate by
// record id. Sends of one exporter overlap only up to its maxInFlight (default 1: never), so an exporter
// need not be safe for concurrent send() calls unless it asks for more; the cursor moves in batch order
// whatever order the sends settle in.
import { Backoff } from '../../common/backoff.js';
import type { Logger } from '../../common/log.js';
import type { CursorStore } from './cursor.js';
import type { DeadLetterStore } from './dead-letters.js';
import type { HealthTracker } from './health.js';
import type { ExportMetrics } from './metrics.js';
import { abortableSleep, sendWithRetry, type AttemptReport, type RetryPolicy, type RetryResult, type SendFn } from './retry.js';
import type { ExportSource, SourcePage } from './source.js';
import type { DeadLetter, Exporter, ExportRecord, ExportStream } from './types.js';

export interface RunnerSettings {
  /** Wait between reads when there is nothing new (ms). */
  readonly pollIntervalMs: number;
  /** Records read per query; handed over in batches of the exporter's batchSize. */
  readonly readSize: number;
  readonly cursorSaveIntervalMs: number;
  readonly retry: RetryPolicy;
}

export interface RunnerDeps {
  readonly source: ExportSource;
  readonly cursors: CursorStore;
  readonly deadLetters: DeadLetterStore;
  readonly health: HealthTracker;
  readonly metrics?: ExportMetrics;
  readonly log: Logger;
}

export class ExportRunner {
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  private starting: Promise<string | undefined> | undefined;
  private closing: Promise<void> | undefined;
  private readonly slots: Slots;

  constructor(private readonly exporter: Exporter, private readonly deps: RunnerDeps, private readonly settings: RunnerSettings) {
    this.slots = new Slots(Math.max(1, Math.floor(exporter.maxInFlight ?? 1)));
  }

  start(): void {
    this.loops = this.exporter.streams.map((stream) => this.loop(stream));
  }

  /** Stops reading, lets the send in flight settle (its signal is aborted), saves the cursors, closes the exporter. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.abort.abort(new Error('the collector is stopping'));
      await Promise.all(this.loops);
      await this.exporter.close().catch((err: unknown) => this.deps.log.warn({ err }, 'exporter close failed'));
    })();
    return this.closing;
  }

  /**
   * Starts the exporter once, and again after a failure; concurrent callers share one start. Resolves
   * with why it failed, or undefined once started.
   */
  private ensureStarted(): Promise<string | undefined> {
    this.starting ??= Promise.resolve()
      .then(() => this.exporter.start?.())
      .then(() => undefined, (err: unknown) => {
        this.starting = undefined;
        return (err as Error).message;
      });
    return this.starting;
  }

  /** send() at most maxInFlight at a time (across the exporter's streams), starting the exporter first. */
  private readonly send: SendFn = async (records, signal) => {
    await this.slots.take();
    try {
      const startError = await this.ensureStarted();
      if (startError !== undefined) return { status: 'failure', reason: `start failed: ${startError}` };
      const outcome = await this.exporter.send(records, signal);
      // The receiver refused the configuration: start again (new connection, files read again) next time.
      if (outcome.status === 'failure') this.starting = undefined;
      return outcome;
    } finally {
      this.slots.give();
    }
  };

  private report(stream: ExportStream, r: AttemptReport, previous: { status: string }): void {
    const { health, metrics, log } = this.deps;
    health.attempt(stream, r);
    metrics?.attempt(this.exporter.name, stream, r);
    const status = r.outcome.status;
    if (status !== 'success' && previous.status === 'success') log.warn({ stream, outcome: status, reason: r.outcome.reason, retry_in_ms: r.delayMs }, 'export not delivering; retrying');
    if (status === 'success' && previous.status !== 'success') log.info({ stream }, 'export delivering again');
    previous.status = status;
  }

  private async bury(stream: ExportStream, batch: readonly ExportRecord[], dead: readonly DeadLetter[]): Promise<void> {
    const byId = new Map(batch.map((r) => [r.id, r]));
    const failed = dead.flatMap((d) => {
      const record = byId.get(d.id);
      return record ? [{ record, reason: d.reason }] : [];
    });
    await this.deps.deadLetters.write(this.exporter.name, failed);
    this.deps.log.warn({ stream, dead: failed.length, first: failed[0]?.record.id, reason: failed[0]?.reason }, 'records dead-lettered (see tunnelwatch siem dead-letters list)');
  }

  private readAhead(stream: ExportStream, from: string, readSize: number): { from: string; page: Promise<SourcePage> } {
    const page = this.deps.source.readPage(stream, from, readSize);
    // Awaited when used; a failure then counts as a failed read. Unused, it must not be an unhandled rejection.
    page.catch(() => undefined);
    return { from, page };
  }

  private async loop(stream: ExportStream): Promise<void> {
    const { source, cursors, health, log } = this.deps;
    const { signal } = this.abort;
    const name = this.exporter.name;
    const trouble = new Backoff({ initialDelayMs: 1000, maxDelayMs: 30_000, jitter: 0.3 });
    const readSize = Math.max(this.settings.readSize, this.exporter.batchSize);
    const previous = { status: 'success' };
    let position: string | undefined;
    let saved: string | undefined;
    let savedAt = Date.now();
    let loaded = false;
    let next: { from: string; page: Promise<SourcePage> } | undefined;
    const save = async (): Promise<void> => {
      if (position === saved || position === undefined) return;
      await cursors.save(name, stream, position);
      saved = position;
      savedAt = Date.now();
    };

    while (!signal.aborted) {
      try {
        if (!loaded) {
          position = saved = await cursors.load(name, stream);
          loaded = true;
          health.position(stream, position);
        }
        const ahead = next;
        next = undefined;
        // A read-ahead that no longer starts at the cursor is dropped, once it has ended (one read at a time).
        if (ahead !== undefined && ahead.from !== position) await ahead.page.catch(() => undefined);
        const page = ahead !== undefined && ahead.from === position ? await ahead.page : await source.readPage(stream, position, readSize);
        trouble.reset();
        if (page.rows === 0 || page.end === undefined) {
          health.idle(stream);
          await save();
          await abortableSleep(this.settings.pollIntervalMs, signal);
          continue;
        }
        // A full page means more is waiting: read the next page while this one is sent (the engine reads
        // while the receiver answers). It starts where this page ends, so it is used only if all of this
        // page is delivered; otherwise it is dropped and the read starts again from the cursor.
        if (page.rows >= readSize) next = this.readAhead(stream, page.end, readSize);
        // Up to maxInFlight batches are sent at once; they land (dead letters written, cursor moved) in
        // order. A batch that is not delivered (aborted, or retried past its deadline) stops the page: the
        // batches after it are left to settle and nothing moves past it; the next read starts again there.
        const flights: Flight[] = [];
        let delivering = true;
        const land = async (): Promise<void> => {
          const flight = flights.shift() as Flight;
          const result = await flight.result;
          if (!delivering) return;
          if (result !== undefined && result.status !== 'done') {
            delivering = false;
            return;
          }
          if (result !== undefined && result.dead.length > 0) await this.bury(stream, flight.records, result.dead);
          position = flight.end;
          health.position(stream, position);
          if (Date.now() - savedAt >= this.settings.cursorSaveIntervalMs) await save();
        };
        try {
          for (let i = 0; i < page.rows && !signal.aborted && delivering; i += this.exporter.batchSize) {
            // Rows are decoded batch by batch, so only the batches in flight are alive at a time.
            const { records, end } = page.batch(i, Math.min(i + this.exporter.batchSize, page.rows));
            const result = records.length > 0
              ? sendWithRetry(this.send, records, this.settings.retry, { signal, onAttempt: (r) => this.report(stream, r, previous) })
              : Promise.resolve(undefined);
            flights.push({ records, end, result });
            while (flights.length >= this.slots.size && delivering) await land();
          }
          while (flights.length > 0 && delivering) await land();
        } finally {
          // Sends still running (a batch before them failed, or the store did): they must settle before
          // the page is read again, and what they delivered is sent again (receivers de-duplicate by id).
          delivering = false;
          while (flights.length > 0) await land().catch(() => undefined);
        }
      } catch (err) {
        // The store (read, dead letters or cursor) failed: nothing moved past what is saved; try again.
        const delay = trouble.next();
        health.storeError((err as Error).message);
        if (trouble.attempts === 1) log.warn({ err, stream, retry_in_ms: delay }, 'export cannot read or write the store; retrying');
        await abortableSleep(delay, signal);
      }
    }
    // A read still running must end before the store may close.
    await next?.page.catch(() => undefined);
    try {
      await save();
    } catch (err) {
      log.warn({ err, stream }, 'export cursor not saved at shutdown; the last saved one is re-sent from after restart');
    }
  }
}

interface Flight {
  readonly records: readonly ExportRecord[];
  /** The position after this batch. */
  readonly end: string;
  /** Undefined for a batch with no record to send (all repeats of records already met). */
  readonly result: Promise<RetryResult | undefined>;
}

/** A counting semaphore: at most `size` holders at once, served in the order they asked. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    this.free = size;
  }

  take(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}
