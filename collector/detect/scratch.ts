// Per-sweep scratch tables: rows several detectors read (the refused and 404 calls, for deny_burst and
// path_enumeration) are selected from audit_events once per sweep into a Memory table, so the big table
// is scanned once instead of once per detector and entity type. Named tw_detect_<time>_<random>_<what>,
// dropped when the sweep ends; tables a crashed process left behind are dropped by the next sweep.
import { randomBytes } from 'node:crypto';
import type { Store } from '../store/store.js';

export interface Scratch {
  /** The table holding the rows of `select` (constant SQL with bound parameters), created on first use. */
  table(what: string, select: string, params: Record<string, unknown>): Promise<string>;
  drop(): Promise<void>;
}

const PREFIX = 'tw_detect_';
/** Leftovers older than this are from a process that died mid-sweep. */
const STALE_MS = 3_600_000;

export function createScratch(store: Store): Scratch {
  const tag = `${PREFIX}${Date.now().toString(36)}_${randomBytes(4).toString('hex')}_`;
  const made = new Map<string, Promise<string>>();
  return {
    table(what, select, params) {
      if (!/^[a-z_]{1,32}$/.test(what)) throw new Error(`scratch table name ${what}`);
      let table = made.get(what);
      if (!table) {
        const name = `${tag}${what}`;
        table = store.client.command({ query: `CREATE TABLE ${name} ENGINE = Memory AS ${select}`, query_params: params }).then(() => name);
        made.set(what, table);
      }
      return table;
    },
    async drop() {
      const names = await Promise.allSettled(made.values());
      made.clear();
      for (const r of names) {
        if (r.status === 'fulfilled') await store.client.command({ query: `DROP TABLE IF EXISTS ${r.value}` });
      }
    },
  };
}

/** Drops scratch tables older than an hour (a process that died during a sweep). */
export async function dropStaleScratch(store: Store, now = Date.now()): Promise<void> {
  const rows = await store.query<{ name: string }>(
    "SELECT name FROM system.tables WHERE database = currentDatabase() AND startsWith(name, {prefix:String})",
    { prefix: PREFIX },
  );
  for (const { name } of rows) {
    const born = parseInt(name.slice(PREFIX.length).split('_')[0] ?? '', 36);
    if (/^tw_detect_[a-z0-9]+_[0-9a-f]{8}_[a-z_]+$/.test(name) && Number.isFinite(born) && now - born > STALE_MS) {
      await store.client.command({ query: `DROP TABLE IF EXISTS ${name}` });
    }
  }
}
