// A ClickHouse "server" for tests, in a process of its own, that can be frozen, killed and restarted.
//
// THIS IS A STAND-IN, NOT CLICKHOUSE-SERVER. The wire is ours: a small Node HTTP server
// (clickhouse-standin-main.ts, clickhouse-standin-wire.ts) that speaks as much of ClickHouse's HTTP
// interface as @clickhouse/client uses: statements in the body or the `query` parameter with an
// INSERT's data in the body, `param_<name>` query parameters, settings as URL parameters, `database`,
// `default_format`, basic auth (and X-ClickHouse-User/Key), gzip/deflate/br bodies both ways
// (enable_http_compression), /ping, and errors as the server gives them (4xx/5xx, `Code: N.
// DB::Exception: ... (TYPE) (version ...)`, X-ClickHouse-Exception-Code). The engine is the real one:
// every statement runs on the ClickHouse engine that chDB embeds, on a data directory the test owns,
// so SQL, formats, parameter binding, MergeTree parts and FINAL behave as on a server of that version.
// Not implemented (refused with NOT_IMPLEMENTED): HTTP sessions (session_id), roles, ClickHouse's own
// block compression (compress/decompress=1), multipart parameters. Results are sent whole once the
// statement has finished (as with wait_end_of_query=1), never streamed with progress headers, and
// X-ClickHouse-Summary has what chDB reports (rows and bytes read; written_rows stays 0 for an INSERT).
// Why: Debian's clickhouse-server (18.16) is too old for the schema, and a store outage needs a store
// in another process (the embedded store dies with the collector).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { freePort } from './ports.js';
import { startProcess, type StartedProcess } from './processes.js';

const MAIN = fileURLToPath(new URL('./clickhouse-standin-main.js', import.meta.url));
const READY = /"msg":"clickhouse stand-in listening"/;

export interface StandInOptions {
  /** The engine's data directory; a new temp folder by default. */
  dataDir?: string;
  port?: number;
  /** The one user it accepts (default `default`), and its password (default empty). */
  username?: string;
  password?: string;
}

export interface ClickHouseStandIn {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly username: string;
  readonly password: string;
  /** The current process (a new one after restart()). */
  process(): StartedProcess;
  /** SIGSTOP: connections are accepted by the kernel and then nothing answers, as with a hung server. */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
  /** SIGKILL, as a crash; resolves once it has exited (the port refuses connections). */
  kill9(): Promise<void>;
  /** A new process on the same port and data directory. */
  restart(): Promise<void>;
  /** SIGTERM (after SIGCONT, should it be frozen); waits for in-flight statements; removes a data directory it made. */
  stop(): Promise<void>;
  /** A client for it (close it when done); database defaults to `default`. */
  client(database?: string): ClickHouseClient;
  /** Runs one query (JSONEachRow) with {name:Type} parameters and closes its client. */
  query<T>(sql: string, params?: Record<string, unknown>, database?: string): Promise<T[]>;
}

export async function startClickHouseStandIn(options: StandInOptions = {}): Promise<ClickHouseStandIn> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'tw-ch-standin-')));
  const port = options.port ?? (await freePort());
  const username = options.username ?? 'default';
  const password = options.password ?? '';
  const spawn = () =>
    startProcess(process.execPath, [MAIN, JSON.stringify({ port, dataDir, user: username })], {
      env: { TW_STANDIN_PASSWORD: password },
      readyWhen: READY,
      timeoutMs: 30_000,
    });
  let current = await spawn();
  const url = `http://127.0.0.1:${port}`;
  const client = (database = 'default') => createClient({ url, username, password, database, request_timeout: 60_000 });
  return {
    url,
    port,
    dataDir,
    username,
    password,
    process: () => current,
    freeze: () => process.kill(current.pid, 'SIGSTOP'),
    thaw: () => process.kill(current.pid, 'SIGCONT'),
    kill9: () => current.kill9(),
    async restart() {
      await current.kill9();
      current = await spawn();
    },
    async stop() {
      try {
        process.kill(current.pid, 'SIGCONT');
      } catch {
        // gone already
      }
      await current.stop('SIGTERM', 15_000);
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
    },
    client,
    async query<T>(sql: string, params: Record<string, unknown> = {}, database?: string): Promise<T[]> {
      const c = client(database);
      try {
        return await (await c.query({ query: sql, query_params: params, format: 'JSONEachRow' })).json<T>();
      } finally {
        await c.close();
      }
    },
  };
}
