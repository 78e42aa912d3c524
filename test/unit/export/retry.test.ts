// The one retry wrapper: what each outcome leads to, which records are sent again, and how long it waits.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sendWithRetry, type AttemptReport, type RetryPolicy } from '../../../collector/export/retry.js';
import type { ExportOutcome, ExportRecord } from '../../../collector/export/types.js';

const POLICY: RetryPolicy = { initialDelayMs: 100, maxDelayMs: 1600, jitter: 0, attemptTimeoutMs: 1000 };

function records(n: number): ExportRecord[] {
  return Array.from({ length: n }, (_, i) => ({ stream: 'findings', id: `f${i}:1`, finding: {} as never }));
}

/** A send that answers from a script and remembers what it was given; the sleeps are recorded, not waited. */
function scripted(answers: ((ids: string[]) => ExportOutcome | Promise<ExportOutcome>)[]) {
  const calls: string[][] = [];
  const sleeps: number[] = [];
  const reports: AttemptReport[] = [];
  const send = async (rs: readonly ExportRecord[]): Promise<ExportOutcome> => {
    const ids = rs.map((r) => r.id);
    calls.push(ids);
    const answer = answers[calls.length - 1];
    if (!answer) throw new Error('no more answers');
    return answer(ids);
  };
  const options = { sleep: async (ms: number) => void sleeps.push(ms), onAttempt: (r: AttemptReport) => void reports.push(r) };
  return { send, calls, sleeps, reports, options };
}

describe('sendWithRetry', () => {
  it('returns at once on success, with the dead letters apart from the delivered', async () => {
    const s = scripted([() => ({ status: 'success', dead: [{ id: 'f1:1', reason: 'mapping error' }] })]);
    const result = await sendWithRetry(s.send, records(3), POLICY, s.options);
    assert.equal(result.status, 'done');
    assert.equal(result.delivered, 2);
    assert.deepEqual(result.dead, [{ id: 'f1:1', reason: 'mapping error' }]);
    assert.deepEqual(s.sleeps, []);
    assert.deepEqual(s.reports.map((r) => [r.sent, r.delivered, r.dead]), [[3, 2, 1]]);
  });

  it('sends only the pending records again, after the delay the receiver asked for, never the dead ones', async () => {
    const s = scripted([
      () => ({ status: 'retryable', reason: '429', delayMs: 2500, pending: ['f1:1', 'f2:1', 'f3:1'], dead: [{ id: 'f3:1', reason: 'bad' }] }),
      () => ({ status: 'retryable', reason: '429', pending: ['f2:1'] }),
      () => ({ status: 'success' }),
    ]);
    const result = await sendWithRetry(s.send, records(4), POLICY, s.options);
    assert.deepEqual(s.calls, [['f0:1', 'f1:1', 'f2:1', 'f3:1'], ['f1:1', 'f2:1'], ['f2:1']]);
    // 2500 as asked; then progress was made, so the backoff starts over at its first step.
    assert.deepEqual(s.sleeps, [2500, 100]);
    assert.equal(result.delivered, 3);
    assert.deepEqual(result.dead.map((d) => d.id), ['f3:1']);
  });

  it('backs off exponentially up to the maximum while nothing gets through, and counts a throw as retryable', async () => {
    const s = scripted([
      () => ({ status: 'retryable', reason: 'ECONNREFUSED' }),
      () => { throw new Error('socket hang up'); },
      () => ({ status: 'retryable', reason: '503' }),
      () => ({ status: 'retryable', reason: '503' }),
      () => ({ status: 'retryable', reason: '503' }),
      () => ({ status: 'retryable', reason: '503' }),
      () => ({ status: 'success' }),
    ]);
    const result = await sendWithRetry(s.send, records(2), POLICY, s.options);
    assert.deepEqual(s.sleeps, [100, 200, 400, 800, 1600, 1600]);
    assert.equal(s.reports[1]?.outcome.status, 'retryable');
    assert.match(s.reports[1]?.outcome.status === 'retryable' ? s.reports[1].outcome.reason : '', /socket hang up/);
    assert.equal(result.delivered, 2);
  });

  it('waits the longest delay after a failure and keeps the whole batch, dead-lettering nothing', async () => {
    const s = scripted([
      () => ({ status: 'failure', reason: '401 unauthorised' }),
      () => ({ status: 'failure', reason: '401 unauthorised' }),
      () => ({ status: 'success' }),
    ]);
    const result = await sendWithRetry(s.send, records(3), POLICY, s.options);
    assert.deepEqual(s.sleeps, [1600, 1600]);
    assert.deepEqual(s.calls.map((c) => c.length), [3, 3, 3]);
    assert.deepEqual(result.dead, []);
    assert.equal(result.delivered, 3);
  });

  it('stops when aborted, reporting what is still pending', async () => {
    const controller = new AbortController();
    const s = scripted([() => {
      controller.abort();
      return { status: 'retryable', reason: 'busy', pending: ['f1:1'] };
    }]);
    const result = await sendWithRetry(s.send, records(2), POLICY, { ...s.options, signal: controller.signal });
    assert.equal(result.status, 'aborted');
    assert.deepEqual(result.pending.map((r) => r.id), ['f1:1']);
    assert.equal(result.delivered, 1);
  });

  it('gives up at the deadline when one is set (the CLI replay)', async () => {
    const s = scripted([() => ({ status: 'retryable', reason: 'down', delayMs: 5000 })]);
    const result = await sendWithRetry(s.send, records(2), { ...POLICY, deadlineMs: 1000 }, s.options);
    assert.equal(result.status, 'gave_up');
    assert.equal(result.lastReason, 'down');
    assert.equal(result.pending.length, 2);
  });

  it('aborts a send that takes longer than the attempt timeout and retries it', async () => {
    let aborted = false;
    const s = scripted([() => ({ status: 'success' }), () => ({ status: 'success' })]);
    // The wrapper's timers are unref()ed (they must not hold a collector open): keep this test alive.
    const alive = setTimeout(() => {}, 10_000);
    const send = async (rs: readonly ExportRecord[], signal: AbortSignal): Promise<ExportOutcome> => {
      if (s.calls.length === 0) {
        s.calls.push(rs.map((r) => r.id));
        return new Promise((resolve) => signal.addEventListener('abort', () => {
          aborted = true;
          resolve({ status: 'retryable', reason: String((signal.reason as Error).message) });
        }));
      }
      return s.send(rs);
    };
    const result = await sendWithRetry(send, records(1), { ...POLICY, attemptTimeoutMs: 50 }, s.options);
    assert.ok(aborted);
    assert.match(s.reports[0]?.outcome.status === 'retryable' ? s.reports[0].outcome.reason : '', /longer than 50 ms/);
    assert.equal(result.status, 'done');
    clearTimeout(alive);
  });
});
