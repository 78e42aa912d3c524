// Seeded randomness for the simulator. Every part of a simulation draws from its own named stream
// (fork()), so that adding or removing an injected scenario never changes the normal traffic around it.

export type Rng = () => number;

/** xmur3: a 32-bit hash of a string, used to derive stream seeds from names. */
function hashString(text: string): number {
  let h = 1779033703 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  h = Math.imul(h ^ (h >>> 16), 2246822507);
  h = Math.imul(h ^ (h >>> 13), 3266489909);
  return (h ^ (h >>> 16)) >>> 0;
}

/** sfc32: fast, 128-bit state, passes PractRand far beyond what a simulation draws. */
function sfc32(a: number, b: number, c: number, d: number): Rng {
  return () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/** The stream named `name` of simulation `seed`: same seed and name, same numbers. */
export function fork(seed: number, name: string): Rng {
  const base = `${seed}/${name}`;
  const rng = sfc32(hashString(`${base}#a`), hashString(`${base}#b`), hashString(`${base}#c`), hashString(`${base}#d`));
  for (let i = 0; i < 12; i++) rng(); // mix the initial state
  return rng;
}

export function int(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick from an empty list');
  return items[Math.floor(rng() * items.length)] as T;
}

/** Cumulative weights, so that each draw is a binary search rather than a scan. */
export class Weighted<T> {
  private readonly cumulative: number[] = [];
  private readonly total: number;
  constructor(readonly items: readonly T[], weights: readonly number[]) {
    if (items.length === 0 || items.length !== weights.length) throw new Error('Weighted needs one weight per item');
    let sum = 0;
    for (const w of weights) this.cumulative.push((sum += Math.max(0, w)));
    this.total = sum;
  }
  draw(rng: Rng): T {
    const x = rng() * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.cumulative[mid] as number) > x) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo] as T;
  }
}

/** Zipf weights 1/rank^s for n ranks: the head is popular, the tail long. */
export function zipfWeights(n: number, s = 1.1): number[] {
  return Array.from({ length: n }, (_, i) => 1 / Math.pow(i + 1, s));
}

/** A rank in [1, n] drawn with Zipf(s) popularity, without tables (rejection-inversion would be exact; this
 * power-law inversion is close enough for ids and keeps large id spaces cheap). */
export function zipfRank(rng: Rng, n: number, s = 1.1): number {
  if (n <= 1) return 1;
  const a = 1 - s;
  const u = rng();
  const x = Math.pow(u * (Math.pow(n + 1, a) - 1) + 1, 1 / a);
  return Math.min(n, Math.max(1, Math.floor(x)));
}

export function normal(rng: Rng): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** Log-normal around `median` with shape sigma: byte sizes and latencies. */
export function logNormal(rng: Rng, median: number, sigma: number): number {
  return median * Math.exp(sigma * normal(rng));
}

/** Poisson(lambda): Knuth below 30, a rounded normal above (calls per minute). */
export function poisson(rng: Rng, lambda: number): number {
  if (lambda <= 0) return 0;
  if (lambda < 30) {
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = rng();
    while (p > limit) {
      k++;
      p *= rng();
    }
    return k;
  }
  return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal(rng)));
}

const BYTE_HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** `length` hex digits (even), four bytes per draw: trace and span ids of every call. */
export function hex(rng: Rng, length: number): string {
  let s = '';
  while (s.length < length) {
    const x = Math.floor(rng() * 0x100000000);
    s += (BYTE_HEX[x >>> 24] as string) + (BYTE_HEX[(x >>> 16) & 255] as string) + (BYTE_HEX[(x >>> 8) & 255] as string) + (BYTE_HEX[x & 255] as string);
  }
  return s.length === length ? s : s.slice(0, length);
}

/** Fisher-Yates on a copy. */
export function shuffled<T>(rng: Rng, items: readonly T[]): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
