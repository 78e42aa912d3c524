// Finding the bad lines of rejected batches, simulated against a collector that rejects a whole batch
// for one bad line: every good line is delivered, every bad one isolated, in few requests.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { afterAck, isolate, type Isolation } from '../../../common/audit/batch-isolation.js';

/** Ships lines 0..n-1 in batches of at most `max`; `report` is what the collector says about the first bad line. */
function simulate(n: number, max: number, bad: Set<number>, report: (indexInBatch: number) => number | undefined) {
  let pos = 0;
  let iso: Isolation | undefined;
  let requests = 0;
  const delivered: number[] = [];
  const dead: number[] = [];
  while (pos < n) {
    const size = Math.min(iso?.limit ?? Infinity, max, n - pos);
    const batch = Array.from({ length: size }, (_, k) => pos + k);
    requests++;
    const badAt = batch.findIndex((i) => bad.has(i));
    if (badAt === -1) {
      delivered.push(...batch);
      if (iso) iso = afterAck(iso, size);
      pos += size;
    } else if (size === 1) {
      dead.push(pos);
      iso = undefined;
      pos++;
    } else iso = isolate(size, report(badAt));
  }
  return { delivered, dead, requests };
}

function check(n: number, max: number, bad: number[], report: (i: number) => number | undefined, maxRequests: number): void {
  const r = simulate(n, max, new Set(bad), report);
  assert.deepEqual(r.dead, bad);
  assert.deepEqual(r.delivered, Array.from({ length: n }, (_, i) => i).filter((i) => !bad.includes(i)));
  assert.ok(r.requests <= maxRequests, `${r.requests} requests for bad lines ${bad.join(',')} (at most ${maxRequests})`);
}

describe('isolating the bad line of a rejected batch', () => {
  it('sends the lines before a named line, then the line alone, then full batches again', () => {
    const iso = isolate(10, 4);
    assert.deepEqual(iso, { limit: 3, thenSingle: true, remaining: 10 });
    const single = afterAck(iso, 3);
    assert.deepEqual(single, { limit: 1, thenSingle: false, remaining: 7 });
    assert.equal(afterAck({ limit: 1, thenSingle: false, remaining: 1 }, 1), undefined, 'the 400 did not come back: the search ends');
  });

  it('isolates any bad line in at most three extra requests when the collector names it (1-based)', () => {
    for (let b = 0; b < 50; b++) check(50, 50, [b], (i) => i + 1, 4);
  });

  it('still isolates it when the collector counts lines from 0, or names none (halving)', () => {
    for (let b = 0; b < 50; b++) {
      check(50, 50, [b], (i) => i, 60);
      check(50, 50, [b], () => undefined, 2 * Math.ceil(Math.log2(50)) + 2);
    }
  });

  it('handles several bad lines, adjacent ones included, across batches', () => {
    check(1000, 100, [0, 1, 99, 100, 500, 999], (i) => i + 1, 10 + 6 * 3);
    check(1000, 100, [0, 1, 99, 100, 500, 999], () => undefined, 10 + 6 * 16);
  });
});
