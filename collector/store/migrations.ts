// Numbered schema migrations (collector/store/migrations/NNNN_name.sql), applied in order and recorded in
// schema_migrations with a checksum. Every statement is a CREATE ... IF NOT EXISTS, so a crash between a
// statement and its ledger row only repeats harmless work (the few ALTERs add an index IF NOT EXISTS or
// materialize one, which is idempotent); an applied file that changed is refused.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import { TunnelwatchError } from '../../common/errors.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
  readonly statements: readonly string[];
}

/** The .sql files live beside the sources; compiled code runs from dist/collector/store/. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../collector/store/migrations/', import.meta.url));

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** Statements of one file: split at a semicolon that ends a line; comment-only pieces dropped. */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;[ \t]*$/m)
    .map((piece) => piece.replace(/^\s*--.*$/gm, '').trim())
    .filter((piece) => piece !== '');
}

export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .sort()
    .map((file) => {
      const match = FILE_NAME.exec(file);
      if (!match) throw new TunnelwatchError('TW_ERR_STORE_MIGRATION', `${file}: name migrations NNNN_lower_case.sql`);
      const text = readFileSync(`${dir}/${file}`, 'utf8');
      return {
        version: Number(match[1]),
        name: match[2] as string,
        checksum: createHash('sha256').update(text).digest('hex'),
        statements: splitStatements(text),
      };
    });
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new TunnelwatchError('TW_ERR_STORE_MIGRATION', `expected migration ${i + 1} but found ${m.version}_${m.name}: versions are consecutive from 0001`);
  });
  return migrations;
}

/** The ledger itself; created before any migration runs. */
export const LEDGER_DDL = `CREATE TABLE IF NOT EXISTS schema_migrations
(
    version UInt32,
    name String,
    checksum String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY version`;

export interface MigrationReport {
  /** Versions applied by this call, in order. */
  readonly applied: number[];
  /** Highest version now in the ledger. */
  readonly current: number;
}

/**
 * Applies the migrations the ledger does not have yet. `render` turns a file's statement into what runs
 * (identity for a single server or chDB; ON CLUSTER + Replicated engines for a cluster).
 */
export async function applyMigrations(
  client: ClickHouseClient,
  options: { migrations?: Migration[]; render?: (statement: string) => string[]; log?: Logger } = {},
): Promise<MigrationReport> {
  const migrations = options.migrations ?? loadMigrations();
  const render = options.render ?? ((statement: string) => [statement]);
  const run = async (query: string, step: string): Promise<void> => {
    try {
      await client.command({ query });
    } catch (err) {
      throw new TunnelwatchError('TW_ERR_STORE_MIGRATION', `${step}: ${(err as Error).message}`, { cause: err });
    }
  };
  for (const statement of render(LEDGER_DDL)) await run(statement, 'schema_migrations');
  const rows = await (
    await client.query({ query: 'SELECT version, argMax(checksum, applied_at) AS checksum FROM schema_migrations GROUP BY version', format: 'JSONEachRow' })
  ).json<{ version: number; checksum: string }>();
  const done = new Map(rows.map((r) => [Number(r.version), r.checksum]));
  const applied: number[] = [];
  for (const migration of migrations) {
    const label = `${String(migration.version).padStart(4, '0')}_${migration.name}.sql`;
    const previous = done.get(migration.version);
    if (previous !== undefined) {
      if (previous !== migration.checksum) throw new TunnelwatchError('TW_ERR_STORE_MIGRATION', `${label} changed after it was applied`);
      continue;
    }
    for (const statement of migration.statements) for (const query of render(statement)) await run(query, label);
    await client.insert({
      table: 'schema_migrations',
      values: [{ version: migration.version, name: migration.name, checksum: migration.checksum }],
      format: 'JSONEachRow',
    });
    applied.push(migration.version);
    options.log?.info({ migration: label }, 'store migration applied');
  }
  return { applied, current: migrations.at(-1)?.version ?? 0 };
}
