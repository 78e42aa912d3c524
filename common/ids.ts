// Identifiers: UUIDv7 for event ids (time-ordered, so the store's sort key stays local), W3C trace ids.
import { randomFillSync } from 'node:crypto';

// One pool of random bytes refilled in bulk: crypto calls per event are the expensive part.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function random(n: number): Buffer {
  if (poolOffset + n > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const slice = pool.subarray(poolOffset, poolOffset + n);
  poolOffset += n;
  return slice;
}

let lastMs = 0;
let counter = 0;

/** RFC 9562 UUIDv7; a 12-bit counter in rand_a keeps ids from one process monotonic within a millisecond. */
export function uuidv7(now: number = Date.now()): string {
  if (now <= lastMs) {
    counter++;
    if (counter > 0xfff) {
      lastMs++;
      counter = 0;
    }
    now = lastMs;
  } else {
    lastMs = now;
    counter = random(2).readUInt16BE(0) & 0x3ff; // leave head-room for the counter
  }
  const bytes = Buffer.alloc(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | ((counter >> 8) & 0x0f);
  bytes[7] = counter & 0xff;
  random(8).copy(bytes, 8);
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function newTraceId(): string {
  return nonZeroHex(16);
}

export function newSpanId(): string {
  return nonZeroHex(8);
}

function nonZeroHex(n: number): string {
  for (;;) {
    const hex = random(n).toString('hex');
    if (!ALL_ZERO.test(hex)) return hex;
  }
}

const ALL_ZERO = /^0+$/;
