// Recomputes the rollups of audit_events for whole UTC days. ClickHouse writes a materialized view's part
// after the source table's part, not atomically with it: a store that dies (or a connection that drops)
// between the two leaves audit_events holding rows the rollups never saw. The resend of that batch is
// then, rightly, a duplicate, so no view would ever count those rows. The audit writer therefore notes the
// time range of every insert that failed (rollup-journal.ts), and before the next insert this module
// deletes those days from every table downstream of audit_events and re-runs the first-level views' own
// SELECT over audit_events FINAL for those days; the inserts cascade to the views built on those tables.
// Whole days, because the coarsest rollup bucket (audit_series level 86400) is a UTC day.
//
// The views are read from the engine (system.tables), not listed here, so a rollup added by a migration
// is repaired without a change to this file; a view this code cannot rewrite fails loudly (and a test
// runs the repair over every view the migrations create).
import type { ClickHouseClient } from '@clickhouse/client';

const DAY_MS = 86_400_000;
const SOURCE = 'audit_events';

export interface RepairRange {
  /** Event times (ts) covered, ms since the epoch, inclusive. */
  readonly fromMs: number;
  readonly toMs: number;
}

interface View {
  readonly name: string;
  readonly source: string;
  readonly target: string;
  readonly select: string;
}

export interface RollupGraph {
  /** Views that read audit_events directly, with their SELECT. */
  readonly firstLevel: readonly View[];
  /** Every table fed from audit_events through views, with the DateTime column of its sorting key. */
  readonly tables: readonly { readonly name: string; readonly timeColumn: string }[];
}

/** UTC day ranges [from, to) covering the ranges, merged where they touch. */
export function repairDays(ranges: readonly RepairRange[]): { from: number; to: number }[] {
  const days = ranges
    .map((r) => ({ from: Math.floor(r.fromMs / DAY_MS) * DAY_MS, to: (Math.floor(r.toMs / DAY_MS) + 1) * DAY_MS }))
    .sort((a, b) => a.from - b.from);
  const merged: { from: number; to: number }[] = [];
  for (const d of days) {
    const last = merged[merged.length - 1];
    if (last && d.from <= last.to) last.to = Math.max(last.to, d.to);
    else merged.push({ ...d });
  }
  return merged;
}

const unquote = (name: string): string => name.replace(/`/g, '');
const bare = (name: string): string => unquote(name).split('.').pop() as string;

/** The view's SELECT with audit_events narrowed to the days being repaired (bound parameters from, to). */
export function narrowSelect(view: { name: string; select: string }, database: string): string {
  const table = new RegExp(`\\bFROM\\s+(?:\`?${database}\`?\\.)?\`?${SOURCE}\`?(?![\\w.])`, 'g');
  const found = view.select.match(table) ?? [];
  if (found.length !== 1) {
    throw new Error(`rollup repair: the view ${view.name} does not read ${SOURCE} exactly once in a form this repair can narrow (${found.length} matches); repair it by hand (docs/store.md)`);
  }
  // Aliased to the table's name, so columns the view qualifies with the table name still resolve.
  return view.select.replace(
    table,
    `FROM (SELECT * FROM ${database}.${SOURCE} FINAL WHERE ts >= {from:DateTime64(3, 'UTC')} AND ts < {to:DateTime64(3, 'UTC')}) AS ${SOURCE}`,
  );
}

export async function rollupGraph(client: ClickHouseClient, database: string): Promise<RollupGraph> {
  const rows = await (await client.query({
    query: `SELECT name, as_select, create_table_query FROM system.tables WHERE database = {db:String} AND engine = 'MaterializedView'`,
    query_params: { db: database },
    format: 'JSONEachRow',
  })).json<{ name: string; as_select: string; create_table_query: string }>();
  const views: View[] = [];
  for (const r of rows) {
    const target = /\bTO\s+([`\w.]+)/.exec(r.create_table_query)?.[1];
    const source = /\bFROM\s+([`\w.]+)/.exec(r.as_select)?.[1];
    if (!target || !source) continue; // a view with inner storage holds no rollup of ours
    views.push({ name: r.name, source: bare(source), target: bare(target), select: r.as_select });
  }
  const downstream = new Set<string>();
  const queue = [SOURCE];
  while (queue.length > 0) {
    const from = queue.shift() as string;
    for (const v of views) {
      if (v.source === from && !downstream.has(v.target)) {
        downstream.add(v.target);
        queue.push(v.target);
      }
    }
  }
  const tables: { name: string; timeColumn: string }[] = [];
  if (downstream.size > 0) {
    const cols = await (await client.query({
      query: `SELECT table, name FROM system.columns WHERE database = {db:String} AND table IN {tables:Array(String)} AND is_in_sorting_key AND type LIKE 'DateTime%'`,
      query_params: { db: database, tables: [...downstream] },
      format: 'JSONEachRow',
    })).json<{ table: string; name: string }>();
    for (const name of [...downstream].sort()) {
      const time = cols.filter((c) => c.table === name);
      if (time.length !== 1) throw new Error(`rollup repair: ${name} needs exactly one DateTime column in its sorting key to be repaired by day (has ${time.length})`);
      tables.push({ name, timeColumn: (time[0] as { name: string }).name });
    }
  }
  return { firstLevel: views.filter((v) => v.source === SOURCE), tables };
}

function dateTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23).replace('T', ' ');
}

/** Deletes the days from every rollup of audit_events and recomputes them from audit_events FINAL. */
export async function repairRollups(client: ClickHouseClient, database: string, ranges: readonly RepairRange[]): Promise<{ days: number; tables: number }> {
  const graph = await rollupGraph(client, database);
  const days = repairDays(ranges);
  const selects = graph.firstLevel.map((v) => ({ target: v.target, sql: narrowSelect(v, database) }));
  for (const d of days) {
    const params = { from: dateTime(d.from), to: dateTime(d.to) };
    for (const t of graph.tables) {
      // Table and column names come from the engine's catalogue, not from input.
      await client.command({
        query: `DELETE FROM ${t.name} WHERE ${t.timeColumn} >= {from:DateTime64(3, 'UTC')} AND ${t.timeColumn} < {to:DateTime64(3, 'UTC')}`,
        query_params: params,
        clickhouse_settings: { lightweight_deletes_sync: '2' },
      });
    }
    for (const s of selects) {
      await client.command({ query: `INSERT INTO ${s.target} ${s.sql}`, query_params: params });
    }
  }
  return { days: days.reduce((n, d) => n + (d.to - d.from) / DAY_MS, 0), tables: graph.tables.length };
}
