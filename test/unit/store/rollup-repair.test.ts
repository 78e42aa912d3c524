// Rollups left short by an insert that failed part-way (audit_events committed, views not) are recomputed
// from audit_events: by repairRollups() directly, by the audit writer before its next insert, and by
// openStore() from the notes a crashed process left behind.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { prepareAuditRow } from '../../../collector/store/audit-row.js';
import { columnsInsert, createAuditFlush } from '../../../collector/store/audit-writer.js';
import { openStore } from '../../../collector/store/open-store.js';
import { fileJournal, memoryJournal } from '../../../collector/store/rollup-journal.js';
import { narrowSelect, repairDays, repairRollups, rollupGraph } from '../../../collector/store/rollup-repair.js';
import type { Store } from '../../../collector/store/store.js';
import { auditEvent, freshStore, tempDir } from './store-fixture.js';

const DAY = 86_400_000;
const dayStart = Math.floor(Date.now() / DAY) * DAY - 3 * DAY;

/** Events over two days: allowed and denied, several subaccounts and backends. */
function events(n: number, fromMs: number): ReturnType<typeof auditEvent>[] {
  return Array.from({ length: n }, (_, i) => {
    const deny = i % 7 === 0;
    return auditEvent({
      ts: new Date(fromMs + Math.floor((i * 2 * DAY) / n)).toISOString(),
      subaccount: ['acme-prod', 'globex', 'initech'][i % 3] as string,
      virtual_host: `erp${i % 4}.virtual`,
      duration_us: 500 + (i % 97) * 100,
      ...(deny ? { decision: 'deny', status: 403, deny_reason: 'path_not_allowed', rule_id: '', internal_host: '', internal_port: 0, path: `/admin/${i % 5}` } : {}),
      ...(i % 11 === 0 && !deny ? { status: 502, error_type: 'connect_refused' } : {}),
    });
  });
}

/** Every rollup downstream of audit_events, summarised: calls per level (or rows per level without calls). */
async function snapshot(store: Store): Promise<Record<string, string>> {
  const graph = await rollupGraph(store.client, store.database);
  const out: Record<string, string> = {};
  for (const t of graph.tables) {
    const cols = (await store.query<{ name: string }>(`SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {t:String}`, { t: t.name })).map((c) => c.name);
    const level = cols.includes('level') ? 'level' : '0';
    const measure = cols.includes('calls') ? 'sum(calls)' : `uniqExact(${t.timeColumn})`;
    const rows = await store.query<{ l: string; v: string }>(`SELECT toString(${level}) AS l, toString(${measure}) AS v FROM ${t.name} GROUP BY l ORDER BY l`);
    out[t.name] = rows.map((r) => `${r.l}:${r.v}`).join(' ');
  }
  return out;
}

/** What a store dying between the audit_events part and the views' parts leaves: rollup rows missing. */
async function loseRollups(store: Store, fromMs: number, toMs: number): Promise<void> {
  const graph = await rollupGraph(store.client, store.database);
  for (const t of graph.tables) {
    await store.client.command({
      query: `DELETE FROM ${t.name} WHERE ${t.timeColumn} >= {from:DateTime64(3, 'UTC')} AND ${t.timeColumn} < {to:DateTime64(3, 'UTC')}`,
      query_params: { from: new Date(fromMs).toISOString().slice(0, 23).replace('T', ' '), to: new Date(toMs).toISOString().slice(0, 23).replace('T', ' ') },
    });
  }
}

describe('rollup repair', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups) await c();
  });

  it('covers whole UTC days and merges ranges that touch', () => {
    assert.deepEqual(repairDays([{ fromMs: DAY + 5, toMs: DAY + 10 }, { fromMs: 2 * DAY + 1, toMs: 2 * DAY + 2 }, { fromMs: 5 * DAY, toMs: 5 * DAY }]), [
      { from: DAY, to: 3 * DAY },
      { from: 5 * DAY, to: 6 * DAY },
    ]);
  });

  it('refuses a view it cannot narrow to the days being repaired', () => {
    assert.throws(() => narrowSelect({ name: 'v', select: 'SELECT 1 FROM default.other' }, 'default'), /does not read audit_events exactly once/);
    assert.throws(() => narrowSelect({ name: 'v', select: 'SELECT 1 FROM default.audit_events UNION ALL SELECT 1 FROM audit_events' }, 'default'), /2 matches/);
    assert.match(narrowSelect({ name: 'v', select: 'SELECT audit_events.x FROM default.audit_events WHERE y' }, 'default'), /FROM \(SELECT \* FROM default\.audit_events FINAL WHERE ts >= .*\) AS audit_events WHERE y$/);
  });

  it('recomputes every rollup of the damaged days from audit_events, and leaves other days alone', async () => {
    const { store, cleanup } = await freshStore();
    cleanups.push(cleanup); // one embedded store per process: each test closes its own at the end
    await store.insertAuditEvents(events(6000, dayStart));
    const graph = await rollupGraph(store.client, store.database);
    assert.ok(graph.firstLevel.length >= 2 && graph.tables.length >= 7, `views found: ${graph.tables.map((t) => t.name).join(', ')}`);
    const intact = await snapshot(store);
    await loseRollups(store, dayStart + DAY + 3_600_000, dayStart + DAY + 7_200_000);
    assert.notDeepEqual(await snapshot(store), intact, 'the damage must show before the repair');
    await repairRollups(store.client, store.database, [{ fromMs: dayStart + DAY + 3_600_000, toMs: dayStart + DAY + 3_700_000 }]);
    assert.deepEqual(await snapshot(store), intact);
    const [count] = await store.query<{ n: string }>('SELECT count() AS n FROM audit_events FINAL');
    const [minute] = await store.query<{ n: string }>('SELECT sum(calls) AS n FROM audit_minute');
    assert.equal(minute?.n, count?.n);
    await cleanups.pop()?.();
  });

  it('the audit writer repairs, before its next insert, an insert whose views failed; the resend stays a duplicate', async () => {
    const { store, cleanup } = await freshStore();
    cleanups.push(cleanup); // one embedded store per process: each test closes its own at the end
    const batch = events(3000, dayStart).map(prepareAuditRow);
    let failOnce = true;
    const insert = columnsInsert(store.client);
    const flush = createAuditFlush({
      client: store.client,
      auditDays: 3650,
      counters: { inserted: 0, duplicates: 0, archived: 0 },
      insert: async (table, rows) => {
        await insert(table, rows);
        if (failOnce) {
          failOnce = false;
          await loseRollups(store, dayStart, dayStart + 2 * DAY);
          throw new Error('socket hang up');
        }
      },
      rollups: { journal: memoryJournal(), repair: (ranges) => repairRollups(store.client, store.database, ranges).then(() => undefined) },
    });
    await assert.rejects(flush(batch), /socket hang up/);
    const [short] = await store.query<{ n: string }>('SELECT sum(calls) AS n FROM audit_minute');
    assert.equal(Number(short?.n ?? 0), 0);
    const outcomes = await flush(batch);
    assert.ok(outcomes.every((o) => o === 1), 'the resend is a duplicate of the rows audit_events holds');
    const [minute] = await store.query<{ n: string }>('SELECT sum(calls) AS n FROM audit_minute');
    const [series] = await store.query<{ n: string }>('SELECT sum(calls) AS n FROM audit_series WHERE level = 86400');
    assert.equal(Number(minute?.n), 3000);
    assert.equal(Number(series?.n), 3000);
    await cleanups.pop()?.();
  });

  it('openStore repairs the days of inserts a crashed process left noted', async () => {
    const dir = tempDir();
    let store = await openStore({ dataDir: dir });
    await store.insertAuditEvents(events(2000, dayStart));
    const intact = await snapshot(store);
    await loseRollups(store, dayStart, dayStart + DAY);
    await store.close();
    // The note an insert writes before it runs, as a kill -9 during that insert leaves it.
    mkdirSync(join(dir, 'tunnelwatch-rollup-journal'), { recursive: true });
    writeFileSync(join(dir, 'tunnelwatch-rollup-journal', '999-1-1.json'), JSON.stringify({ fromMs: dayStart + 10, toMs: dayStart + 20 }));
    writeFileSync(join(dir, 'tunnelwatch-rollup-journal', '999-1-2.json'), '{"fromMs": 12'); // cut short: its insert never ran
    store = await openStore({ dataDir: dir });
    cleanups.push(() => store.close());
    assert.deepEqual(await snapshot(store), intact);
    assert.equal(fileJournal(join(dir, 'tunnelwatch-rollup-journal')).pending().size, 0, 'repaired notes are removed');
  });
});
