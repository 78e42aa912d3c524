// A connector's HA listener (docs/ha.md): HTTPS that requires a client certificate from the tunnel CA and
// then admits only two identities, the peer (CN = ha.peer_id) and this connector itself (CN = connector.id,
// i.e. `tunnelwatch connector switch-roles` run with this connector's own files). JSON in, JSON out.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { splitHostPort } from '../../common/config/schema-parts.js';
import { TunnelwatchError, type ErrorCode } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { listen } from '../tunnel/listen.js';
import type { TlsMaterial } from '../tunnel/tls-files.js';
import { peerCn } from './ha-link.js';

export interface HaRequest {
  query: URLSearchParams;
  body: unknown;
  /** CN of the caller's certificate. */
  caller: string;
}

export interface HaRoute {
  method: 'GET' | 'POST';
  path: string;
  handle(req: HaRequest): Promise<{ status: number; body: unknown }>;
}

export interface HaServerOptions {
  listen: string;
  tls: TlsMaterial;
  /** Certificate CNs admitted. */
  allowed: ReadonlySet<string>;
  routes: readonly HaRoute[];
  log: Logger;
}

export interface RunningHaServer {
  readonly port: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

export async function startHaServer(options: HaServerOptions): Promise<RunningHaServer> {
  const log = options.log;
  const server = https.createServer({
    cert: options.tls.cert,
    key: options.tls.key,
    ca: options.tls.ca,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  });
  server.headersTimeout = 10_000;
  server.on('tlsClientError', (err) => log.debug({ err: err.message }, 'TLS handshake on the HA listener failed (a certificate not from ha.tls.ca?)'));
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res, options).catch((err: unknown) => {
      log.error({ err: (err as Error).message }, 'HA request failed');
      answerError(res, 'TW_ERR_HA_INTERNAL');
    });
  });
  const { host, port } = splitHostPort(options.listen);
  await listen(server, port, host.replace(/^\[|\]$/g, ''));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, options: HaServerOptions): Promise<void> {
  const caller = peerCn((req.socket as TLSSocket).getPeerCertificate());
  if (!options.allowed.has(caller)) {
    req.resume();
    options.log.warn({ caller, remote: req.socket.remoteAddress }, 'refused an HA request from a certificate that is neither the peer nor this connector');
    answerError(res, 'TW_ERR_HA_FORBIDDEN', `certificate CN "${caller}"`);
    return;
  }
  const url = new URL(req.url ?? '/', 'https://ha.invalid');
  const route = options.routes.find((r) => r.path === url.pathname && r.method === req.method);
  if (!route) {
    req.resume();
    answerError(res, 'TW_ERR_HA_NOT_FOUND', `${req.method ?? ''} ${url.pathname}`);
    return;
  }
  let body: unknown;
  try {
    body = await readBody(req);
  } catch (err) {
    answerError(res, 'TW_ERR_HA_BAD_REQUEST', (err as Error).message);
    return;
  }
  try {
    const answer = await route.handle({ query: url.searchParams, body, caller });
    answer_(res, answer.status, answer.body);
  } catch (err) {
    if (err instanceof TunnelwatchError) answerError(res, err.code, undefined, err.message);
    else throw err;
  }
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        req.destroy();
        reject(new Error(`the body exceeds ${MAX_BODY_BYTES} bytes`));
      } else chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new Error('the body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

function answer_(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function answerError(res: ServerResponse, code: ErrorCode, detail?: string, message?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const e = new TunnelwatchError(code, detail);
  answer_(res, e.status, { code, message: message ?? e.message });
}
