// The runner with an exporter that keeps several sends in flight (maxInFlight): never more at once than
// asked, the cursor moved in batch order whatever order the sends settle in, and never past a batch that
// was not delivered; with the default of one, sends never overlap. A source in memory, no store.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { CursorStore } from '../../../collector/export/cursor.js';
import type { DeadLetterStore } from '../../../collector/export/dead-letters.js';
import { HealthTracker } from '../../../collector/export/health.js';
import type { RetryPolicy } from '../../../collector/export/retry.js';
import { ExportRunner } from '../../../collector/export/runner.js';
import type { ExportSource, SourcePage } from '../../../collector/export/source.js';
import type { Exporter, ExportOutcome, ExportRecord } from '../../../collector/export/types.js';

const RETRY: RetryPolicy = { initialDelayMs: 5, maxDelayMs: 20, jitter: 0, attemptTimeoutMs: 5000 };
const pad = (n: number): string => String(n).padStart(6, '0');

/** Findings f000001..f<total> in order; the position of a record is its number. */
function memorySource(total: number): ExportSource {
  const page = (after: number, limit: number): SourcePage => {
    const rows = Math.max(0, Math.min(limit, total - after));
    return {
      rows,
      end: rows > 0 ? pad(after + rows) : undefined,
      batch(from, to) {
        const records: ExportRecord[] = [];
        for (let i = after + from + 1; i <= after + to; i++) records.push({ stream: 'findings', id: `f${pad(i)}`, finding: {} as never });
        return { records, end: pad(after + to) };
      },
    };
  };
  return {
    readPage: async (_stream, position, limit) => page(position === undefined ? 0 : Number(position), limit),
    read: async () => [],
    lag: async () => ({ records: 0, oldestMs: undefined, positionMs: undefined }),
  };
}

interface Harness {
  readonly saved: string[];
  readonly delivered: Set<string>;
  /** Most send() calls seen running at once. */
  peak: number;
  /** In order: "send <first id>#<attempt>", "done <first id>#<attempt>", "save <position>". */
  readonly log: string[];
}

/**
 * Runs an exporter over `total` findings until every one was delivered and the cursor saved at the end,
 * with `answer` deciding each send (by its first id and the attempt for that batch).
 */
async function run(total: number, maxInFlight: number | undefined, answer: (first: string, attempt: number) => { ms: number; outcome: ExportOutcome }): Promise<Harness> {
  const h: Harness = { saved: [], delivered: new Set(), peak: 0, log: [] };
  let running = 0;
  const attempts = new Map<string, number>();
  let done: () => void = () => undefined;
  const allDone = new Promise<void>((resolve) => (done = resolve));
  const exporter: Exporter = {
    name: 'x',
    type: 'test',
    streams: ['findings'],
    batchSize: 10,
    ...(maxInFlight !== undefined ? { maxInFlight } : {}),
    async send(records) {
      running++;
      h.peak = Math.max(h.peak, running);
      const first = records[0]?.id ?? '';
      const attempt = (attempts.get(first) ?? 0) + 1;
      attempts.set(first, attempt);
      h.log.push(`send ${first}#${attempt}`);
      const { ms, outcome } = answer(first, attempt);
      await new Promise((r) => setTimeout(r, ms));
      running--;
      h.log.push(`done ${first}#${attempt}`);
      if (outcome.status === 'success') for (const r of records) h.delivered.add(r.id);
      return outcome;
    },
    close: async () => undefined,
  };
  const cursors: CursorStore = {
    load: async () => undefined,
    save: async (_e, _s, position) => {
      h.saved.push(position);
      h.log.push(`save ${position}`);
      if (position === pad(total)) done();
    },
    all: async () => [],
  };
  const deadLetters = { write: async () => undefined } as unknown as DeadLetterStore;
  const health = new HealthTracker('x', 'test', ['findings'], true);
  const runner = new ExportRunner(exporter, { source: memorySource(total), cursors, deadLetters, health, log: pino({ level: 'silent' }) }, {
    pollIntervalMs: 10, readSize: 30, cursorSaveIntervalMs: 0, retry: RETRY,
  });
  runner.start();
  await Promise.race([allDone, new Promise((_, reject) => setTimeout(() => reject(new Error(`not all delivered: saved ${h.saved.join(',')}`)), 10_000))]);
  await runner.close();
  return h;
}

const ok: ExportOutcome = { status: 'success' };

describe('export runner, sends in flight', () => {
  it('never overlaps sends of an exporter that does not ask for it', async () => {
    const h = await run(60, undefined, () => ({ ms: 3, outcome: ok }));
    assert.equal(h.peak, 1);
    assert.equal(h.delivered.size, 60);
  });

  it('keeps up to maxInFlight sends running and moves the cursor in order when they settle out of order', async () => {
    // Every odd batch answers fast, every even one slowly: the later batch settles first.
    const h = await run(100, 2, (first) => ({ ms: Number(first.slice(1)) % 20 === 1 ? 25 : 2, outcome: ok }));
    assert.equal(h.peak, 2);
    assert.equal(h.delivered.size, 100);
    // Saved after each batch (interval 0): strictly increasing, batch ends only.
    const numbers = h.saved.map(Number);
    assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b));
    assert.ok(numbers.every((n) => n % 10 === 0), h.saved.join(','));
  });

  it('never moves the cursor past a batch still being retried, though the batch after it was delivered', async () => {
    const h = await run(40, 2, (first, attempt) => {
      // The second batch fails twice (retryable) while the third is delivered meanwhile.
      if (first === 'f000011' && attempt <= 2) return { ms: 5, outcome: { status: 'retryable', reason: 'receiver restarting' } };
      return { ms: 2, outcome: ok };
    });
    const at = (entry: string): number => {
      const i = h.log.indexOf(entry);
      assert.ok(i >= 0, `${entry} not in ${h.log.join(' | ')}`);
      return i;
    };
    assert.ok(at('done f000021#1') < at('done f000011#3'), 'the third batch was delivered while the second was retried');
    for (const position of h.saved.filter((p) => Number(p) > 10)) assert.ok(at(`save ${position}`) > at('done f000011#3'), `saved ${position} before the second batch was delivered`);
    assert.deepEqual(h.saved.map(Number), [...h.saved.map(Number)].sort((a, b) => a - b));
    assert.equal(h.delivered.size, 40);
  });
});
