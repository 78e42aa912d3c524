// The wire side of the ClickHouse stand-in (see clickhouse-standin.ts): how a request to ClickHouse's
// HTTP interface is read (credentials, query text, settings, query parameters, compression) and how an
// answer or an error is written back, in the shape @clickhouse/client (node_modules/@clickhouse/client,
// connection/socket_pool.js) reads: a non-2xx status or an X-ClickHouse-Exception-Code header is an
// error whose body is parsed for `Code: N. DB::Exception: ... (TYPE)`; X-ClickHouse-Summary is JSON.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

/** An error as the server reports it: numeric code and name of ClickHouse's ErrorCodes. */
export class WireError extends Error {
  constructor(
    readonly code: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export interface WireRequest {
  /** The whole statement: the `query` URL parameter, then the body (an INSERT's data) after a newline. */
  readonly sql: string;
  readonly database: string | undefined;
  /** Output format when the statement names none (the server's default is TabSeparated). */
  readonly defaultFormat: string;
  readonly queryId: string;
  /** Settings for the engine, values as sent. */
  readonly settings: ReadonlyArray<readonly [string, string]>;
  /** Query parameters ({name:Type} placeholders): name without `param_`, value in the wire's text form. */
  readonly params: ReadonlyArray<readonly [string, string]>;
  /** GET runs read-only (readonly=2), as on the server. */
  readonly readOnly: boolean;
  readonly responseEncoding: 'gzip' | 'deflate' | 'br' | undefined;
}

/** URL parameters of the HTTP interface that are not settings. */
const HTTP_PARAMS = new Set(['query', 'database', 'default_format', 'query_id', 'user', 'password', 'quota_key', 'buffer_size']);
/** Settings the HTTP layer itself acts on: the engine has no use for them (chDB refuses some). */
const HTTP_SETTINGS = new Set([
  'enable_http_compression', 'http_zlib_compression_level', 'wait_end_of_query', 'http_wait_end_of_query',
  'send_progress_in_http_headers', 'http_headers_progress_interval_ms', 'http_send_progress_interval_ms',
  'http_response_buffer_size', 'http_native_compression_disable_checksumming_on_decompress',
]);
/** What would change the meaning of a request and the stand-in does not do: refused, never ignored. */
const UNSUPPORTED_PARAMS = new Set(['session_id', 'session_timeout', 'session_check', 'role', 'compress', 'decompress']);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function decodeBasic(header: string): { user: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header);
  if (!m) return undefined;
  const text = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? { user: text, password: '' } : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** Credentials as the server takes them: Basic auth, X-ClickHouse-User/Key headers, or user/password URL parameters. */
export function credentialsOf(req: IncomingMessage, url: URL): { user: string; password: string } {
  const basic = typeof req.headers.authorization === 'string' ? decodeBasic(req.headers.authorization) : undefined;
  if (basic) return basic;
  const user = req.headers['x-clickhouse-user'];
  if (typeof user === 'string') {
    const key = req.headers['x-clickhouse-key'];
    return { user, password: typeof key === 'string' ? key : '' };
  }
  return { user: url.searchParams.get('user') ?? 'default', password: url.searchParams.get('password') ?? '' };
}

const inflaters: Record<string, (b: Buffer) => Promise<Buffer>> = {
  gzip: promisify(zlib.gunzip),
  deflate: promisify(zlib.inflate),
  br: promisify(zlib.brotliDecompress),
};

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new WireError(202, 'TOO_LARGE_REQUEST', `request body larger than ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  const raw = Buffer.concat(chunks);
  const encoding = String(req.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return raw;
  const inflate = inflaters[encoding];
  if (!inflate) throw new WireError(1, 'UNSUPPORTED_METHOD', `Unknown HTTP compression method: ${encoding}`);
  try {
    return await inflate(raw);
  } catch (err) {
    throw new WireError(354, 'ZLIB_INFLATE_FAILED', `cannot decompress the ${encoding} request body: ${(err as Error).message}`);
  }
}

function responseEncoding(req: IncomingMessage, compress: boolean): WireRequest['responseEncoding'] {
  if (!compress) return undefined;
  const accepted = String(req.headers['accept-encoding'] ?? '').toLowerCase().split(',').map((s) => s.trim().split(';')[0]);
  return (['gzip', 'br', 'deflate'] as const).find((e) => accepted.includes(e));
}

/** Reads one request of the HTTP interface (the caller has answered /ping, checked the method and the credentials). */
export async function readWireRequest(req: IncomingMessage, url: URL, maxBodyBytes: number): Promise<WireRequest> {
  if (/^multipart\//i.test(String(req.headers['content-type'] ?? ''))) {
    throw new WireError(48, 'NOT_IMPLEMENTED', 'the stand-in does not read multipart query parameters (use_multipart_params)');
  }
  const settings: [string, string][] = [];
  const params: [string, string][] = [];
  let compress = false;
  for (const [name, value] of url.searchParams) {
    if (UNSUPPORTED_PARAMS.has(name)) throw new WireError(48, 'NOT_IMPLEMENTED', `the stand-in does not implement the ${name} parameter`);
    if (name.startsWith('param_')) {
      const param = name.slice('param_'.length);
      if (!NAME.test(param)) throw new WireError(456, 'UNKNOWN_QUERY_PARAMETER', `invalid query parameter name ${JSON.stringify(param)}`);
      params.push([param, value]);
    } else if (HTTP_PARAMS.has(name)) {
      continue;
    } else if (HTTP_SETTINGS.has(name)) {
      if (name === 'enable_http_compression') compress = value === '1' || value === 'true';
    } else if (!NAME.test(name)) {
      throw new WireError(115, 'UNKNOWN_SETTING', `Unknown setting ${JSON.stringify(name)}`);
    } else {
      settings.push([name, value]);
    }
  }
  const body = req.method === 'GET' || req.method === 'HEAD' ? '' : (await readBody(req, maxBodyBytes)).toString('utf8');
  const urlQuery = url.searchParams.get('query') ?? '';
  const sql = urlQuery && body ? `${urlQuery}\n${body}` : urlQuery || body;
  if (sql.trim() === '') throw new WireError(62, 'SYNTAX_ERROR', 'Empty query');
  return {
    sql,
    database: url.searchParams.get('database') ?? undefined,
    defaultFormat: url.searchParams.get('default_format') ?? 'TabSeparated',
    queryId: url.searchParams.get('query_id') || randomUUID(),
    settings,
    params,
    readOnly: req.method === 'GET',
    responseEncoding: responseEncoding(req, compress),
  };
}

/** The output format: the statement's trailing FORMAT clause, else the default; an INSERT's FORMAT names its input. */
export function outputFormat(sql: string, defaultFormat: string): string {
  if (/^\s*INSERT\b/i.test(sql.slice(0, 64))) return defaultFormat;
  return /\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$/i.exec(sql.slice(-256))?.[1] ?? defaultFormat;
}

/** A setting's value as a SQL literal: numbers bare, everything else a quoted string (the engine converts). */
export function settingLiteral(value: string): string {
  return /^-?\d+(\.\d+)?$/.test(value) ? value : sqlString(value);
}

/** A single-quoted SQL string whose content is exactly `text`. */
export function sqlString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Splits an engine error into code, name and message; anything without a ClickHouse code is a std exception. */
export function wireErrorOf(err: unknown): WireError {
  if (err instanceof WireError) return err;
  const text = err instanceof Error ? err.message : String(err);
  const m = /^Code: (\d+)\. DB::Exception: ([\s\S]*?)\.? \(([A-Z0-9_]+)\)\s*$/.exec(text.trim());
  if (m) return new WireError(Number(m[1]), m[3] as string, m[2] as string);
  return new WireError(1001, 'STD_EXCEPTION', text);
}

/** The HTTP status the server gives an error code (HTTPHandler's exceptionCodeToHTTPStatus, abridged). */
export function httpStatusOf(code: number): number {
  if ([192, 193, 194, 516].includes(code)) return 401; // UNKNOWN_USER, WRONG_PASSWORD, REQUIRED_PASSWORD, AUTHENTICATION_FAILED
  if ([164, 497].includes(code)) return 403; // READONLY, ACCESS_DENIED
  if ([27, 6, 26, 38, 41, 62, 69, 70, 72, 117, 456, 457].includes(code)) return 400; // parse/syntax/parameter errors
  if ([46, 47, 50, 60, 63, 73, 81, 115].includes(code)) return 404; // UNKNOWN_* (function, identifier, type, table, database, setting...)
  if (code === 202) return 413;
  if (code === 48) return 501;
  return 500;
}

export function sendError(res: ServerResponse, err: WireError, version: string, queryId?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = `Code: ${err.code}. DB::Exception: ${err.message}. (${err.type}) (version ${version})\n`;
  res.writeHead(httpStatusOf(err.code), {
    'Content-Type': 'text/plain; charset=UTF-8',
    'X-ClickHouse-Exception-Code': String(err.code),
    ...(queryId ? { 'X-ClickHouse-Query-Id': queryId } : {}),
    'X-ClickHouse-Server-Display-Name': 'clickhouse-standin',
  });
  res.end(text);
}

const deflaters: Record<NonNullable<WireRequest['responseEncoding']>, (b: Buffer) => Promise<Buffer>> = {
  gzip: promisify(zlib.gzip),
  deflate: promisify(zlib.deflate),
  br: promisify(zlib.brotliCompress),
};

export interface Summary {
  readonly readRows: number;
  readonly readBytes: number;
  readonly elapsedS: number;
  readonly insert: boolean;
}

/** The whole answer at once: the engine materialises results, so errors never arrive mid-stream. */
export async function sendResult(res: ServerResponse, request: WireRequest, body: Buffer, format: string, s: Summary): Promise<void> {
  const rows = String(s.readRows);
  const bytes = String(s.readBytes);
  const summary = {
    read_rows: rows,
    read_bytes: bytes,
    written_rows: s.insert ? rows : '0',
    written_bytes: s.insert ? bytes : '0',
    total_rows_to_read: '0',
    result_rows: s.insert ? '0' : rows,
    result_bytes: s.insert ? '0' : String(body.length),
    elapsed_ns: String(Math.round(s.elapsedS * 1e9)),
  };
  const encoded = request.responseEncoding ? await deflaters[request.responseEncoding](body) : body;
  res.writeHead(200, {
    'Content-Type': /^JSON/i.test(format) ? 'application/json; charset=UTF-8' : 'text/plain; charset=UTF-8',
    'X-ClickHouse-Query-Id': request.queryId,
    'X-ClickHouse-Format': format,
    'X-ClickHouse-Timezone': 'UTC',
    'X-ClickHouse-Server-Display-Name': 'clickhouse-standin',
    'X-ClickHouse-Summary': JSON.stringify(summary),
    ...(request.responseEncoding ? { 'Content-Encoding': request.responseEncoding } : {}),
    'Content-Length': String(encoded.length),
  });
  res.end(encoded);
}
