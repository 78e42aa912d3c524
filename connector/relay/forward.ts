// Carries an authenticated call into the connector's tunnel session as one HTTP/2 stream.
import { constants as h2constants, type ClientHttp2Stream, type IncomingHttpHeaders as H2Headers, type OutgoingHttpHeaders } from 'node:http2';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { H, HOP_BY_HOP, nowUs } from '../tunnel/protocol.js';
import type { Refusal } from '../tunnel/refusal.js';
import type { ProxyContext } from './proxy-server.js';
import { rawResponse } from './proxy-server.js';
import type { RelayCall } from './relay-call.js';
import type { TunnelSession } from './session-registry.js';

const NO_ERROR = h2constants.NGHTTP2_NO_ERROR;

type Refuse = (r: Refusal) => void;

/** End-to-end request headers for the stream: hop-by-hop, proxy and tunnel-control headers removed. */
function streamHeaders(call: RelayCall): OutgoingHttpHeaders {
  const raw = call.req.rawHeaders;
  const connectionTokens = new Set(
    String(call.req.headers.connection ?? '').toLowerCase().split(',').map((t) => t.trim()).filter(Boolean),
  );
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (HOP_BY_HOP.has(name) || connectionTokens.has(name) || name.startsWith('tw-') || name.startsWith('x-tunnel-') || name.startsWith('proxy-') || name === 'traceparent') continue;
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  const identity = call.identity;
  out[H.subaccount] = identity?.subaccount ?? '';
  out[H.cloudApp] = identity?.cloudApp ?? '';
  out[H.clientIp] = call.record.client_ip;
  out[H.locationId] = call.locationId;
  out[H.kind] = call.kind;
  out[H.relayReceivedUs] = String(call.startedUs);
  if (call.principal) out[H.principal] = call.principal;
  out.traceparent = call.traceparent();
  return out;
}

/** Response headers for the cloud app: pseudo-headers and tunnel metadata removed. */
function responseHeaders(headers: H2Headers): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':') || name.startsWith('tw-') || HOP_BY_HOP.has(name)) continue;
    out[name] = value;
  }
  return out;
}

function openStream(call: RelayCall, session: TunnelSession, headers: OutgoingHttpHeaders, endStream: boolean, refuse: Refuse): ClientHttp2Stream | undefined {
  try {
    const stream = session.h2.request(headers, { endStream });
    // The relay phase: from receipt to the call's stream being on its way to the connector.
    call.span().setAttribute('tunnelwatch.phase.relay_us', nowUs() - call.startedUs);
    call.span().setAttribute('tunnelwatch.connector_id', session.connectorId);
    return stream;
  } catch (err) {
    refuse(call.refusal('TW_ERR_PROXY_TUNNEL_DOWN', '', 'tunnel_down', (err as Error).message));
    return undefined;
  }
}

export function forwardHttp(ctx: ProxyContext, call: RelayCall, session: TunnelSession, res: ServerResponse, refuse: Refuse): void {
  const req = call.req;
  const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
  const headers = streamHeaders(call);
  headers[':method'] = req.method;
  headers[':path'] = call.target;
  headers[':authority'] = call.authority;
  headers[':scheme'] = 'http';
  const stream = openStream(call, session, headers, !hasBody, refuse);
  if (!stream) return;
  let responded = false;
  // The cloud app hung up first: the connector records the cancelled call, the relay has nothing to add.
  let clientGone = false;
  // The relay gave up on the answer itself (proxy.call_timeout_ms): the connector sees the reset.
  let timedOut = false;
  // The tunnel session, kept: a stream that closed no longer names it.
  const tunnel = stream.session;
  let timer: NodeJS.Timeout | undefined;
  if (ctx.callTimeoutMs > 0) {
    timer = setTimeout(() => {
      timedOut = true;
      if (!responded) refuse(call.refusal('TW_ERR_BACKEND_TIMEOUT', '', 'backend_timeout', `no answer through the tunnel within ${ctx.callTimeoutMs} ms (proxy.call_timeout_ms)`));
      abandon(stream);
    }, ctx.callTimeoutMs);
    timer.unref();
  }
  if (hasBody) {
    req.pipe(stream);
    const socket = req.socket;
    ctx.inflight.set(socket, {
      call,
      res,
      abandon: () => {
        clientGone = true;
        abandon(stream);
      },
    });
    req.once('end', () => {
      if (ctx.inflight.get(socket)?.call === call) ctx.inflight.delete(socket);
    });
  }
  stream.on('response', (h2headers) => {
    responded = true;
    res.writeHead(Number(h2headers[':status']), responseHeaders(h2headers));
    // Ended below, not by pipe: a stream whose tunnel is lost mid-answer also emits 'end' (its code then
    // CANCEL), and a chunked answer ended there would look complete to the cloud app.
    stream.pipe(res, { end: false });
  });
  let completed = false;
  stream.on('end', () => {
    // Complete only when the connector ended the stream (END_STREAM: the stream is still open as its end
    // is read). A session lost ends its streams with CANCEL, and one destroyed here (a frozen connector
    // missing its pings) with code 0, both already closed; a connector that ended the answer and then
    // died leaves the stream open at its end, and the answer is complete.
    if ((stream.rstCode ?? NO_ERROR) !== NO_ERROR || !responded || (stream.closed && tunnel?.destroyed)) return;
    completed = true;
    res.end();
  });
  stream.on('close', () => {
    if (timer) clearTimeout(timer);
    if (!responded && !res.headersSent && !clientGone) {
      refuse(call.refusal('TW_ERR_PROXY_TUNNEL_DOWN', '', 'tunnel_down', `stream closed with code ${stream.rstCode ?? 'none'} before the connector answered`));
      return;
    }
    if (completed || res.writableEnded) return;
    // Cut mid-answer: the cloud app must see it cut (no final chunk, a short Content-Length).
    res.destroy();
    // When the tunnel itself was lost (the connector died, the link broke), the connector may have written
    // no event for the call: the relay writes one, with the status the cloud app got. A reset the connector
    // chose (its backend failed mid-body, its audit disk refused the event) leaves the session up and
    // the connector's event says why.
    if (!clientGone && !timedOut && (tunnel?.destroyed ?? true)) {
      const r = call.refusal('TW_ERR_PROXY_TUNNEL_DOWN', '', 'tunnel_down', `the tunnel was lost during the answer (stream code ${stream.rstCode ?? 'none'})`);
      try {
        call.audit(ctx.audit, { ...r, status: res.statusCode });
      } catch (err) {
        ctx.log.error({ err: (err as Error).message, trace_id: r.traceId }, 'audit event for a call cut by the tunnel could not be written');
      }
    }
  });
  stream.on('error', () => {
    // 'close' follows and decides what the cloud app sees.
  });
  res.on('close', () => {
    call.finishSpan(res.statusCode, res.writableFinished ? undefined : { errorType: 'client_gone', detail: 'the cloud app left before the answer was complete' });
    // Cancel only a call the cloud app abandoned. A finished response's stream closes by itself; resetting
    // it anyway would send one RST_STREAM per call, and nghttp2 ends sessions that see resets at that rate.
    if (res.writableFinished) return;
    clientGone = true;
    abandon(stream);
  });
}

/** CONNECT host:port: a TCP byte stream through the tunnel once the connector has allowed and opened it. */
export function forwardConnect(_ctx: ProxyContext, call: RelayCall, session: TunnelSession, socket: Socket, head: Buffer, refuse: Refuse): void {
  const headers = streamHeaders(call);
  headers[':method'] = 'CONNECT';
  headers[':authority'] = call.authority;
  const stream = openStream(call, session, headers, false, refuse);
  if (!stream) return;
  bridgeRaw(call, stream, socket, head, refuse, (status, h2headers) => {
    if (status !== 200) return false;
    socket.write('HTTP/1.1 200 Connection Established\r\n' + headerLines(responseHeaders(h2headers)) + '\r\n');
    return true;
  });
}

/** HTTP Upgrade (websocket): the connector answers 200 with tw-upgraded when the backend switched. */
export function forwardUpgrade(_ctx: ProxyContext, call: RelayCall, session: TunnelSession, socket: Socket, head: Buffer, refuse: Refuse): void {
  const headers = streamHeaders(call);
  headers[':method'] = call.req.method;
  headers[':path'] = call.target;
  headers[':authority'] = call.authority;
  headers[':scheme'] = 'http';
  headers[H.upgrade] = String(call.req.headers.upgrade ?? '');
  const stream = openStream(call, session, headers, false, refuse);
  if (!stream) return;
  bridgeRaw(call, stream, socket, head, refuse, (_status, h2headers) => {
    if (h2headers[H.upgraded] !== '101') return false;
    const token = String(call.req.headers.upgrade ?? '');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${token}\r\n` + headerLines(responseHeaders(h2headers)) + '\r\n');
    return true;
  });
}

/**
 * Gives up on a stream without completing it. Not close(): that sends END_STREAM before RST_STREAM, so
 * the connector would see a finished request and could pass a truncated body on as complete. destroy()
 * resets at once, and the connector sees the stream aborted before any end.
 */
function abandon(stream: ClientHttp2Stream): void {
  if (!stream.destroyed) stream.destroy();
}

function headerLines(headers: Record<string, string | string[]>): string {
  let out = '';
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'upgrade' || name === 'connection') continue;
    for (const v of Array.isArray(value) ? value : [value]) out += `${name}: ${v}\r\n`;
  }
  return out;
}

/**
 * Joins a raw client socket and a stream. `established` writes the success head and returns true, or
 * returns false for a refusal from the connector, which is then relayed as a plain HTTP response.
 */
function bridgeRaw(
  call: RelayCall,
  stream: ClientHttp2Stream,
  socket: Socket,
  head: Buffer,
  refuse: Refuse,
  established: (status: number, headers: H2Headers) => boolean,
): void {
  let responded = false;
  let clientGone = false;
  socket.setNoDelay(true);
  stream.on('response', (h2headers) => {
    responded = true;
    const status = Number(h2headers[':status']);
    if (established(status, h2headers)) {
      if (head.length > 0) stream.write(head);
      socket.pipe(stream);
      stream.pipe(socket);
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      socket.end(rawResponse(status, responseHeaders(h2headers), Buffer.concat(chunks).toString('utf8')));
      // The refusal is complete: end the relay's side too, or the stream stays half open for good.
      if (!stream.destroyed) stream.end();
    });
  });
  stream.on('error', () => {});
  socket.on('error', () => abandon(stream));
  // The client half-closed before any answer: it has left (as for HTTP calls), so the connector stops
  // waiting on the backend for it.
  socket.on('end', () => {
    if (responded) return;
    clientGone = true;
    abandon(stream);
  });
  socket.on('close', () => {
    call.finishSpan(responded ? 200 : 0);
    if (!responded) clientGone = true;
    if (!stream.readableEnded) abandon(stream);
    else if (!stream.destroyed) stream.end();
  });
  stream.on('close', () => {
    if (!responded && !clientGone) {
      refuse(call.refusal('TW_ERR_PROXY_TUNNEL_DOWN', '', 'tunnel_down', `stream closed with code ${stream.rstCode ?? 'none'} before the connector answered`));
    } else if (!socket.destroyed) {
      socket.end();
    }
  });
}
