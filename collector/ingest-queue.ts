// The bounded queue in front of the store writer. A request holds its rows and bytes in the queue from
// the moment it is admitted until the store has committed them (or failed); when admitting it would pass
// a limit, it is refused at once with 429 and Retry-After instead of piling up in memory. While the
// store is unreachable every request gets 503 and the store is probed until it answers again.
//
// Unreachable includes a server that accepts connections and then says nothing (hung, frozen, a network
// that drops packets): the client would wait its whole request timeout (30 s) on the insert and again
// on the ping. So an insert still unanswered after storeStallMs makes the queue ask the store for a ping,
// and a ping unanswered after storePingTimeoutMs counts as unreachable: the waiting request gets its 503
// then, and the rows stay counted until the store really settles them (the insert goes on; a resent
// copy is recognised by event_id).
import { TunnelwatchError, type ErrorCode } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { IngestStore } from './ingest-store.js';

export interface QueueLimits {
  readonly maxRows: number;
  readonly maxBytes: number;
  /** Retry-After with 429. */
  readonly retryAfterS: number;
  /** Retry-After with 503, and the probe interval while the store is down. */
  readonly storeRetryAfterS: number;
  /** An insert unanswered this long makes the queue ping the store (default 3000 ms). */
  readonly storeStallMs?: number;
  /** A ping unanswered this long counts as the store unreachable (default 2000 ms). */
  readonly storePingTimeoutMs?: number;
}

// A live server answers /ping in milliseconds even under load, and commits a batch in well under a
// second: 3 s without an answer is worth a ping, and 2 s without a pong is not a slow server.
const STALL_MS = 3_000;
const PING_TIMEOUT_MS = 2_000;

export interface Refusal {
  readonly code: Extract<ErrorCode, 'TW_ERR_INGEST_OVERLOADED' | 'TW_ERR_INGEST_STORE_UNAVAILABLE' | 'TW_ERR_INGEST_STORE_FAILED' | 'TW_ERR_INGEST_TOO_LARGE' | 'TW_ERR_INGEST_MALFORMED'>;
  /** Seconds, for the Retry-After header (429 and 503 only). */
  readonly retryAfterS: number | undefined;
  readonly reason: string;
}

export type RejectionKind = 'unauthenticated' | 'forbidden_emitter' | 'malformed' | 'too_large' | 'unsupported_media_type' | 'overloaded' | 'store_unavailable' | 'store_failed';
export type Signal = 'audit' | 'spans' | 'logs';

/** Plain numbers, snake_case as they would be exported as metrics. */
export interface IngestStats {
  queued_rows: number;
  queued_bytes: number;
  max_rows: number;
  max_bytes: number;
  store_up: boolean;
  accepted_rows_total: Record<Signal, number>;
  duplicates_total: number;
  partial_rejected_total: Record<'spans' | 'logs', number>;
  rejected_requests_total: Record<RejectionKind, number>;
}

const BURST_QUIET_MS = 10_000;

export class IngestQueue {
  private queuedRows = 0;
  private queuedBytes = 0;
  private storeUp = true;
  /** When a write last committed: a store that keeps committing other requests is busy, not gone. */
  private lastSettled = 0;
  private probe: NodeJS.Timeout | undefined;
  /** The ping in progress: a hung one is waited on again rather than joined by more. */
  private pinging: Promise<boolean> | undefined;
  private burst: { since: number; last: number; refused: number } | undefined;
  private readonly counters: Omit<IngestStats, 'queued_rows' | 'queued_bytes' | 'max_rows' | 'max_bytes' | 'store_up'> = {
    accepted_rows_total: { audit: 0, spans: 0, logs: 0 },
    duplicates_total: 0,
    partial_rejected_total: { spans: 0, logs: 0 },
    rejected_requests_total: { unauthenticated: 0, forbidden_emitter: 0, malformed: 0, too_large: 0, unsupported_media_type: 0, overloaded: 0, store_unavailable: 0, store_failed: 0 },
  };

  constructor(
    private readonly limits: QueueLimits,
    private readonly store: IngestStore,
    private readonly log: Logger,
  ) {}

  /** Whether a request would be refused right now, before its body is read. */
  refusal(): Refusal | undefined {
    if (!this.storeUp) return this.storeDown();
    if (this.queuedRows >= this.limits.maxRows || this.queuedBytes >= this.limits.maxBytes) return this.full();
    return undefined;
  }

  /**
   * Holds rows and bytes in the queue while write runs, and resolves with its result once the store has
   * committed; a refusal instead when the queue has no room or the store fails. A request larger than the
   * whole queue could never be admitted: it is refused as too large (413), not as overload.
   */
  async submit<T>(rows: number, bytes: number, write: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; refusal: Refusal }> {
    if (rows > this.limits.maxRows || bytes > this.limits.maxBytes) {
      return {
        ok: false,
        refusal: { code: 'TW_ERR_INGEST_TOO_LARGE', retryAfterS: undefined, reason: `${rows} rows / ${bytes} bytes exceed the whole ingest queue (queue.max_rows ${this.limits.maxRows}, queue.max_bytes ${this.limits.maxBytes}): send smaller batches` },
      };
    }
    if (!this.storeUp) return { ok: false, refusal: this.storeDown() };
    if (this.queuedRows + rows > this.limits.maxRows || this.queuedBytes + bytes > this.limits.maxBytes) {
      return { ok: false, refusal: this.full() };
    }
    this.queuedRows += rows;
    this.queuedBytes += bytes;
    let started: Promise<T>;
    try {
      started = write();
    } catch (err) {
      started = Promise.reject(err);
    }
    const writing = started.then(
      (value) => ({ ok: true as const, value }),
      (err: unknown) => ({ ok: false as const, err }),
    );
    // Released when the store has settled the rows, even if the request was answered before.
    void writing.then(() => {
      this.queuedRows -= rows;
      this.queuedBytes -= bytes;
    });
    if ((await this.settledOrUnreachable(writing)) === 'unreachable') return { ok: false, refusal: this.storeDown() };
    const done = await writing;
    if (!done.ok) return { ok: false, refusal: await this.failed(done.err) };
    this.endBurst();
    return { ok: true, value: done.value };
  }

  accepted(signal: Signal, rows: number, duplicates = 0): void {
    this.counters.accepted_rows_total[signal] += rows;
    this.counters.duplicates_total += duplicates;
  }

  partiallyRejected(signal: 'spans' | 'logs', rows: number): void {
    this.counters.partial_rejected_total[signal] += rows;
  }

  /** Counts a refused request; overload and store refusals are also logged once per burst. */
  rejected(kind: RejectionKind): void {
    this.counters.rejected_requests_total[kind]++;
    if (kind !== 'overloaded' && kind !== 'store_unavailable') return;
    const now = Date.now();
    if (this.burst === undefined) {
      this.burst = { since: now, last: now, refused: 0 };
      this.log.warn({ reason: kind, queued_rows: this.queuedRows, queued_bytes: this.queuedBytes }, 'ingest refusing requests (429/503 with Retry-After)');
    }
    this.burst.last = now;
    this.burst.refused++;
  }

  stats(): IngestStats {
    return {
      queued_rows: this.queuedRows,
      queued_bytes: this.queuedBytes,
      max_rows: this.limits.maxRows,
      max_bytes: this.limits.maxBytes,
      store_up: this.storeUp,
      ...structuredClone(this.counters),
    };
  }

  get isStoreUp(): boolean {
    return this.storeUp;
  }

  close(): void {
    if (this.probe) clearInterval(this.probe);
    this.probe = undefined;
  }

  private full(): Refusal {
    return {
      code: 'TW_ERR_INGEST_OVERLOADED',
      retryAfterS: this.limits.retryAfterS,
      reason: `ingest queue full (${this.queuedRows}/${this.limits.maxRows} rows, ${this.queuedBytes}/${this.limits.maxBytes} bytes waiting for the store)`,
    };
  }

  private storeDown(): Refusal {
    return { code: 'TW_ERR_INGEST_STORE_UNAVAILABLE', retryAfterS: this.limits.storeRetryAfterS, reason: 'the store is unreachable' };
  }

  /**
   * A failed insert: the store's own queue was full (429), a row did not fit its schema (400), it is
   * closing or down (503, probed until it is back), or it refused the rows while reachable (500).
   */
  private async failed(err: unknown): Promise<Refusal> {
    const message = (err as Error)?.message ?? String(err);
    const code = err instanceof TunnelwatchError ? err.code : undefined;
    if (code === 'TW_ERR_STORE_OVERLOADED') return this.full();
    if (code === 'TW_ERR_STORE_INVALID_ROW') return { code: 'TW_ERR_INGEST_MALFORMED', retryAfterS: undefined, reason: message };
    if (code === 'TW_ERR_STORE_CLOSED') return this.storeDown();
    if (await this.reachable()) {
      this.log.error({ err: message }, 'the store refused an insert');
      return { code: 'TW_ERR_INGEST_STORE_FAILED', retryAfterS: undefined, reason: message };
    }
    this.markDown(message);
    return this.storeDown();
  }

  private markDown(why: string): void {
    if (!this.storeUp) return;
    this.storeUp = false;
    this.log.error({ err: why }, 'store unreachable; answering 503 until it is back');
    this.probe = setInterval(() => void this.probeStore(), this.limits.storeRetryAfterS * 1000);
    this.probe.unref();
  }

  /** 'settled' once the write has; 'unreachable' when it stalls and the store does not answer a ping either. */
  private settledOrUnreachable(writing: Promise<{ ok: boolean }>): Promise<'settled' | 'unreachable'> {
    const stallMs = this.limits.storeStallMs ?? STALL_MS;
    return new Promise((resolve) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const arm = (): void => {
        timer = setTimeout(() => {
          // The embedded engine runs one statement at a time, so under load a ping waits behind the
          // inserts ahead of it; commits of other requests within the stall window prove it alive.
          if (Date.now() - this.lastSettled < stallMs) return arm();
          void this.reachable().then((up) => {
            if (done) return;
            if (up) return arm(); // slow, not gone: keep waiting
            done = true;
            this.markDown(`no answer to an insert within ${stallMs} ms, nor to a ping`);
            resolve('unreachable');
          });
        }, stallMs);
        timer.unref();
      };
      void writing.then((result) => {
        if (result.ok) this.lastSettled = Date.now();
        done = true;
        clearTimeout(timer);
        resolve('settled');
      });
      arm();
    });
  }

  /** Whether the store answers a ping within storePingTimeoutMs. Never throws. */
  private async reachable(): Promise<boolean> {
    this.pinging ??= this.store.ping().then(
      (up) => up,
      () => false,
    ).finally(() => (this.pinging = undefined));
    const ping = this.pinging;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => {
        // A busy event loop runs due timers before it reads sockets: give an answer that has already
        // arrived one turn to be read before calling the store unreachable.
        setImmediate(() => resolve(false));
      }, this.limits.storePingTimeoutMs ?? PING_TIMEOUT_MS);
      timer.unref();
    });
    try {
      return await Promise.race([ping, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async probeStore(): Promise<void> {
    if (this.storeUp || !(await this.reachable()) || this.storeUp) return; // probes overlap while a ping hangs
    this.storeUp = true;
    if (this.probe) clearInterval(this.probe);
    this.probe = undefined;
    this.log.info('store reachable again; accepting ingest');
  }

  private endBurst(): void {
    if (this.burst === undefined || Date.now() - this.burst.last < BURST_QUIET_MS) return;
    this.log.info({ refused: this.burst.refused, for_ms: this.burst.last - this.burst.since }, 'ingest accepting again');
    this.burst = undefined;
  }
}
