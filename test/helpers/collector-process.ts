// A real `tunnelwatch collector` process on the embedded store (or on a ClickHouse server by URL), and
// read access to what it stored. chDB allows one process per data directory, so rows of the embedded
// store are read (through openStore) after the collector has stopped.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { openStore } from '../../collector/store/open-store.js';
import { freePort } from './ports.js';
import { startProcess, type StartedProcess } from './processes.js';
import { CLI, sha256 } from './tunnel-stack.js';

export interface CollectorProcess {
  readonly dir: string;
  /** The embedded store's data directory (unused with a server). */
  readonly dataDir: string;
  readonly url: string;
  readonly token: string;
  readonly process: StartedProcess;
  /** SIGTERM, and wait until it has exited (its commits done, the data directory free). */
  stop(): Promise<void>;
}

export interface CollectorOptions {
  /** Merged into the `collector:` section. */
  collector?: Record<string, unknown>;
  queue?: Record<string, unknown>;
  /** Reuse a folder (and so the store) of an earlier collector. */
  dir?: string;
  /** Listen on this port (a restart keeps the address senders were given). */
  port?: number;
  /** A ClickHouse server instead of the embedded store: `store.url` and its credentials (the password goes to a password_file). */
  server?: { url: string; username?: string; password?: string; database?: string };
}

export async function startCollectorProcess(options: CollectorOptions = {}): Promise<CollectorProcess> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'tw-collector-')));
  const port = options.port ?? (await freePort());
  const token = 'tw_test-ingest-token-0123456789';
  const server = options.server;
  if (server?.password !== undefined) await writeFile(join(dir, 'clickhouse.password'), server.password, { mode: 0o600 });
  const store = server
    ? {
        url: server.url,
        ...(server.username !== undefined ? { username: server.username } : {}),
        ...(server.password !== undefined ? { password_file: './clickhouse.password' } : {}),
        ...(server.database !== undefined ? { database: server.database } : {}),
      }
    : { data_dir: './store' };
  const config = {
    collector: { listen: `127.0.0.1:${port}`, ingest_tokens: [{ name: 'test', sha256: sha256(token) }], ...options.collector },
    ...(options.queue ? { queue: options.queue } : {}),
    store,
    log: { level: 'info' },
  };
  const file = join(dir, 'collector.yaml');
  await writeFile(file, stringify(config));
  const process = await startProcess(globalThis.process.execPath, [CLI, 'collector', '--config', file], {
    readyWhen: /"msg":"collector listening"/,
    timeoutMs: 30_000,
  });
  return {
    dir,
    dataDir: join(dir, 'store'),
    url: `http://127.0.0.1:${port}`,
    token,
    process,
    stop: () => process.stop('SIGTERM', 15_000),
  };
}

/** Runs queries through the store (openStore on the stopped collector's data directory); {name:Type} placeholders take params. */
export async function queryStore<T>(dataDir: string, queries: { sql: string; params?: Record<string, unknown> }[]): Promise<T[][]> {
  const store = await openStore({ dataDir });
  try {
    const out: T[][] = [];
    for (const q of queries) out.push(await store.query<T>(q.sql, q.params ?? {}));
    return out;
  } finally {
    await store.close();
  }
}
