// Which audit_events inserts may have left the rollups short (rollup-repair.ts says why): every insert is
// noted before it runs and forgotten once it commits. An insert that failed stays noted until its days
// are repaired. With the embedded engine the notes are small files in the data directory, so an insert
// that a crash of the collector (which is the engine) cut short is repaired when the store opens again;
// with a server the notes live in memory, since a server that dies mid-insert surfaces here as a failed
// insert while the collector lives on.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RepairRange } from './rollup-repair.js';

export interface RollupJournal {
  /** Notes an insert of events in this time range; returns its token. */
  begin(range: RepairRange): Promise<string>;
  /** The insert committed, views included. */
  done(token: string): Promise<void>;
  /** The insert failed: its range waits for repair. */
  failed(token: string): void;
  /** Ranges waiting for repair, with their tokens. */
  pending(): ReadonlyMap<string, RepairRange>;
  /** These ranges were repaired. */
  repaired(tokens: readonly string[]): Promise<void>;
}

/** Notes in memory; `store` (if any) keeps a copy of each note until it is done or repaired. */
function journal(store?: { write(token: string, range: RepairRange): Promise<void>; remove(token: string): Promise<void>; newToken(): string }, waiting = new Map<string, RepairRange>()): RollupJournal {
  const running = new Map<string, RepairRange>();
  let seq = 0;
  return {
    async begin(range) {
      const token = store ? store.newToken() : String(++seq);
      await store?.write(token, range);
      running.set(token, range);
      return token;
    },
    async done(token) {
      running.delete(token);
      await store?.remove(token);
    },
    failed(token) {
      const range = running.get(token);
      running.delete(token);
      if (range) waiting.set(token, range);
    },
    pending: () => waiting,
    async repaired(tokens) {
      for (const t of tokens) {
        waiting.delete(t);
        await store?.remove(t);
      }
    },
  };
}

export function memoryJournal(): RollupJournal {
  return journal();
}

/** Notes as files `<dir>/<pid>-<time>-<n>.json`; files left by an earlier process are pending from the start. */
export function fileJournal(dir: string): RollupJournal {
  mkdirSync(dir, { recursive: true });
  const waiting = new Map<string, RepairRange>();
  const remove = (token: string): Promise<void> => unlink(join(dir, token)).catch(() => undefined);
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.json')) continue;
    try {
      const r = JSON.parse(readFileSync(join(dir, name), 'utf8')) as RepairRange;
      if (Number.isFinite(r.fromMs) && Number.isFinite(r.toMs)) {
        waiting.set(name, r);
        continue;
      }
    } catch {
      // A note cut short by a crash: its insert had not started (the note is written first).
    }
    void remove(name);
  }
  let seq = 0;
  return journal({
    newToken: () => `${process.pid}-${Date.now()}-${++seq}.json`,
    write: (token, range) => writeFile(join(dir, token), JSON.stringify(range)),
    remove,
  }, waiting);
}
