// Commits one batch of audit events exactly once: drops ids already stored or already on their way in
// another batch, routes events older than the retention to audit_events_archive (the TTL of
// audit_events would delete them at insert), and inserts the rest. The rollups are materialized views on
// audit_events, so filtering duplicates before the insert is what keeps them exact.
import { mkdirSync, rmSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import { TunnelwatchError } from '../../common/errors.js';
import { AUDIT_INSERT_COLUMNS, auditColumnsPayload, auditNativeBlock, type PreparedAuditRow } from './audit-row.js';
import type { RowOutcomes } from './batch-writer.js';
import { findExistingIds } from './existing-ids.js';
import type { RollupJournal } from './rollup-journal.js';
import type { RepairRange } from './rollup-repair.js';
import { expiryCutoffMs } from './retention.js';

/** Outcome codes of an audit batch, per row. */
export const AUDIT_OUTCOME = { inserted: 0, duplicate: 1, archived: 2 } as const;

export interface AuditCounters {
  inserted: number;
  duplicates: number;
  archived: number;
}

type AuditTable = 'audit_events' | 'audit_events_archive';

/** Inserts rows into one of the audit tables and resolves once the engine has committed them. */
export type AuditInsert = (table: AuditTable, rows: readonly PreparedAuditRow[]) => Promise<void>;

/** Runs INSERT ... FORMAT JSONCompactColumns and waits for the engine to confirm it. */
export async function insertColumns(client: ClickHouseClient, table: AuditTable, payload: string): Promise<void> {
  const result = await client.exec({
    query: `INSERT INTO ${table} (${AUDIT_INSERT_COLUMNS.join(', ')}) FORMAT JSONCompactColumns`,
    // encoding: the chunk stays a string; without it the stream turns it into a Buffer that the chDB
    // connection decodes back to a string: two copies of ~5 MB per 10k rows, measured 3-4 µs per row.
    values: Readable.from([payload], { objectMode: false, encoding: 'utf8' }),
  });
  // The answer to an INSERT is empty; reading it to the end releases the connection.
  for await (const chunk of result.stream) void chunk;
}

/** For a ClickHouse server: the rows as JSONCompactColumns over the client's HTTP connection. */
export function columnsInsert(client: ClickHouseClient): AuditInsert {
  return (table, rows) => insertColumns(client, table, auditColumnsPayload(rows));
}

/**
 * For the embedded engine: the rows as a Native block in a file that the engine reads with file(). The
 * chDB connection only takes text formats inline, and parsing text cost the engine twice the CPU of the
 * insert itself (docs/store.md). The file lives in the data directory, only for the insert; leftovers of a
 * crash are removed when the store opens (their rows were never acknowledged).
 */
export function nativeFileInsert(client: ClickHouseClient, dataDir: string): AuditInsert {
  const dir = join(dataDir, 'tunnelwatch-insert');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let seq = 0;
  const columns = AUDIT_INSERT_COLUMNS.join(', ');
  return async (table, rows) => {
    const file = join(dir, `${process.pid}-${++seq}.native`);
    await writeFile(file, auditNativeBlock(rows));
    try {
      // The path is ours (data directory + counter); quoted for the SQL string literal all the same.
      const literal = `'${file.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
      await client.command({ query: `INSERT INTO ${table} (${columns}) SELECT ${columns} FROM file(${literal}, Native)` });
    } finally {
      await unlink(file).catch(() => undefined);
    }
  };
}

export function createAuditFlush(deps: {
  client: ClickHouseClient;
  insert: AuditInsert;
  auditDays: number;
  counters: AuditCounters;
  /** Notes inserts that may leave the rollups short; with `repair`, those days are recomputed before the next insert. */
  rollups?: { journal: RollupJournal; repair: (ranges: RepairRange[]) => Promise<void> };
  log?: Logger;
}): (rows: PreparedAuditRow[]) => Promise<RowOutcomes> {
  const { client, counters, log } = deps;
  const gate = repairGate(deps.rollups, log);
  /** Batches being inserted now: their ids, and whether they committed. */
  const inFlight = new Set<{ ids: Set<string>; committed: Promise<boolean> }>();
  let archiving = false;

  return async function flushAudit(rows) {
    await gate.enter();
    try {
      return await flushChecked(rows);
    } finally {
      gate.leave();
    }
  };

  async function flushChecked(rows: PreparedAuditRow[]): Promise<RowOutcomes> {
    const outcomes = new Uint8Array(rows.length);
    const ids = new Set<string>();
    const others = [...inFlight];
    const dependsOn = new Set<Promise<boolean>>();
    const fresh: PreparedAuditRow[] = [];
    const freshIndex: number[] = [];
    for (let i = 0; i < rows.length; i++) {
      const id = (rows[i] as PreparedAuditRow).event.event_id;
      if (ids.has(id)) {
        outcomes[i] = AUDIT_OUTCOME.duplicate;
        continue;
      }
      const other = others.find((batch) => batch.ids.has(id));
      if (other) {
        outcomes[i] = AUDIT_OUTCOME.duplicate;
        dependsOn.add(other.committed);
        continue;
      }
      ids.add(id);
      fresh.push(rows[i] as PreparedAuditRow);
      freshIndex.push(i);
    }
    // Registered before the first await, so a batch that starts while this one runs sees these ids.
    let settle: (committed: boolean) => void = () => {};
    const self = { ids, committed: new Promise<boolean>((resolve) => (settle = resolve)) };
    inFlight.add(self);
    try {
      const existing = await findExistingIds(client, fresh);
      const cutoff = expiryCutoffMs(deps.auditDays);
      const live: PreparedAuditRow[] = [];
      const old: PreparedAuditRow[] = [];
      for (let j = 0; j < fresh.length; j++) {
        const row = fresh[j] as PreparedAuditRow;
        const i = freshIndex[j] as number;
        if (existing.has(row.event.event_id)) outcomes[i] = AUDIT_OUTCOME.duplicate;
        else if (row.tsMs < cutoff) {
          outcomes[i] = AUDIT_OUTCOME.archived;
          old.push(row);
        } else live.push(row);
      }
      if (live.length > 0) await insertNoted(live);
      if (old.length > 0) {
        await deps.insert('audit_events_archive', old);
        if (!archiving) log?.warn({ rows: old.length, retention_days: deps.auditDays }, 'audit events older than the retention went to audit_events_archive (kept, not rolled up)');
      }
      archiving = old.length > 0;
      counters.inserted += live.length;
      counters.archived += old.length;
      counters.duplicates += rows.length - live.length - old.length;
      settle(true);
    } catch (err) {
      settle(false);
      throw err;
    } finally {
      // Committed rows are visible to the next lookup from here on.
      inFlight.delete(self);
    }
    // A row skipped as a copy of a row in another batch is only stored if that batch committed.
    if (dependsOn.size > 0 && (await Promise.all(dependsOn)).includes(false)) {
      throw new TunnelwatchError('TW_ERR_STORE_INSERT', 'audit_events: another batch holding some of these event ids failed');
    }
    return outcomes;
  }

  async function insertNoted(live: PreparedAuditRow[]): Promise<void> {
    const journal = deps.rollups?.journal;
    if (!journal) return deps.insert('audit_events', live);
    let fromMs = Infinity;
    let toMs = -Infinity;
    for (const row of live) {
      if (row.tsMs < fromMs) fromMs = row.tsMs;
      if (row.tsMs > toMs) toMs = row.tsMs;
    }
    const token = await journal.begin({ fromMs, toMs });
    try {
      await deps.insert('audit_events', live);
    } catch (err) {
      journal.failed(token);
      throw err;
    }
    await journal.done(token);
  }
}

/**
 * Lets flushes run side by side, except that pending rollup repairs run first and alone: a repair deletes
 * and recomputes whole days, and an insert landing in between would be counted twice or not at all.
 */
function repairGate(rollups: { journal: RollupJournal; repair: (ranges: RepairRange[]) => Promise<void> } | undefined, log: Logger | undefined): { enter(): Promise<void>; leave(): void } {
  let active = 0;
  let idle: (() => void)[] = [];
  let repairing: Promise<void> | null = null;
  const whenIdle = (): Promise<void> => (active === 0 ? Promise.resolve() : new Promise((resolve) => idle.push(resolve)));
  const repair = async (): Promise<void> => {
    if (!rollups) return;
    await whenIdle();
    const pending = [...rollups.journal.pending()];
    if (pending.length === 0) return;
    log?.warn({ inserts: pending.length }, 'audit_events inserts failed part-way: recomputing the rollups of their days');
    await rollups.repair(pending.map(([, range]) => range));
    await rollups.journal.repaired(pending.map(([token]) => token));
    log?.info({ inserts: pending.length }, 'rollups repaired');
  };
  return {
    async enter() {
      for (;;) {
        // A failed repair fails the flushes waiting on it (the store is most likely still down); the
        // next flush tries again.
        if (repairing) await repairing;
        else if (rollups && rollups.journal.pending().size > 0) repairing = repair().finally(() => (repairing = null));
        else break;
      }
      active++;
    },
    leave() {
      active--;
      if (active === 0) {
        const waiting = idle;
        idle = [];
        for (const resolve of waiting) resolve();
      }
    },
  };
}
