// The TLS handshake of a check, and how it finds out whether the server asked for a client certificate.
//
// Node exposes no CertificateRequest, so it is inferred from what the server does:
//  - TLS 1.3: the client's handshake completes before the server has looked at the client's (empty)
//    Certificate message; a server that requires one then sends the alert "certificate required" (116).
//    settle() waits for that alert, or for a NewSessionTicket ('session' event: the server accepted the
//    client), for at most a short grace period. A server that sends no tickets costs the whole grace.
//  - TLS 1.2: the server sends "handshake failure" (40) during the handshake, which also means "no shared
//    cipher". A client only sends a certificate when the server asked for one, so the handshake is tried
//    again with a throwaway self-signed certificate: if the outcome changes, the server asked.
// Limits: a server that asks for a certificate, accepts none and then closes the connection in silence is
// not recognised (the probe step reports probe_closed); nor is one that asks only on renegotiation.
import type net from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { errorCode, STEP_TIMEOUT } from './step-kit.js';

export interface HandshakeOptions {
  /** SNI; undefined for IP addresses. */
  readonly servername?: string;
  readonly ca?: Buffer | string;
  readonly cert?: Buffer | string;
  readonly key?: Buffer | string;
  readonly ALPNProtocols?: string[];
}

/** Handshakes on a connected socket without judging the peer: rejectUnauthorized false, we judge later. */
export function handshake(socket: net.Socket, options: HandshakeOptions, timeoutMs: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = tls.connect({
      socket,
      servername: options.servername,
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      ALPNProtocols: options.ALPNProtocols,
      rejectUnauthorized: false,
      // The host name is judged with the chain (tls-judge.ts); here it would mask the chain's verdict.
      checkServerIdentity: () => undefined,
      minVersion: 'TLSv1.2',
    });
    const timer = setTimeout(() => {
      secure.destroy();
      const err: NodeJS.ErrnoException = new Error(`no TLS handshake within ${timeoutMs} ms`);
      err.code = STEP_TIMEOUT;
      reject(err);
    }, timeoutMs);
    timer.unref();
    const onError = (err: Error): void => {
      clearTimeout(timer);
      secure.destroy();
      reject(err);
    };
    secure.once('error', onError);
    secure.once('secureConnect', () => {
      clearTimeout(timer);
      secure.off('error', onError);
      secure.on('error', () => {});
      resolve(secure);
    });
  });
}

/**
 * TLS 1.3 only: waits until the server has shown whether it accepts the client (a session ticket, an alert,
 * a close) or the grace period passes. Resolves with the alert or socket error, if one came. Reads no
 * application data, so a banner the server sends stays for the probe.
 */
export function settle(socket: TLSSocket, graceMs: number): Promise<Error | undefined> {
  if (socket.getProtocol() !== 'TLSv1.3' || socket.destroyed) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      socket.off('session', onSession);
      socket.off('error', onError);
      socket.off('close', onClose);
      resolve(err);
    };
    // 'session' fires inside OpenSSL's read processing; a write from there (the probe's request, via the
    // promise continuation) is lost. Resolve on the next turn of the event loop instead.
    const onSession = (): void => void setImmediate(() => done());
    const onError = (err: Error): void => done(err);
    const onClose = (): void => done();
    const timer = setTimeout(() => done(), graceMs);
    timer.unref();
    socket.once('session', onSession);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

/** Alerts a server sends about the client's certificate (absent, unknown, refused). */
export const CLIENT_CERT_ALERTS = /ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|ACCESS_DENIED|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE|DECRYPT_ERROR)/;
export const HANDSHAKE_FAILURE_ALERT = /ALERT_HANDSHAKE_FAILURE/;
/** What a client sees when the port does not speak TLS at all. */
export const NOT_TLS = /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL|HTTP_REQUEST|RECORD_LAYER_FAILURE|TLSV1_ALERT_DECODE_ERROR/;

let throwaway: Promise<{ cert: string; key: string }> | undefined;

/** A self-signed certificate used only to see whether a server asks for one; made once per process. */
function throwawayCertificate(): Promise<{ cert: string; key: string }> {
  // pki.ts pulls in @peculiar/x509: load it only on this rare path.
  throwaway ??= import('../../pki/pki.js').then(async ({ createCa }) => {
    const made = await createCa({ commonName: 'tunnelwatch-check (no real identity)', validityDays: 2 });
    return { cert: made.certPem, key: made.keyPem };
  });
  return throwaway;
}

/**
 * After a handshake failure alert: does the server behave differently when offered a client certificate?
 * True means it asked for one (TLS 1.2). Never throws; false when it cannot tell.
 */
export async function asksForClientCertificate(
  reconnect: () => Promise<net.Socket>,
  options: HandshakeOptions,
  firstCode: string,
  timeoutMs: number,
): Promise<boolean> {
  let socket: net.Socket | undefined;
  try {
    const { cert, key } = await throwawayCertificate();
    socket = await reconnect();
    const secure = await handshake(socket, { ...options, cert, key }, timeoutMs);
    secure.destroy();
    return true;
  } catch (err) {
    const code = errorCode(err);
    return code !== '' && code !== firstCode && code !== STEP_TIMEOUT && !/^E(CONNREFUSED|HOSTUNREACH|NETUNREACH|TIMEDOUT)$/.test(code);
  } finally {
    socket?.destroy();
  }
}
