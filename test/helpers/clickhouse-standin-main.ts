// Child-process entry of the ClickHouse stand-in (test/helpers/clickhouse-standin.ts): ClickHouse's HTTP
// interface on 127.0.0.1 over the embedded chDB engine on a data directory.
//   node clickhouse-standin-main.js '{"port":8123,"dataDir":"/tmp/x","user":"tw"}'   (password in TW_STANDIN_PASSWORD)
// Each request runs on its own chDB session (a connection to the one engine of this process), so its
// settings, query parameters and current database are its own, as they are per request on a server.
import http from 'node:http';
import { resolve } from 'node:path';
import { Session } from 'chdb';
import { credentialsOf, outputFormat, readWireRequest, sendError, sendResult, settingLiteral, sqlString, WireError, wireErrorOf, type WireRequest } from './clickhouse-standin-wire.js';

interface Options {
  port: number;
  dataDir: string;
  user: string;
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
const password = process.env.TW_STANDIN_PASSWORD ?? '';
const dataDir = resolve(options.dataDir);
const MAX_BODY_BYTES = 256 * 1024 * 1024;

function log(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
}

// Binds the engine to the data directory for the life of the process; request sessions come and go.
const keeper = new Session(dataDir);
const engineVersion = (await keeper.queryAsync('SELECT version()', { format: 'TabSeparated' })).text().trim();

function identifier(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

async function execute(request: WireRequest): Promise<{ body: Buffer; format: string; rows: number; bytes: number; elapsed: number }> {
  const session = new Session(dataDir);
  try {
    if (request.database !== undefined && request.database !== '') await session.queryAsync(`USE ${identifier(request.database)}`);
    // `SET param_x = '<text>'` hands the engine the parameter's text exactly as the HTTP server would
    // (chDB's queryBindAsync takes JS values and re-escapes strings, which is not the wire's form).
    const sets = [
      ...request.settings.map(([name, value]) => `${name} = ${settingLiteral(value)}`),
      ...request.params.map(([name, value]) => `param_${name} = ${sqlString(value)}`),
      ...(request.readOnly ? ['readonly = 2'] : []),
    ];
    if (sets.length > 0) await session.queryAsync(`SET ${sets.join(', ')}`);
    const format = outputFormat(request.sql, request.defaultFormat);
    const result = await session.queryAsync(request.sql, { format: request.defaultFormat });
    return { body: Buffer.from(result.bytes()), format, rows: result.rowsRead, bytes: result.bytesRead, elapsed: result.elapsed };
  } finally {
    session.close();
  }
}

let inFlight = 0;

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/ping' || (url.pathname === '/' && req.method === 'GET' && !url.searchParams.has('query'))) {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8' }).end('Ok.\n');
    return;
  }
  if (url.pathname !== '/') throw new WireError(0, 'UNKNOWN_HANDLER', `There is no handle ${url.pathname}`);
  if (req.method !== 'GET' && req.method !== 'POST') throw new WireError(1, 'UNSUPPORTED_METHOD', `HTTP method ${req.method} is not supported`);
  // Credentials first, as the server does: nothing of an unauthenticated request is read or run.
  const { user, password: given } = credentialsOf(req, url);
  if (user !== options.user || given !== password) {
    throw new WireError(516, 'AUTHENTICATION_FAILED', `${user}: Authentication failed: password is incorrect, or there is no user with such name`);
  }
  const request = await readWireRequest(req, url, MAX_BODY_BYTES);
  inFlight++;
  try {
    const out = await execute(request).catch((err: unknown) => {
      const e = wireErrorOf(err);
      log({ level: 'warn', msg: 'query failed', query_id: request.queryId, code: e.code, type: e.type, error: e.message.slice(0, 300), sql: request.sql.slice(0, 200) });
      throw Object.assign(e, { queryId: request.queryId });
    });
    await sendResult(res, request, out.body, out.format, { readRows: out.rows, readBytes: out.bytes, elapsedS: out.elapsed, insert: /^\s*INSERT\b/i.test(request.sql.slice(0, 64)) });
  } finally {
    inFlight--;
  }
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err: unknown) => {
    const e = wireErrorOf(err);
    sendError(res, e, engineVersion, (err as { queryId?: string }).queryId);
  });
});
server.keepAliveTimeout = 10_000;

async function shutdown(signal: string): Promise<void> {
  log({ level: 'info', msg: 'clickhouse stand-in stopping', signal, in_flight: inFlight });
  server.close();
  server.closeIdleConnections();
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
  keeper.close();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));

server.listen(options.port, '127.0.0.1', () => {
  log({ level: 'info', msg: 'clickhouse stand-in listening', port: options.port, data_dir: dataDir, engine: engineVersion, pid: process.pid });
});
