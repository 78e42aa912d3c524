// Sends dead letters again through their exporter (`tunnelwatch siem dead-letters replay`): in batches,
// through the same retry wrapper as the runners but with a deadline, since an operator is waiting.
// Delivered records are marked replayed; records the receiver refuses again stay dead with the new
// reason (attempts + 1); records still pending at the deadline stay as they were.
import type { DeadLetterStore, StoredDeadLetter } from './dead-letters.js';
import { sendWithRetry, type RetryPolicy } from './retry.js';
import type { Exporter } from './types.js';

export interface ReplayResult {
  readonly replayed: number;
  /** Refused again: still dead letters, with the new reason. */
  readonly dead: number;
  /** Not delivered before the deadline (or stopped): unchanged. */
  readonly pending: number;
  readonly lastReason: string | undefined;
}

export async function replayDeadLetters(exporter: Exporter, letters: readonly StoredDeadLetter[], deadLetters: DeadLetterStore, policy: RetryPolicy, signal?: AbortSignal): Promise<ReplayResult> {
  let replayed = 0;
  let dead = 0;
  let pending = 0;
  let lastReason: string | undefined;
  try {
    await exporter.start?.();
    for (let i = 0; i < letters.length; i += exporter.batchSize) {
      const batch = letters.slice(i, i + exporter.batchSize);
      const result = await sendWithRetry((records, s) => exporter.send(records, s), batch.map((l) => l.record), policy, signal ? { signal } : {});
      const deadIds = new Map(result.dead.map((d) => [d.id, d.reason]));
      const pendingIds = new Set(result.pending.map((r) => r.id));
      const delivered = batch.filter((l) => !deadIds.has(l.record_id) && !pendingIds.has(l.record_id));
      await deadLetters.markReplayed(delivered);
      await deadLetters.write(exporter.name, batch.filter((l) => deadIds.has(l.record_id)).map((l) => ({ record: l.record, reason: deadIds.get(l.record_id) as string })));
      replayed += delivered.length;
      dead += deadIds.size;
      pending += pendingIds.size;
      lastReason = result.lastReason ?? result.dead[0]?.reason ?? lastReason;
      if (result.status !== 'done') {
        pending += letters.length - i - batch.length;
        break;
      }
    }
  } finally {
    await exporter.close();
  }
  return { replayed, dead, pending, lastReason };
}
