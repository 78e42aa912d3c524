// Cluster mode from the same migration files: every table becomes `<name>_local` with the Replicated
// variant of its engine, created ON CLUSTER, plus a Distributed table under the original name, so the
// writers and the dashboard use the same names on one server, in chDB and on a cluster. Materialized views
// stay per node and read and write the local tables, which is how inserts through a Distributed table
// reach the rollups of the shard that stores them.
import { TunnelwatchError } from '../../common/errors.js';
import { checkClusterName } from './cluster-name.js';
import { LEDGER_DDL, loadMigrations, type Migration } from './migrations.js';
import { resolveRetention, TTL_TABLES, type RetentionConfig } from './retention.js';

/** How rows are spread over shards: by event or trace id, so a duplicate lands where its original is. */
const SHARDING_KEYS: Record<string, string> = {
  audit_events: 'cityHash64(event_id)',
  audit_events_archive: 'cityHash64(event_id)',
  otel_traces: 'cityHash64(TraceId)',
  otel_logs: 'cityHash64(TraceId)',
  admin_events: 'cityHash64(event_id)',
  api_tokens: 'cityHash64(id)',
  // A connector's snapshots on one shard, so a repeated snapshot collapses with the one it repeats.
  rule_snapshots: 'cityHash64(connector_id)',
  rule_snapshot_rules: 'cityHash64(connector_id)',
  // Every version of a finding on one shard, so FINAL keeps the newest.
  findings: 'cityHash64(finding_id)',
  // Every version of an exporter's cursor, and of one dead letter, on one shard, so FINAL keeps the newest.
  export_cursors: 'cityHash64(exporter)',
  export_dead_letters: 'cityHash64(exporter, record_id)',
  // A re-sent check lands on the shard of its original, so the writer's lookup and FINAL both see it.
  backend_checks: 'cityHash64(check_id)',
};

const CREATE_TABLE = /^CREATE TABLE IF NOT EXISTS (\w+)/;
const CREATE_VIEW = /^CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+)/;
// Index and codec changes of an existing table: run on the local tables of every node (the Distributed ones
// hold no data, so neither indexes nor codecs matter to them).
const ALTER_LOCAL = /^ALTER TABLE (\w+) ((?:ADD INDEX IF NOT EXISTS |MATERIALIZE INDEX |MODIFY COLUMN \w+ CODEC\()[\s\S]+)$/;
const ENGINE = /ENGINE = (MergeTree|ReplacingMergeTree|SummingMergeTree|AggregatingMergeTree)(?:\(([^)]*)\))?/;

/** Names of the tables (not views) the statements create. */
function tableNames(statements: readonly string[]): string[] {
  return statements.flatMap((s) => {
    const m = CREATE_TABLE.exec(s);
    return m ? [m[1] as string] : [];
  });
}

/**
 * Returns a function that rewrites one single-node statement into its cluster statements. `tables` are
 * all table names of the schema: references to them become references to the local tables.
 */
export function clusterRenderer(cluster: string, tables: readonly string[]): (statement: string) => string[] {
  checkClusterName(cluster);
  const known = new Set(tables);
  const toLocal = (sql: string): string => sql.replace(/\b\w+\b/g, (word) => (known.has(word) ? `${word}_local` : word));
  return (statement) => {
    const table = CREATE_TABLE.exec(statement)?.[1];
    if (table) {
      const local = `${table}_local`;
      let sql = toLocal(statement).replace(`CREATE TABLE IF NOT EXISTS ${local}`, `CREATE TABLE IF NOT EXISTS ${local} ON CLUSTER ${cluster}`);
      sql = sql.replace(ENGINE, (_all, engine: string, args: string | undefined) => {
        const replication = `'/clickhouse/tables/{shard}/{database}/${local}', '{replica}'`;
        return `ENGINE = Replicated${engine}(${args ? `${replication}, ${args}` : replication})`;
      });
      const key = SHARDING_KEYS[table] ?? 'rand()';
      const distributed = `CREATE TABLE IF NOT EXISTS ${table} ON CLUSTER ${cluster} AS ${local}\nENGINE = Distributed(${cluster}, currentDatabase(), ${local}, ${key})`;
      return [sql, distributed];
    }
    const view = CREATE_VIEW.exec(statement)?.[1];
    if (view) {
      return [toLocal(statement).replace(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${view}`, `CREATE MATERIALIZED VIEW IF NOT EXISTS ${view} ON CLUSTER ${cluster}`)];
    }
    const alter = ALTER_LOCAL.exec(statement);
    if (alter && known.has(alter[1] as string)) return [`ALTER TABLE ${alter[1]}_local ON CLUSTER ${cluster} ${alter[2]}`];
    throw new TunnelwatchError('TW_ERR_STORE_MIGRATION', `cannot render for a cluster (only CREATE TABLE / CREATE MATERIALIZED VIEW IF NOT EXISTS, ALTER TABLE ... ADD INDEX IF NOT EXISTS / MATERIALIZE INDEX / MODIFY COLUMN ... CODEC): ${statement.slice(0, 80)}`);
  };
}

/** Every table name of the schema, the migration ledger included. */
export function schemaTables(migrations: readonly Migration[] = loadMigrations()): string[] {
  return ['schema_migrations', ...tableNames(migrations.flatMap((m) => m.statements))];
}

/**
 * The whole schema for a cluster, as statements in the order they run: ledger, migrations, then the
 * retention of each table. `tunnelwatch` prints these; openStore({ cluster }) applies the same ones.
 */
export function renderClusterDdl(options: { cluster: string; retention?: RetentionConfig; migrations?: Migration[] }): string[] {
  const cluster = checkClusterName(options.cluster);
  const migrations = options.migrations ?? loadMigrations();
  const render = clusterRenderer(cluster, schemaTables(migrations));
  const statements = [...render(LEDGER_DDL), ...migrations.flatMap((m) => m.statements.flatMap(render))];
  const retention = resolveRetention(options.retention);
  for (const { table, expression, retention: key } of TTL_TABLES) {
    const days = retention[key];
    // Tables are created without a TTL, so "keep for ever" (0) needs no statement. A printed script: the
    // days are integers checked by resolveRetention, the rest comes from TTL_TABLES.
    if (days > 0) statements.push(`ALTER TABLE ${table}_local ON CLUSTER ${cluster} MODIFY TTL ${expression} + toIntervalDay(${days})`);
  }
  return statements;
}
