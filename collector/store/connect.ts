// One @clickhouse/client for both back ends: the embedded chDB engine (chdb/connection plugged into
// createClient({ connection })) or a ClickHouse server by URL. Everything above this file runs the same
// queries either way.
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { TunnelwatchError } from '../../common/errors.js';
import { checkClusterName } from './cluster-name.js';
import { configureEngineMemory } from './engine-memory.js';

export interface ConnectOptions {
  /** Embedded store: the chDB data directory (created when missing; default .tunnelwatch/store). Ignored when url is set. */
  readonly dataDir?: string;
  /** A ClickHouse server, e.g. http://clickhouse:8123. */
  readonly url?: string;
  readonly username?: string;
  readonly password?: string;
  /** Server only: created when missing. The embedded engine always uses `default`. */
  readonly database?: string;
  /** Cluster mode: inserts into Distributed tables return only once every shard has the rows. */
  readonly cluster?: string;
}

export interface StoreConnection {
  readonly client: ClickHouseClient;
  readonly mode: 'embedded' | 'server';
  readonly database: string;
  /** Where the embedded engine keeps its data ('' for a server). */
  readonly dataDir: string;
  close(): Promise<void>;
}

/** Settings every query runs with. */
function baseSettings(cluster: string | undefined): ClickHouseSettings {
  return {
    // 64-bit integers as JSON strings: a JS number would silently lose precision past 2^53.
    output_format_json_quote_64bit_integers: 1,
    // A replay batch may span many days (daily partitions); the default of 100 would fail it.
    max_partitions_per_insert_block: '0',
    // The collector acknowledges after commit, so an insert must return only once the rows are written.
    async_insert: 0,
    ...(cluster ? { distributed_foreground_insert: 1 } : {}),
  };
}

const LOCK_MESSAGE = /Cannot lock file|Another server instance in same directory/i;

/**
 * The engine locks <dir>/status and writes its PID there; chdb reports a failed lock only as "Failed to
 * create connection" (the reason goes to stderr). A live PID other than ours in that file is the answer.
 */
function lockHolder(dir: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, 'status'), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(/^PID: (\d+)/m.exec(text)?.[1]);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return undefined; // stale file of a process that died
  }
  const started = /^Started at: (.+)$/m.exec(text)?.[1];
  return started ? `${pid} (started at ${started})` : String(pid);
}

async function connectEmbedded(dataDir: string): Promise<StoreConnection> {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  // Loaded lazily: the native engine is only mapped into processes that use it. Its allocator reads its
  // options when it is loaded (engine-memory.ts).
  configureEngineMemory();
  const { createChdbConnection } = await import('chdb/connection');
  let connection: ReturnType<typeof createChdbConnection>;
  try {
    connection = createChdbConnection({ path: dir });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const holder = lockHolder(dir);
    if (holder || LOCK_MESSAGE.test(message)) {
      throw new TunnelwatchError('TW_ERR_STORE_LOCKED', `data_dir ${dir} is in use${holder ? ` by process ${holder}` : ' by another process'}`, { cause: err });
    }
    throw new TunnelwatchError('TW_ERR_STORE_OPEN', `embedded store at ${dir}: ${message}`, { cause: err });
  }
  // chdb implements the Connection of @clickhouse/client-common, which @clickhouse/client 1.23 now bundles
  // as its own copy: the same interface under two declarations, hence the cast.
  type ClientConnection = NonNullable<Parameters<typeof createClient>[0]>['connection'];
  const client = createClient({ connection: connection as unknown as ClientConnection });
  // The chdb connection runs per-query settings as `SET ...; <query>`, and the engine then splits a
  // multi-statement text that holds the whole insert payload: measured 20% slower inserts. Its session
  // keeps SETs, so they run once here instead.
  try {
    // Names and values are the constants of baseSettings(), never input.
    for (const [name, value] of Object.entries(baseSettings(undefined))) await client.command({ query: `SET ${name} = ${String(value)}` });
  } catch (err) {
    await client.close();
    throw new TunnelwatchError('TW_ERR_STORE_OPEN', `embedded store at ${dir}: ${(err as Error).message}`, { cause: err });
  }
  return {
    client,
    mode: 'embedded',
    database: 'default',
    dataDir: dir,
    async close() {
      await client.close();
      // The engine binds one data directory per process; wait until it has really let go of this one.
      const { drainPending } = await import('chdb');
      await drainPending();
    },
  };
}

async function connectServer(options: ConnectOptions & { url: string }): Promise<StoreConnection> {
  const database = options.database ?? 'default';
  const common = {
    url: options.url,
    username: options.username ?? 'default',
    password: options.password ?? '',
    clickhouse_settings: baseSettings(options.cluster),
  };
  if (database !== 'default') {
    const bootstrap = createClient(common);
    try {
      // ON CLUSTER takes no query parameter: the name is inlined after checkClusterName().
      const onCluster = options.cluster ? ` ON CLUSTER ${checkClusterName(options.cluster)}` : '';
      await bootstrap.command({ query: `CREATE DATABASE IF NOT EXISTS {db:Identifier}${onCluster}`, query_params: { db: database } });
    } catch (err) {
      throw new TunnelwatchError('TW_ERR_STORE_OPEN', `${options.url}: ${(err as Error).message}`, { cause: err });
    } finally {
      await bootstrap.close();
    }
  }
  const client = createClient({ ...common, database });
  const ping = await client.ping({ select: true });
  if (!ping.success) {
    await client.close();
    throw new TunnelwatchError('TW_ERR_STORE_OPEN', `${options.url}: ${ping.error.message}`, { cause: ping.error });
  }
  return { client, mode: 'server', database, dataDir: '', close: () => client.close() };
}

export async function connectStore(options: ConnectOptions): Promise<StoreConnection> {
  if (options.url) return connectServer({ ...options, url: options.url });
  return connectEmbedded(options.dataDir ?? '.tunnelwatch/store');
}
