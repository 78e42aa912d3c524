// Password hashes for local dashboard users: scrypt (memory-hard, in node:crypto, no native add-on), in
// the self-describing form `scrypt$N$r$p$salt$hash` (salt and hash base64url) so that the cost can be
// raised later without breaking the hashes already in dashboard.users.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  /** Block size. */
  readonly r: number;
  /** Parallelisation. */
  readonly p: number;
}

/** 2^15 × 8 × 128 B = 32 MiB and ~50-100 ms per check: the OWASP minimum for scrypt, slow for guessing. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 32_768, r: 8, p: 1 };

const SALT_BYTES = 16;
const KEY_BYTES = 32;

export interface ParsedHash extends ScryptParams {
  readonly salt: Buffer;
  readonly hash: Buffer;
}

const FORMAT = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

/**
 * Parses and checks a hash: bounds keep a typo in the config from asking for gigabytes of memory (or
 * from a hash so weak it is no protection).
 */
export function parsePasswordHash(encoded: string): ParsedHash | undefined {
  const m = FORMAT.exec(encoded);
  if (!m) return undefined;
  const N = Number(m[1]);
  const r = Number(m[2]);
  const p = Number(m[3]);
  const salt = Buffer.from(m[4] as string, 'base64url');
  const hash = Buffer.from(m[5] as string, 'base64url');
  const powerOfTwo = N >= 1024 && N <= 1_048_576 && (N & (N - 1)) === 0;
  if (!powerOfTwo || r < 1 || r > 32 || p < 1 || p > 16) return undefined;
  if (salt.length < 8 || hash.length < 16 || hash.length > 64) return undefined;
  return { N, r, p, salt, hash };
}

function derive(password: string, salt: Buffer, keyBytes: number, params: ScryptParams): Promise<Buffer> {
  // Node refuses by default anything above 32 MiB, which is exactly what N=2^15, r=8 needs: leave room.
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r * params.p };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyBytes, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** A new hash of `password` with a random salt. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** True when `password` matches `encoded`; the comparison takes the same time wherever they differ. */
export async function verifyPassword(password: string, encoded: string | ParsedHash): Promise<boolean> {
  const parsed = typeof encoded === 'string' ? parsePasswordHash(encoded) : encoded;
  if (!parsed) return false;
  const key = await derive(password, parsed.salt, parsed.hash.length, parsed);
  return timingSafeEqual(key, parsed.hash);
}
