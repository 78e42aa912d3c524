// Sign-in throttling per client address and per user name. An attempt reserves a slot in every bucket
// before the password is checked (so a burst of parallel guesses cannot all slip through before the first
// one fails) and a successful sign-in gives its slot back: in effect failures are counted. A bucket's
// window starts at its first attempt; when full, attempts are refused until the window ends.
import { isIPv4 } from 'node:net';

export interface LimiterOptions {
  readonly maxAttempts: number;
  readonly windowMs: number;
  /** Buckets kept at most (memory bound); expired ones go first, then the oldest. */
  readonly maxKeys?: number;
  readonly now?: () => number;
}

interface Bucket {
  count: number;
  readonly resetAt: number;
  /** Whether a refusal of this bucket was already reported (recorded once per window, not per attempt). */
  reported: boolean;
}

export type AttemptResult =
  | { readonly ok: true; release(): void }
  | { readonly ok: false; readonly retryAfterS: number; readonly firstRefusal: boolean; readonly key: string };

/**
 * The bucket key of a client address: IPv4 as is, IPv6 by its /64 (one host usually holds a whole /64,
 * so counting single addresses would give it 2^64 tries), IPv4-mapped IPv6 as the IPv4 address.
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1] as string;
  if (isIPv4(ip) || !ip.includes(':')) return ip;
  const addr = (ip.split('%')[0] ?? ip).toLowerCase();
  let groups: string[];
  if (addr.includes('::')) {
    const [head = '', tail = ''] = addr.split('::');
    const left = head ? head.split(':') : [];
    const right = tail ? tail.split(':') : [];
    groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  } else {
    groups = addr.split(':');
  }
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export class LoginLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxAttempts: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(options: LimiterOptions) {
    this.maxAttempts = options.maxAttempts;
    this.windowMs = options.windowMs;
    this.maxKeys = options.maxKeys ?? 50_000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Reserves one attempt in each bucket of `keys`, or says how long until the fullest one opens again. */
  attempt(keys: readonly string[]): AttemptResult {
    const now = this.now();
    let refused: { bucket: Bucket; key: string } | undefined;
    for (const key of keys) {
      const bucket = this.live(key, now);
      if (bucket && bucket.count >= this.maxAttempts && (!refused || bucket.resetAt > refused.bucket.resetAt)) refused = { bucket, key };
    }
    if (refused) {
      const firstRefusal = !refused.bucket.reported;
      refused.bucket.reported = true;
      return { ok: false, retryAfterS: Math.max(1, Math.ceil((refused.bucket.resetAt - now) / 1000)), firstRefusal, key: refused.key };
    }
    const taken = keys.map((key) => {
      let bucket = this.live(key, now);
      if (!bucket) {
        this.makeRoom(now);
        bucket = { count: 0, resetAt: now + this.windowMs, reported: false };
        this.buckets.set(key, bucket);
      }
      bucket.count++;
      return bucket;
    });
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        for (const bucket of taken) if (bucket.count > 0) bucket.count--;
      },
    };
  }

  private live(key: string, now: number): Bucket | undefined {
    const bucket = this.buckets.get(key);
    if (bucket && bucket.resetAt <= now) {
      this.buckets.delete(key);
      return undefined;
    }
    return bucket;
  }

  private makeRoom(now: number): void {
    if (this.buckets.size < this.maxKeys) return;
    for (const [key, bucket] of this.buckets) if (bucket.resetAt <= now) this.buckets.delete(key);
    // Still full: drop the oldest tenth at once, so a flood of new keys does not sweep on every attempt.
    if (this.buckets.size >= this.maxKeys) {
      let drop = Math.max(1, Math.floor(this.maxKeys / 10));
      for (const key of this.buckets.keys()) {
        if (drop-- <= 0) break;
        this.buckets.delete(key);
      }
    }
  }
}
