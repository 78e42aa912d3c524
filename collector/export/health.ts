// Exporter health (docs/siem.md, "Health"): per exporter its state, lag per stream in records and seconds,
// last success, error counts by kind and dead letters. The runners report every attempt to a tracker;
// lag and dead letters are read from the store when asked (cached briefly, since /metrics and the
// dashboard may ask often). The dashboard reads it through DashboardContext.exporters.
import type { DeadLetterStore } from './dead-letters.js';
import type { AttemptReport } from './retry.js';
import type { ExportSource, StreamLag } from './source.js';
import type { ExportStream } from './types.js';

/** ok: delivering or idle; retrying: the receiver asked for patience; failing: it refuses the configuration. */
export type ExporterState = 'ok' | 'retrying' | 'failing' | 'disabled' | 'unknown';
export type ErrorKind = 'retryable' | 'failure' | 'dead_letter' | 'store';
export const ERROR_KINDS: readonly ErrorKind[] = ['retryable', 'failure', 'dead_letter', 'store'];

export interface StreamHealth {
  readonly stream: ExportStream;
  /** Records stored but not delivered yet (including the last seconds the settle margin holds back). */
  readonly lag_records: number;
  /** Age of the oldest of them (s), 0 when none. */
  readonly lag_seconds: number;
  /** The store time the cursor stands at, null before the first delivery. */
  readonly position_at: string | null;
  readonly last_success_at: string | null;
  /** Records delivered since the collector started. */
  readonly sent: number;
}

export interface ExporterHealth {
  readonly name: string;
  readonly type: string;
  readonly state: ExporterState;
  readonly streams: readonly StreamHealth[];
  readonly last_success_at: string | null;
  readonly last_error: { readonly kind: ErrorKind; readonly reason: string; readonly at: string } | null;
  /** Since the collector started: failed attempts by kind, and records dead-lettered. */
  readonly errors: Readonly<Record<ErrorKind, number>>;
  /** Dead letters not replayed yet (from the store, all time). */
  readonly dead_letters: number;
}

export interface ExporterHealthSource {
  snapshot(): Promise<ExporterHealth[]>;
}

interface StreamState { position: string | undefined; lastSuccess: number | undefined; sent: number; status: 'ok' | 'retrying' | 'failing' }

const RANK = { ok: 0, retrying: 1, failing: 2 } as const;
const isoOrNull = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
const LAG_CACHE_MS = 2000;

/** What one exporter's runner reports; snapshot() turns it into ExporterHealth. */
export class HealthTracker {
  private readonly streamState = new Map<ExportStream, StreamState>();
  private readonly errors: Record<ErrorKind, number> = { retryable: 0, failure: 0, dead_letter: 0, store: 0 };
  private lastError: ExporterHealth['last_error'] = null;
  private lagCache: { at: number; key: string; lags: Promise<StreamLag[]> } | undefined;

  constructor(readonly name: string, readonly type: string, readonly streams: readonly ExportStream[], readonly enabled: boolean) {
    for (const s of streams) this.streamState.set(s, { position: undefined, lastSuccess: undefined, sent: 0, status: 'ok' });
  }

  private state(stream: ExportStream): StreamState {
    return this.streamState.get(stream) as StreamState;
  }

  position(stream: ExportStream, position: string | undefined): void {
    this.state(stream).position = position;
  }

  attempt(stream: ExportStream, report: AttemptReport): void {
    const s = this.state(stream);
    s.sent += report.delivered;
    if (report.dead > 0) this.error('dead_letter', `${report.dead} record(s) dead-lettered: ${report.outcome.status === 'failure' ? report.outcome.reason : report.outcome.dead?.[0]?.reason ?? ''}`, report.dead);
    if (report.outcome.status === 'success' || report.delivered > 0) s.lastSuccess = Date.now();
    if (report.outcome.status === 'success') s.status = 'ok';
    else {
      s.status = report.outcome.status === 'failure' ? 'failing' : 'retrying';
      this.error(report.outcome.status, report.outcome.reason);
    }
  }

  /** The store could not be read or written (the runner waits and tries again). */
  storeError(reason: string): void {
    this.error('store', reason);
  }

  /** Caught up with nothing pending: whatever went wrong before is over. */
  idle(stream: ExportStream): void {
    this.state(stream).status = 'ok';
  }

  private error(kind: ErrorKind, reason: string, n = 1): void {
    this.errors[kind] += n;
    this.lastError = { kind, reason: reason.slice(0, 500), at: new Date().toISOString() };
  }

  async snapshot(source: ExportSource, deadLetters: number): Promise<ExporterHealth> {
    const now = Date.now();
    // Cached while the cursors stay where they are: an idle exporter is asked often and changes rarely.
    const key = JSON.stringify(this.streams.map((s) => this.state(s).position ?? null));
    if (!this.lagCache || this.lagCache.key !== key || now - this.lagCache.at > LAG_CACHE_MS) {
      const lags = Promise.all(this.streams.map((s) => source.lag(s, this.state(s).position)));
      lags.catch(() => (this.lagCache = undefined));
      this.lagCache = { at: now, key, lags };
    }
    const lags = await this.lagCache.lags;
    const streams = this.streams.map((stream, i): StreamHealth => {
      const s = this.state(stream);
      const lag = lags[i] as StreamLag;
      return {
        stream,
        lag_records: lag.records,
        lag_seconds: lag.oldestMs === undefined ? 0 : Math.max(0, Math.round((now - lag.oldestMs) / 1000)),
        position_at: isoOrNull(lag.positionMs),
        last_success_at: isoOrNull(s.lastSuccess),
        sent: s.sent,
      };
    });
    const worst = this.streams.reduce<'ok' | 'retrying' | 'failing'>((w, s) => (RANK[this.state(s).status] > RANK[w] ? this.state(s).status : w), 'ok');
    const successes = this.streams.map((s) => this.state(s).lastSuccess ?? 0);
    return {
      name: this.name,
      type: this.type,
      state: this.enabled ? worst : 'disabled',
      streams,
      last_success_at: isoOrNull(Math.max(...successes) || undefined),
      last_error: this.lastError,
      errors: { ...this.errors },
      dead_letters: deadLetters,
    };
  }
}

/** The health of a set of trackers (one per configured exporter, disabled ones included). */
export function healthSource(trackers: readonly HealthTracker[], source: ExportSource, deadLetters: DeadLetterStore): ExporterHealthSource {
  return {
    async snapshot() {
      const counts = await deadLetters.counts();
      return Promise.all(trackers.map((t) => t.snapshot(source, counts.get(t.name) ?? 0)));
    },
  };
}
