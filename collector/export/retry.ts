// The one retry wrapper around an exporter's send() (docs/siem.md, "Delivery"): exponential backoff with
// jitter (common/backoff.ts) between attempts, or the delay the receiver asked for (Retry-After); only the
// records still pending are sent again; dead letters are collected, never re-sent; a failure outcome waits
// the longest delay. It returns when every record is delivered or dead, when it is aborted (shutdown), or
// at the deadline when one is set (the CLI's replay); the collector's runners set none and never give up.
import { Backoff } from '../../common/backoff.js';
import type { DeadLetter, ExportOutcome, ExportRecord } from './types.js';

export type SendFn = (records: readonly ExportRecord[], signal: AbortSignal) => Promise<ExportOutcome>;

export interface RetryPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** 0..1: the share of each delay randomised away, so exporters do not retry in step. */
  readonly jitter: number;
  /** One send() longer than this gets its signal aborted (it must then settle). */
  readonly attemptTimeoutMs: number;
  /** Give up after this long (ms); absent = never. */
  readonly deadlineMs?: number;
  readonly random?: () => number;
}

export const DEFAULT_RETRY: RetryPolicy = { initialDelayMs: 500, maxDelayMs: 60_000, jitter: 0.5, attemptTimeoutMs: 120_000 };

/** What one attempt did, for health and metrics. */
export interface AttemptReport {
  readonly outcome: ExportOutcome;
  /** Records sent in this attempt, and how many of them were delivered or went dead. */
  readonly sent: number;
  readonly delivered: number;
  readonly dead: number;
  /** The wait before the next attempt (retryable and failure outcomes). */
  readonly delayMs?: number;
}

export interface RetryResult {
  /** done: nothing pending; aborted: stopped by the signal; gave_up: the deadline passed. */
  readonly status: 'done' | 'aborted' | 'gave_up';
  readonly delivered: number;
  readonly dead: readonly DeadLetter[];
  /** Records neither delivered nor dead (empty when done). */
  readonly pending: readonly ExportRecord[];
  readonly lastReason: string | undefined;
}

export interface RetryOptions {
  readonly signal?: AbortSignal;
  readonly onAttempt?: (report: AttemptReport) => void;
  /** For tests: how to wait. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
  });
}

/** One send(), bounded in time, with a throw turned into a retryable outcome (the contract allows no throw). */
async function attempt(send: SendFn, records: readonly ExportRecord[], signal: AbortSignal, timeoutMs: number): Promise<ExportOutcome> {
  const controller = new AbortController();
  const abort = (): void => controller.abort(signal.reason);
  signal.addEventListener('abort', abort, { once: true });
  const timer = setTimeout(() => controller.abort(new Error(`send() took longer than ${timeoutMs} ms`)), timeoutMs);
  timer.unref();
  try {
    return await send(records, controller.signal);
  } catch (err) {
    return { status: 'retryable', reason: `send failed: ${(err as Error).message ?? String(err)}` };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', abort);
  }
}

export async function sendWithRetry(send: SendFn, records: readonly ExportRecord[], policy: RetryPolicy, options: RetryOptions = {}): Promise<RetryResult> {
  const signal = options.signal ?? new AbortController().signal;
  const sleep = options.sleep ?? abortableSleep;
  const backoff = new Backoff({ initialDelayMs: policy.initialDelayMs, maxDelayMs: policy.maxDelayMs, jitter: policy.jitter, ...(policy.random ? { random: policy.random } : {}) });
  const deadline = policy.deadlineMs !== undefined ? Date.now() + policy.deadlineMs : Infinity;
  const dead: DeadLetter[] = [];
  let pending = records;
  let delivered = 0;
  let lastReason: string | undefined;
  const result = (status: RetryResult['status']): RetryResult => ({ status, delivered, dead, pending: status === 'done' ? [] : pending, lastReason });

  while (pending.length > 0) {
    if (signal.aborted) return result('aborted');
    const outcome = await attempt(send, pending, signal, policy.attemptTimeoutMs);
    const ids = new Set(pending.map((r) => r.id));
    // Only ids of this attempt count; an exporter naming others would be a bug, not a reason to lose records.
    const deadNow = outcome.status === 'failure' ? [] : (outcome.dead ?? []).filter((d) => ids.delete(d.id));
    dead.push(...deadNow);
    let next: readonly ExportRecord[] = [];
    let delayMs: number | undefined;
    if (outcome.status === 'retryable') {
      const still = outcome.pending ? new Set(outcome.pending) : ids;
      next = pending.filter((r) => ids.has(r.id) && still.has(r.id));
      if (next.length < pending.length - deadNow.length) backoff.reset();
      delayMs = outcome.delayMs ?? backoff.next();
      lastReason = outcome.reason;
    } else if (outcome.status === 'failure') {
      next = pending;
      delayMs = policy.maxDelayMs;
      lastReason = outcome.reason;
    }
    const deliveredNow = pending.length - next.length - deadNow.length;
    delivered += deliveredNow;
    options.onAttempt?.({ outcome, sent: pending.length, delivered: deliveredNow, dead: deadNow.length, ...(delayMs !== undefined ? { delayMs } : {}) });
    pending = next;
    if (pending.length === 0) break;
    if (Date.now() + (delayMs ?? 0) > deadline) return result('gave_up');
    await sleep(delayMs ?? 0, signal);
  }
  return result('done');
}
