// The relay's proxy port: absolute-form HTTP requests, CONNECT for TCP mappings and HTTP Upgrade,
// authenticated by token, routed into the subaccount's tunnel session.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AuditEmitter } from '../../common/audit/emitter.js';
import type { CallObservation } from '../../common/ops/tunnel-metrics.js';
import type { Logger } from '../../common/log.js';
import { forwardConnect, forwardHttp, forwardUpgrade } from './forward.js';
import { listen } from '../tunnel/listen.js';
import { proxyProtocolFront, trustedPeers } from './proxy-protocol.js';
import { RelayCall, clientIpOf, renderRefusal, type CallKind } from './relay-call.js';
import type { SessionRegistry, TunnelSession } from './session-registry.js';
import type { TokenStore } from './token-store.js';
import type { AdmittedCalls } from './admitted-calls.js';
import type { Refusal } from '../tunnel/refusal.js';
import { emptyCallRecord } from '../../common/audit/event.js';
import { refusal } from '../tunnel/refusal.js';
import type { CallTracer } from '../../common/tracing/call-span.js';

/** A call whose request is still being read on its connection, so a parser error can abandon it. */
export interface InflightCall {
  call: RelayCall;
  res: ServerResponse;
  abandon(): void;
}

export interface ProxyContext {
  /** Calls whose request body is still being read, by connection. */
  inflight: WeakMap<Socket, InflightCall>;
  relayId: string;
  tracer: CallTracer;
  tokens: TokenStore;
  /** Open tunnels (CONNECT, Upgrade) with the token identity that admitted them: a reload that withdraws it cuts them. */
  admitted: AdmittedCalls;
  registry: SessionRegistry;
  audit: AuditEmitter;
  log: Logger;
  callTimeoutMs: number;
  secretQueryParams: readonly string[];
  /** Told of every finished call (metrics). */
  observe?: (call: CallObservation) => void;
}

export interface ProxyServerOptions {
  host: string;
  port: number;
  maxHeaderBytes: number;
  keepAliveTimeoutMs: number;
  /** Time for a request's head (proxy.head_timeout_ms); twice this for the whole request. */
  headTimeoutMs: number;
  /** proxy.proxy_protocol_from: load balancers whose connections start with a PROXY protocol header. */
  proxyProtocolFrom: readonly string[];
  /** A balancer's connection closed for want of a valid header (counted and logged by the caller). */
  onProxyProtocolRefused(peer: string, reason: string): void;
}

export async function startProxyServer(ctx: ProxyContext, options: ProxyServerOptions): Promise<http.Server> {
  const server = http.createServer({
    maxHeaderSize: options.maxHeaderBytes,
    keepAliveTimeout: options.keepAliveTimeoutMs,
    headersTimeout: options.headTimeoutMs,
    requestTimeout: 2 * options.headTimeoutMs,
    // How often Node looks for connections past these timeouts (its default, 30 s, would let a
    // 1-second head timeout fire only after 30).
    connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(options.headTimeoutMs / 2))),
    insecureHTTPParser: false,
    // Absolute-form targets carry the authority; a missing Host is judged by us, with an audit event.
    requireHostHeader: false,
    joinDuplicateHeaders: false,
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => handle('http', req, res, undefined));
  server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => handle('connect', req, undefined, { socket, head }));
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => handle('upgrade', req, undefined, { socket, head }));
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => onClientError(ctx, err, socket));

  function handle(kind: CallKind, req: IncomingMessage, res: ServerResponse | undefined, raw: { socket: Socket; head: Buffer } | undefined): void {
    const call = new RelayCall(kind, req, ctx.secretQueryParams, ctx.tracer, ctx.observe);
    const refuse = (r: Refusal): void => {
      // The event first: a refusal is never sent without its audit event having been handed over.
      try {
        call.audit(ctx.audit, r);
      } catch (err) {
        ctx.log.error({ err: (err as Error).message }, 'audit event for a refused call could not be written');
      }
      respondRefusal(r, res, raw?.socket);
    };
    const bad = call.parseTarget();
    if (bad) return refuse(call.refusal(bad.code, 'malformed_request', '', bad.detail));
    const badHeader = call.parseTunnelHeaders();
    if (badHeader) return refuse(call.refusal('TW_ERR_PROXY_MALFORMED_REQUEST', 'malformed_request', '', badHeader));
    const auth = ctx.tokens.authenticate(req.headers['proxy-authorization']);
    if (!auth.identity) {
      if (auth.expired) ctx.admitted.expiredTokenUsed(auth.expired);
      return refuse(call.refusal('TW_ERR_PROXY_UNAUTHENTICATED', 'unauthenticated', '', auth.refused));
    }
    const identity = auth.identity;
    call.authenticated(identity);
    if (!ctx.audit.healthy) return refuse(call.refusal('TW_ERR_AUDIT_UNAVAILABLE', '', 'internal', `the relay cannot keep audit events: ${ctx.audit.unhealthyReason ?? 'disk error, or the delivery spool is full'}`));
    const session: TunnelSession | undefined = ctx.registry.pick(identity.subaccount, call.locationId);
    if (!session) {
      return refuse(call.refusal('TW_ERR_PROXY_NO_CONNECTOR', 'no_connector', '', `subaccount "${identity.subaccount}", location id "${call.locationId}"`));
    }
    if (raw) ctx.admitted.add(call, raw.socket);
    if (kind === 'http' && res) forwardHttp(ctx, call, session, res, refuse);
    else if (kind === 'connect' && raw) forwardConnect(ctx, call, session, raw.socket, raw.head, refuse);
    else if (raw) forwardUpgrade(ctx, call, session, raw.socket, raw.head, refuse);
  }

  if (options.proxyProtocolFrom.length === 0) {
    await listen(server, options.port, options.host);
    return server;
  }
  // Behind a load balancer: a listener that reads its PROXY protocol headers hands connections to the server.
  const front = proxyProtocolFront(server, { trusted: trustedPeers(options.proxyProtocolFrom), timeoutMs: options.headTimeoutMs, onRefused: options.onProxyProtocolRefused });
  await listen(front, options.port, options.host);
  // The HTTP server itself does not listen. Node starts its head and request timeouts, and its connection
  // list (closeAllConnections), on 'listening': without this event a slow or silent client would hold
  // its connection for ever.
  server.emit('listening');
  // Its address and close are the front's.
  server.address = () => front.address();
  const closeServer = server.close.bind(server);
  server.close = ((callback?: (err?: Error) => void) => {
    front.close();
    return closeServer(() => callback?.());
  }) as typeof server.close;
  return server;
}

/** Writes a refusal on whichever channel the call has: a response object, or a raw socket (CONNECT, Upgrade). */
export function respondRefusal(r: Refusal, res: ServerResponse | undefined, socket: Socket | undefined): void {
  const { status, headers, body } = renderRefusal(r);
  if (res) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (status === 407) headers['proxy-authenticate'] = 'Bearer realm="tunnelwatch", Basic realm="tunnelwatch"';
    res.writeHead(status, headers);
    res.end(body);
    return;
  }
  if (socket && !socket.destroyed) {
    if (status === 407) headers['proxy-authenticate'] = 'Bearer realm="tunnelwatch", Basic realm="tunnelwatch"';
    socket.end(rawResponse(status, headers, body));
  }
}

export function rawResponse(status: number, headers: Record<string, string | string[]>, body = ''): string {
  let head = `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Status'}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${v}\r\n`;
  }
  return `${head}connection: close\r\n\r\n${body}`;
}

/** A request the HTTP parser rejected (smuggling attempts, bad header bytes, oversized heads). */
function onClientError(ctx: ProxyContext, err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket): void {
  const code = err.code ?? '';
  if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = code === 'HPE_HEADER_OVERFLOW';
  // A request not received within headersTimeout (its head) or requestTimeout (all of it): refused with
  // its own code and an event, like a request the parser rejects.
  const timeout = code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const inflight = ctx.inflight.get(socket);
  if (inflight) {
    // The parser failed in the body of a request already on its way through the tunnel (a bad chunk,
    // say). Abandon the stream, so the backend never sees a complete request; answer 400 only if no
    // response has started (a late 400 would be taken as the answer to the next request); one event.
    ctx.inflight.delete(socket);
    inflight.abandon();
    const r = inflight.call.refusal(timeout ? 'TW_ERR_PROXY_REQUEST_TIMEOUT' : 'TW_ERR_PROXY_MALFORMED_REQUEST', 'malformed_request', '', `${code}: ${err.message}`.slice(0, 200));
    if (inflight.res.headersSent) socket.destroy();
    else {
      const { status, headers, body } = renderRefusal(r);
      socket.end(rawResponse(status, headers, body));
    }
    try {
      inflight.call.audit(ctx.audit, inflight.res.headersSent ? { ...r, status: inflight.res.statusCode } : r);
    } catch (e) {
      ctx.log.error({ err: (e as Error).message }, 'audit event for a malformed request could not be written');
    }
    return;
  }
  const span = ctx.tracer.start({ name: 'HTTP', kind: 'server', startTimeMs: Date.now(), attributes: { 'client.address': clientIpOf(socket), 'tunnelwatch.emitter': 'relay' } });
  const r = refusal(tooLarge ? 'TW_ERR_PROXY_HEADERS_TOO_LARGE' : timeout ? 'TW_ERR_PROXY_REQUEST_TIMEOUT' : 'TW_ERR_PROXY_MALFORMED_REQUEST', {
    denyReason: 'malformed_request',
    detail: `${code}: ${err.message}`.slice(0, 200),
    traceId: span.traceId,
  });
  const { status, headers, body } = renderRefusal(r);
  socket.end(rawResponse(status, headers, body));
  span.setAttribute('http.response.status_code', status);
  span.setAttribute('tunnelwatch.deny_reason', 'malformed_request');
  span.end();
  const rec = emptyCallRecord();
  rec.ts = new Date().toISOString();
  rec.client_ip = clientIpOf(socket);
  rec.deny_reason = 'malformed_request';
  rec.status = status;
  rec.trace_id = span.traceId;
  rec.span_id = span.spanId;
  const line = err.rawPacket?.toString('latin1').split('\r\n', 1)[0] ?? '';
  const m = /^([A-Z]{1,20}) /.exec(line);
  if (m) rec.method = m[1] as string;
  try {
    ctx.audit.emit(rec);
  } catch (e) {
    ctx.log.error({ err: (e as Error).message }, 'audit event for a malformed request could not be written');
  }
  ctx.log.debug({ code, client_ip: rec.client_ip }, 'refused a request the HTTP parser rejected');
}
