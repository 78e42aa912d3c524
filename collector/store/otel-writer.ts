// Commits batches of spans and logs. Telemetry older than its table's retention would be deleted by the TTL
// at insert; it is left out on purpose here, counted, logged once per burst and reported to the caller
// (outcome `expired`), so an old OTLP replay is visibly refused rather than silently gone.
import { mkdirSync, rmSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import type { RowOutcomes } from './batch-writer.js';
import { expiryCutoffMs } from './retention.js';

export const OTEL_OUTCOME = { inserted: 0, expired: 1 } as const;

export type OtelTable = 'otel_traces' | 'otel_logs';

export interface OtelCounters {
  inserted: number;
  expired: number;
}

/** Inserts rows into the writer's table and resolves once the engine has committed them. */
export type OtelInsert<T> = (rows: T[]) => Promise<void>;

/** For a ClickHouse server: one JSONEachRow line per row over the client's HTTP connection. */
export function jsonEachRowInsert<T>(client: ClickHouseClient, table: OtelTable, line: (row: T) => string): OtelInsert<T> {
  return async (rows) => {
    let body = '';
    for (const row of rows) body += line(row) + '\n';
    const result = await client.exec({
      // The table name is one of the two literals of OtelTable, never input.
      query: `INSERT INTO ${table} FORMAT JSONEachRow`,
      values: Readable.from([body], { objectMode: false, encoding: 'utf8' }),
    });
    for await (const chunk of result.stream) void chunk;
  };
}

/**
 * The folder for the embedded path's Native files, emptied when the store opens: a leftover is a batch
 * a crash interrupted, never acknowledged, so its sender sends it again.
 */
export function otelInsertDir(dataDir: string): string {
  const dir = join(dataDir, 'tunnelwatch-insert-otel');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

let fileSeq = 0;

/**
 * For the embedded engine: the rows as a Native block in a file that the engine reads with file(), as the
 * audit writer does (docs/store.md). JSONEachRow cost ~49 µs of CPU per span (JSON.stringify in JS, then
 * the engine's parse of every map); the engine's own INSERT ... SELECT of the same rows ~11.
 */
export function nativeFileOtelInsert<T>(client: ClickHouseClient, dir: string, table: OtelTable, columns: readonly string[], block: (rows: T[]) => Buffer): OtelInsert<T> {
  const list = columns.map((c) => `\`${c}\``).join(', ');
  return async (rows) => {
    const file = join(dir, `${process.pid}-${table}-${++fileSeq}.native`);
    await writeFile(file, block(rows));
    try {
      // The path is ours (data directory + counter); quoted for the SQL string literal all the same.
      const literal = `'${file.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
      await client.command({ query: `INSERT INTO ${table} (${list}) SELECT ${list} FROM file(${literal}, Native)` });
    } finally {
      await unlink(file).catch(() => undefined);
    }
  };
}

export function createOtelFlush<T extends { readonly tsMs: number }>(
  table: OtelTable,
  deps: { insert: OtelInsert<T>; days: number; counters: OtelCounters; log?: Logger },
): (rows: T[]) => Promise<RowOutcomes> {
  let expiring = false;
  return async (rows) => {
    const outcomes = new Uint8Array(rows.length);
    const cutoff = expiryCutoffMs(deps.days);
    const kept: T[] = [];
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as T;
      if (row.tsMs < cutoff) outcomes[i] = OTEL_OUTCOME.expired;
      else kept.push(row);
    }
    if (kept.length > 0) await deps.insert(kept);
    const expired = rows.length - kept.length;
    if (expired > 0 && !expiring) deps.log?.warn({ table, rows: expired, retention_days: deps.days }, 'telemetry older than the retention was not stored (it would expire at insert)');
    expiring = expired > 0;
    deps.counters.inserted += kept.length;
    deps.counters.expired += expired;
    return outcomes;
  };
}
