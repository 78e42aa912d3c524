// Exponential backoff with jitter for reconnects: delay = min(max, initial * 2^attempt) * (1 - jitter * r).

export interface BackoffOptions {
  initialDelayMs: number;
  maxDelayMs: number;
  /** 0..1: the share of each delay that is randomised away, so many connectors do not reconnect in step. */
  jitter: number;
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  constructor(private readonly options: BackoffOptions) {}

  next(): number {
    const base = Math.min(this.options.maxDelayMs, this.options.initialDelayMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    const r = (this.options.random ?? Math.random)();
    return Math.max(1, Math.round(base * (1 - this.options.jitter * r)));
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
