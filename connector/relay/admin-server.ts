// The relay's admin listener: a small HTTP(S) server beside the proxy and tunnel ports, for the dashboard
// and operators. Routes are entries of a table (method, path, auth, optional body schema, handler), so a
// new endpoint (/metrics, /readyz) is one more entry. Bearer tokens are stored as SHA-256 digests and
// compared in constant time; tokens never reach a log line. Errors are JSON {code, message}.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { TunnelwatchError, type ErrorCode } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { listen } from '../tunnel/listen.js';

export interface AdminRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  /** The parsed and schema-checked JSON body (routes with a `body` schema), else undefined. */
  readonly body: unknown;
  /** The name of the admin token that authenticated the request; '' on public routes. */
  readonly tokenName: string;
  readonly remote: string;
  /** Aborted when the client goes away before the answer, so a handler can give up its work. */
  readonly signal: AbortSignal;
}

export interface AdminResponse {
  readonly status: number;
  /** Sent as JSON, unless a string with contentType (e.g. Prometheus text). */
  readonly body: unknown;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface AdminRoute {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** public: no token (health probes); token: a bearer token from admin.tokens. */
  readonly auth: 'public' | 'token';
  /** JSON schema of the body; a route without one takes no body. */
  readonly body?: TSchema;
  handle(request: AdminRequest): Promise<AdminResponse> | AdminResponse;
}

export interface AdminServerOptions {
  readonly host: string;
  readonly port: number;
  readonly tokens: readonly { name: string; sha256: string }[];
  readonly routes: readonly AdminRoute[];
  readonly maxBodyBytes: number;
  readonly tls?: { cert: Buffer; key: Buffer };
  readonly log: Logger;
}

export interface RunningAdminServer {
  readonly server: Server;
  readonly port: number;
  /** Puts a new token list in force (a config reload); requests already authenticated go on. */
  setTokens(tokens: readonly { name: string; sha256: string }[]): void;
  /** Presents a new certificate and key (a config reload) to connections made from now on; only when served over TLS. */
  setTls(tls: { cert: Buffer; key: Buffer }): void;
  close(): Promise<void>;
}

const REALM = 'tunnelwatch-relay-admin';
const ajv = new Ajv({ allErrors: false, strict: false });

/** Throw from a handler to answer {code, message} with the code's status. */
export function adminError(code: ErrorCode, detail?: string): TunnelwatchError {
  return new TunnelwatchError(code, detail);
}

export async function startAdminServer(options: AdminServerOptions): Promise<RunningAdminServer> {
  const log = options.log.child({ component: 'relay.admin' });
  const table = new Map<string, Map<string, { route: AdminRoute; validate?: ValidateFunction }>>();
  for (const route of options.routes) {
    const byMethod = table.get(route.path) ?? new Map();
    if (byMethod.has(route.method)) throw new Error(`admin route ${route.method} ${route.path} is defined twice`);
    byMethod.set(route.method, { route, ...(route.body ? { validate: ajv.compile(route.body) } : {}) });
    table.set(route.path, byMethod);
  }
  const digestsOf = (tokens: readonly { name: string; sha256: string }[]): { name: string; digest: Buffer }[] => tokens.map((t) => ({ name: t.name, digest: Buffer.from(t.sha256, 'hex') }));
  let digests = digestsOf(options.tokens);

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    serve(req, res).catch((err: unknown) => {
      const e = err instanceof TunnelwatchError ? err : undefined;
      if (!e) log.error({ err: (err as Error).message, stack: (err as Error).stack, path: req.url }, 'admin request failed');
      else if (e.status >= 500) log.warn({ code: e.code, err: e.message, path: req.url }, 'admin request failed');
      sendError(res, e ?? new TunnelwatchError('TW_ERR_RELAY_ADMIN_INTERNAL'));
    });
  };

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const byMethod = table.get(url.pathname);
    if (!byMethod) throw adminError('TW_ERR_RELAY_ADMIN_NOT_FOUND', `${url.pathname}`);
    const entry = byMethod.get(req.method ?? '');
    if (!entry) {
      res.setHeader('allow', [...byMethod.keys()].join(', '));
      throw adminError('TW_ERR_RELAY_ADMIN_METHOD_NOT_ALLOWED', `${req.method ?? ''} ${url.pathname}`);
    }
    const { route, validate } = entry;
    const remote = `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? 0}`;
    let tokenName = '';
    if (route.auth === 'token') {
      const presented = bearerToken(req.headers.authorization);
      const name = presented === undefined ? undefined : tokenNameOf(presented, digests);
      if (name === undefined) {
        res.setHeader('www-authenticate', presented === undefined ? `Bearer realm="${REALM}"` : `Bearer realm="${REALM}", error="invalid_token"`);
        log.info({ remote, path: url.pathname, token_presented: presented !== undefined }, 'admin request refused: no valid token');
        throw adminError('TW_ERR_RELAY_ADMIN_UNAUTHENTICATED');
      }
      tokenName = name;
    }
    let body: unknown;
    if (validate) {
      const text = await readBody(req, options.maxBodyBytes);
      try {
        body = JSON.parse(text);
      } catch (err) {
        throw adminError('TW_ERR_RELAY_ADMIN_BAD_REQUEST', `the body is not JSON: ${(err as Error).message}`);
      }
      if (!validate(body)) throw adminError('TW_ERR_RELAY_ADMIN_BAD_REQUEST', describeError(validate.errors?.[0]));
    } else {
      req.resume();
    }
    const controller = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const answer = await route.handle({ method: route.method, path: url.pathname, query: url.searchParams, headers: req.headers, body, tokenName, remote, signal: controller.signal });
    send(res, answer);
  };

  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2', maxHeaderSize: 16 * 1024 }, handler)
    : createHttpServer({ maxHeaderSize: 16 * 1024 }, handler);
  // The request must arrive quickly; the answer may take a check's time, which these do not bound.
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.keepAliveTimeout = 5_000;
  server.maxConnections = 256;
  await listen(server, options.port, options.host);
  return {
    server,
    port: (server.address() as { port: number }).port,
    setTokens(tokens) {
      digests = digestsOf(tokens);
    },
    setTls(tls) {
      if (!options.tls) throw new Error('the admin API is served without TLS: adding it needs a restart');
      (server as HttpsServer).setSecureContext({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' });
    },
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** The token of `Authorization: Bearer <token>`, or undefined. */
function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i.exec(header);
  return m?.[1];
}

/**
 * Which configured token this is. Every digest is compared, in constant time, whether or not one already
 * matched, so the answer's timing tells nothing about how close a guess came or which entry matched.
 */
function tokenNameOf(token: string, digests: readonly { name: string; digest: Buffer }[]): string | undefined {
  const digest = createHash('sha256').update(token, 'utf8').digest();
  let found: string | undefined;
  for (const d of digests) {
    if (timingSafeEqual(digest, d.digest) && found === undefined) found = d.name;
  }
  return found;
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    req.resume();
    return Promise.reject(adminError('TW_ERR_RELAY_ADMIN_TOO_LARGE', `${declared} bytes, at most ${max}`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > max) {
        failed = true;
        reject(adminError('TW_ERR_RELAY_ADMIN_TOO_LARGE', `more than ${max} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (!failed) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.once('error', (err) => {
      if (!failed) reject(adminError('TW_ERR_RELAY_ADMIN_BAD_REQUEST', `the body could not be read: ${err.message}`));
      failed = true;
    });
  });
}

function describeError(e: ErrorObject | undefined): string {
  if (!e) return 'the body does not match the route\'s schema';
  const at = e.instancePath === '' ? 'body' : e.instancePath.slice(1).replace(/\//g, '.');
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return `${at}: unknown field ${JSON.stringify(p.additionalProperty)}`;
  if (e.keyword === 'required') return `${at}: missing field ${JSON.stringify(p.missingProperty)}`;
  return `${at}: ${e.message ?? 'is not valid'}`;
}

function send(res: ServerResponse, answer: AdminResponse): void {
  if (res.headersSent || res.destroyed) return;
  const text = typeof answer.body === 'string' && answer.contentType ? answer.body : JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    'content-type': answer.contentType ?? 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-length': Buffer.byteLength(text),
    ...answer.headers,
  });
  res.end(text);
}

function sendError(res: ServerResponse, err: TunnelwatchError): void {
  send(res, { status: err.status || 500, body: { code: err.code, message: err.message } });
}
