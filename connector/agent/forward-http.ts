// Forwards an allowed HTTP call (or an HTTP Upgrade) to its backend and streams the answer back.
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { Transform } from 'node:stream';
import type { CompiledMapping } from '../acl/policy.js';
import { H, HOP_BY_HOP, nowUs } from '../tunnel/protocol.js';
import type { BackendPool } from './backend-pool.js';
import { CONNECT_TIMEOUT, RESPONSE_TIMEOUT, classifyBackendError, timeoutError } from './backend-errors.js';
import type { ConnectorCall } from './connector-call.js';

export interface BackendTimeouts {
  connectTimeoutMs: number;
  responseTimeoutMs: number;
}

/** Request headers for the backend: tunnel metadata and hop-by-hop headers out, forwarding headers in. */
function backendHeaders(call: ConnectorCall, mapping: CompiledMapping, path: string): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(call.headers)) {
    if (value === undefined || name.startsWith(':') || name.startsWith('tw-') || HOP_BY_HOP.has(name)) continue;
    if (name === 'x-forwarded-for' || name === 'x-forwarded-host' || name === 'x-forwarded-proto' || name === 'forwarded') continue;
    out[name] = value;
  }
  out.host = mapping.hostHeader;
  // Replaced, not appended: what the cloud app claims is untrusted; the relay saw the real peer.
  out['x-forwarded-for'] = call.record.client_ip;
  out['x-forwarded-host'] = `${call.record.virtual_host}:${call.record.virtual_port}`;
  out['x-forwarded-proto'] = 'http';
  out.traceparent = call.backendTraceparent(mapping, path.split('?', 1)[0] ?? path);
  return out;
}

function responseHeaders(res: http.IncomingMessage): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || name.startsWith('tw-') || name.startsWith(':')) continue;
    out[name] = value;
  }
  return out;
}

export function forwardHttp(call: ConnectorCall, mapping: CompiledMapping, path: string, pool: BackendPool, timeouts: BackendTimeouts): void {
  const stream = call.stream;
  const rec = call.record;
  const target = `${mapping.internalHost}:${mapping.internalPort}`;
  const upgrade = call.kind === 'upgrade' ? String(call.headers[H.upgrade] ?? '') : '';
  const headers = backendHeaders(call, mapping, path);
  if (upgrade) {
    headers.connection = 'Upgrade';
    headers.upgrade = upgrade;
  }
  const startedUs = nowUs();
  let sentUs = 0;
  const lib = mapping.protocol === 'https' ? https : http;
  const req = lib.request({
    host: mapping.internalHost,
    port: mapping.internalPort,
    method: call.headers[':method'] as string,
    path,
    headers,
    // Upgraded sockets leave the pool for good, so they get their own connection.
    agent: upgrade ? false : pool.agent(mapping),
    ca: upgrade ? pool.ca(mapping) : undefined,
    servername: upgrade && mapping.protocol === 'https' ? mapping.internalHost : undefined,
  });
  let backendDone = false;
  let connectTimer: NodeJS.Timeout | undefined;
  let responseTimer: NodeJS.Timeout | undefined;
  const clearTimers = (): void => {
    if (connectTimer) clearTimeout(connectTimer);
    if (responseTimer) clearTimeout(responseTimer);
  };
  const armResponseTimer = (): void => {
    responseTimer = setTimeout(() => req.destroy(timeoutError(RESPONSE_TIMEOUT, timeouts.responseTimeoutMs)), timeouts.responseTimeoutMs);
  };
  req.on('socket', (socket: Socket) => {
    if (socket.connecting) {
      connectTimer = setTimeout(() => req.destroy(timeoutError(CONNECT_TIMEOUT, timeouts.connectTimeoutMs)), timeouts.connectTimeoutMs);
      socket.once(mapping.protocol === 'https' ? 'secureConnect' : 'connect', () => {
        if (connectTimer) clearTimeout(connectTimer);
        rec.backend_connect_us = nowUs() - startedUs;
        armResponseTimer();
      });
    } else {
      rec.backend_connect_us = Math.max(1, nowUs() - startedUs);
      armResponseTimer();
    }
  });
  req.on('finish', () => (sentUs = nowUs()));
  req.on('response', (res) => {
    clearTimers();
    rec.backend_ttfb_us = nowUs() - (sentUs || startedUs);
    rec.status = res.statusCode ?? 0;
    if (stream.destroyed) {
      res.destroy();
      return;
    }
    // An Upgrade the backend answered without switching: a plain answer, after which the stream is done.
    if (upgrade) call.releaseAfterAnswer();
    // The caller must never hold a complete answer whose event a crash could still lose: the event is
    // handed to the OS (writeNow) before the answer can complete. What completes it: the end of the
    // stream (a chunked or close-delimited body: held by the end itself), the last byte of a
    // Content-Length body (that one byte is held back until the event is written), or, without a body,
    // the headers (held whole). If the write fails (the disk refuses writes), the stream is reset instead:
    // the caller gets a cut answer, and the relay writes its tunnel_down event. Streaming bodies (SSE,
    // long polls) flow as before.
    const head = { ':status': rec.status, ...responseHeaders(res), ...call.traceHeader() };
    const declared = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length']);
    const bodiless = call.headers[':method'] === 'HEAD' || rec.status === 204 || rec.status === 304 || declared === 0;
    if (!bodiless) stream.respond(head);
    res.on('data', (chunk: Buffer) => (rec.bytes_out += chunk.length));
    let remaining = declared !== undefined && Number.isSafeInteger(declared) ? declared : -1;
    let lastByte: Buffer | undefined;
    const holdLast = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        if (remaining < 0) return done(null, chunk);
        remaining -= chunk.length;
        if (remaining > 0) return done(null, chunk);
        // The body's last byte (a parser never hands on more than Content-Length; a byte held already
        // goes out first should one ever follow).
        const ahead = lastByte;
        lastByte = chunk.subarray(chunk.length - 1);
        const rest = chunk.subarray(0, chunk.length - 1);
        done(null, ahead ? Buffer.concat([ahead, rest]) : rest.length > 0 ? rest : undefined);
      },
      flush(done) {
        backendDone = true;
        if (!call.finish({ writeNow: true })) {
          call.cutUnaudited();
          done();
          return;
        }
        if (bodiless && !stream.destroyed) stream.respond(head);
        done(null, lastByte);
      },
    });
    res.pipe(holdLast).pipe(stream);
    res.on('error', (err: NodeJS.ErrnoException) => {
      rec.error_type = classifyBackendError(err, target).errorType;
      // A reset, not close(): close ends the stream first, and the relay would pass the cut body on as complete.
      if (!stream.destroyed) stream.destroy(err);
    });
  });
  req.on('upgrade', (res, socket: Socket, head: Buffer) => {
    clearTimers();
    rec.backend_ttfb_us = nowUs() - (sentUs || startedUs);
    rec.status = 101;
    backendDone = true; // the upgraded socket has its own close handling below
    stream.respond({ ':status': 200, [H.upgraded]: '101', ...responseHeaders(res), ...call.traceHeader() });
    if (head.length > 0) {
      rec.bytes_out += head.length;
      stream.write(head);
    }
    socket.on('data', (chunk: Buffer) => (rec.bytes_out += chunk.length));
    socket.pipe(stream);
    stream.pipe(socket);
    socket.on('error', () => stream.close());
    socket.on('close', () => stream.end());
    stream.on('close', () => socket.destroy());
  });
  req.on('error', (err: NodeJS.ErrnoException) => {
    clearTimers();
    call.failBackend(classifyBackendError(err, target));
  });
  stream.on('data', (chunk: Buffer) => (rec.bytes_in += chunk.length));
  stream.on('close', () => {
    clearTimers();
    // The call ended before the backend's answer did (relay cancelled, tunnel dropped): stop the
    // backend call too, rather than leave it open for as long as the backend holds it.
    if (!backendDone) req.destroy();
  });
  if (upgrade) {
    // Nothing flows before the backend switches protocols; send the head now rather than on first write.
    req.flushHeaders();
  } else {
    // The request to the backend is completed only by a clean end of the stream: a stream the relay
    // abandoned ('aborted') must never reach the backend as a complete (truncated) request.
    stream.pipe(req, { end: false });
    stream.on('end', () => {
      if (!stream.aborted) req.end();
    });
  }
  stream.on('aborted', () => {
    call.abandoned();
    req.destroy();
  });
}
