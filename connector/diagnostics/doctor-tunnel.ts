// Doctor's way into the relay: the mTLS handshake the connector makes, then the tunnel hello, answered with
// no subaccounts. The relay registers a connector only for the subaccounts it announces, so announcing none
// leaves a running connector's session alone (a session with subaccounts would replace it).
import http2, { type ServerHttp2Stream } from 'node:http2';
import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { HELLO_PATH, PROTOCOL_VERSION, REGISTERED_PATH, TUNNEL_ALPN, type Registration } from '../tunnel/protocol.js';
import type { TlsMaterial } from '../tunnel/tls-files.js';
import { errorCode, errorMessage, fail, ok, since, STEP_TIMEOUT, type StepResult } from './steps/step-kit.js';
import { CLIENT_CERT_ALERTS, handshake, HANDSHAKE_FAILURE_ALERT, NOT_TLS, settle } from './steps/tls-handshake.js';

export interface RelayTlsOutcome {
  readonly result: StepResult;
  readonly socket?: TLSSocket;
}

/** Longer than for backends: the relay is usually across a WAN. */
const SETTLE_GRACE_MS = 1000;

export async function relayTlsStep(socket: net.Socket, o: { at: string; servername?: string; material: TlsMaterial; timeoutMs: number }): Promise<RelayTlsOutcome> {
  const start = performance.now();
  let secure: TLSSocket;
  try {
    secure = await handshake(socket, { servername: o.servername, cert: o.material.cert, key: o.material.key, ca: o.material.ca, ALPNProtocols: [TUNNEL_ALPN] }, o.timeoutMs);
  } catch (err) {
    const code = errorCode(err);
    const detail = { code, error: errorMessage(err) };
    if (code === STEP_TIMEOUT) return { result: fail('tls_handshake_failed', `no TLS handshake with the relay at ${o.at} within ${o.timeoutMs} ms`, detail) };
    if (NOT_TLS.test(code)) return { result: fail('tls_protocol_error', `${o.at} does not speak TLS (${code}): relay.address is not the relay's tunnel port`, detail) };
    if (/NO_APPLICATION_PROTOCOL/.test(code)) return { result: fail('tunnel_alpn_mismatch', `${o.at} does not offer the tunnel protocol (ALPN ${TUNNEL_ALPN}; ${code}): relay.address is not the relay's tunnel port`, detail) };
    if (CLIENT_CERT_ALERTS.test(code) || HANDSHAKE_FAILURE_ALERT.test(code)) {
      return { result: fail('tls_client_cert_rejected', `the relay at ${o.at} refused this connector's certificate during the handshake (${code})`, detail) };
    }
    if (code === 'ECONNRESET' || code === 'EPIPE') {
      return { result: fail('tls_client_cert_rejected', `the relay at ${o.at} closed the connection during the TLS handshake (${code}): it most likely refused this connector's certificate (not signed by its tunnel.tls.ca)`, detail) };
    }
    return { result: fail('tls_handshake_failed', `TLS handshake with the relay at ${o.at} failed: ${code || errorMessage(err)}`, detail) };
  }
  const handshakeMs = since(start);
  const detail = { protocol: secure.getProtocol(), cipher: secure.getCipher().name, alpn: secure.alpnProtocol || '', handshake_ms: handshakeMs };
  if (secure.alpnProtocol !== TUNNEL_ALPN) {
    secure.destroy();
    return { result: fail('tunnel_alpn_mismatch', `${o.at} completed TLS but did not agree on the tunnel protocol (ALPN ${String(secure.alpnProtocol)}): relay.address is not the relay's tunnel port`, detail) };
  }
  // TLS 1.3: the relay judges the client certificate after our side of the handshake has finished.
  const late = await settle(secure, Math.min(SETTLE_GRACE_MS, o.timeoutMs));
  if (late || secure.destroyed) {
    const code = late ? errorCode(late) : '';
    if (!late || CLIENT_CERT_ALERTS.test(code) || code === 'ECONNRESET') {
      return { result: fail('tls_client_cert_rejected', `the relay at ${o.at} ended the connection right after the handshake${code ? ` (${code})` : ''}: it refused this connector's certificate (not signed by its tunnel.tls.ca?)`, detail) };
    }
    return { result: fail('tls_handshake_failed', `the TLS connection to the relay at ${o.at} failed after the handshake: ${code || errorMessage(late)}`, detail) };
  }
  return { result: ok(`${String(detail.protocol)} with the relay at ${o.at} in ${handshakeMs} ms, ALPN ${TUNNEL_ALPN}, client certificate presented`, detail), socket: secure };
}

/** Waits for the relay's hello, answers it with no subaccounts, and reads the registration it sends back. */
export function helloStep(socket: TLSSocket, o: { at: string; connectorId: string; locationId: string; timeoutMs: number }): Promise<StepResult> {
  return new Promise((resolve) => {
    const server = http2.createServer();
    let relayId = '';
    let helloSeen = false;
    let settled = false;
    const finish = (result: StepResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Let the last response leave before the connection goes.
      setImmediate(() => {
        server.close();
        socket.destroy();
      });
      resolve(result);
    };
    const timer = setTimeout(() => {
      finish(fail('tunnel_hello_failed', helloSeen
        ? `the relay at ${o.at} sent its hello but no registration within ${o.timeoutMs} ms`
        : `the relay at ${o.at} accepted TLS but sent no tunnel hello within ${o.timeoutMs} ms`));
    }, o.timeoutMs);
    timer.unref();
    server.on('stream', (stream: ServerHttp2Stream, headers) => {
      const path = headers[':path'];
      readJson(stream, (body) => {
        if (path === HELLO_PATH) {
          helloSeen = true;
          relayId = typeof (body as { relay_id?: unknown })?.relay_id === 'string' ? String((body as { relay_id: string }).relay_id) : '';
          stream.respond({ ':status': 200, 'content-type': 'application/json' });
          stream.end(JSON.stringify({ connector_id: o.connectorId, location_id: o.locationId, subaccounts: [], protocol: PROTOCOL_VERSION, version: '0.1.0' }));
          return;
        }
        if (path === REGISTERED_PATH) {
          stream.respond({ ':status': 200, 'content-type': 'application/json' });
          stream.end('{}');
          const reg = body as Partial<Registration> | undefined;
          const id = relayId || (typeof reg?.relay_id === 'string' ? reg.relay_id : '');
          finish(ok(`the relay${id ? ` ${id}` : ''} at ${o.at} answered the tunnel hello (HTTP/2 over ${TUNNEL_ALPN}); doctor announced no subaccounts, so a running connector's tunnel is not disturbed`, { relay_id: id }));
          return;
        }
        stream.respond({ ':status': 404 });
        stream.end();
      });
    });
    server.on('sessionError', () => {});
    socket.once('error', (err: Error) => {
      const code = errorCode(err);
      if (CLIENT_CERT_ALERTS.test(code)) finish(fail('tls_client_cert_rejected', `the relay at ${o.at} refused this connector's certificate (${code})`, { code }));
      else finish(fail('tunnel_hello_failed', `the tunnel to the relay at ${o.at} failed before the hello: ${code || errorMessage(err)}`, { code }));
    });
    socket.once('close', () => {
      finish(fail('tunnel_hello_failed', helloSeen
        ? `the relay at ${o.at} closed the tunnel after its hello without a registration`
        : `the relay at ${o.at} closed the tunnel before its hello: it refused this connector (see "connector session refused" in the relay's log)`));
    });
    server.emit('connection', socket);
  });
}

function readJson(stream: ServerHttp2Stream, then: (body: unknown) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= 64 * 1024) chunks.push(c);
  });
  stream.on('error', () => {});
  stream.once('end', () => {
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      body = undefined;
    }
    then(body);
  });
}
