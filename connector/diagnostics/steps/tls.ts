// Step 3 (https, tcps): the TLS handshake with the backend, then our own judgement of what it presented.
// The handshake accepts any certificate so that one check can say everything that is wrong with it.
import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { isIP } from 'node:net';
import { errorCode, errorMessage, fail, ok, since, STEP_TIMEOUT, warn, type StepResult } from './step-kit.js';
import { asksForClientCertificate, CLIENT_CERT_ALERTS, handshake, HANDSHAKE_FAILURE_ALERT, NOT_TLS, settle, type HandshakeOptions } from './tls-handshake.js';
import { judgeCertificate } from './tls-judge.js';

export interface BackendTlsOptions {
  /** The mapping's internal host: SNI and the name the certificate must carry. */
  readonly host: string;
  /** host:port actually connected to, for messages. */
  readonly at: string;
  /** The mapping's CA file content, or undefined for the system store. */
  readonly ca?: string;
  readonly trustLabel: string;
  readonly timeoutMs: number;
  readonly now: Date;
  readonly warnDays: number;
  /** Opens another connection to the same address (for the client-certificate test). */
  readonly reconnect: () => Promise<net.Socket>;
}

export interface TlsOutcome {
  readonly result: StepResult;
  readonly socket?: TLSSocket;
  /** The handshake alone, ms (without waiting for the server's verdict on the client). */
  readonly handshakeMs: number;
}

/** Longest wait for a TLS 1.3 server's verdict on the (absent) client certificate. */
const SETTLE_GRACE_MS = 250;

export async function backendTlsStep(socket: net.Socket, o: BackendTlsOptions): Promise<TlsOutcome> {
  const hs: HandshakeOptions = { servername: isIP(o.host) ? undefined : o.host, ca: o.ca };
  const start = performance.now();
  let secure: TLSSocket;
  try {
    secure = await handshake(socket, hs, o.timeoutMs);
  } catch (err) {
    return { result: await handshakeFailure(err, hs, o), handshakeMs: since(start) };
  }
  const handshakeMs = since(start);
  const late = await settle(secure, Math.min(SETTLE_GRACE_MS, o.timeoutMs));
  if (late && CLIENT_CERT_ALERTS.test(errorCode(late))) {
    secure.destroy();
    return { result: clientCertRequired(o.at, errorCode(late), 'TLSv1.3'), handshakeMs };
  }
  const judged = judgeCertificate(secure, { host: o.host, at: o.at, ca: o.ca, trustLabel: o.trustLabel, now: o.now, warnDays: o.warnDays });
  const detail: Record<string, unknown> = { ...judged.detail, handshake_ms: handshakeMs };
  const first = judged.problems.find((p) => p.outcome === 'fail') ?? judged.problems[0];
  if (first) {
    const also = judged.problems.filter((p) => p !== first && p.outcome === 'fail').map((p) => p.classification);
    const message = also.length > 0 ? `${first.message} (also: ${also.join(', ')})` : first.message;
    const result = first.outcome === 'fail' ? fail(first.classification, message, detail) : warn(first.classification, message, detail);
    return { result, socket: secure, handshakeMs };
  }
  const days = detail.days_left as number;
  return {
    result: ok(`${String(detail.protocol)} with ${o.at}, certificate ${String(detail.subject)} issued by ${String(detail.issuer)}, trusted by ${o.trustLabel}, valid ${days} more days`, detail),
    socket: secure,
    handshakeMs,
  };
}

async function handshakeFailure(err: unknown, hs: HandshakeOptions, o: BackendTlsOptions): Promise<StepResult> {
  const code = errorCode(err);
  const detail = { code, error: errorMessage(err) };
  if (code === STEP_TIMEOUT) {
    return fail('tls_handshake_failed', `no TLS handshake with ${o.at} within ${o.timeoutMs} ms: the service may not speak TLS on this port (a plain-text service waits for its client to speak first)`, detail);
  }
  if (NOT_TLS.test(code)) {
    return fail('tls_protocol_error', `${o.at} does not speak TLS (${code}): the port serves plain text, e.g. HTTP without TLS`, detail);
  }
  if (/ALERT_CERTIFICATE_REQUIRED/.test(code)) return clientCertRequired(o.at, code, 'TLS');
  if (HANDSHAKE_FAILURE_ALERT.test(code)) {
    if (await asksForClientCertificate(o.reconnect, hs, code, o.timeoutMs)) return clientCertRequired(o.at, code, 'TLSv1.2');
    return fail('tls_handshake_failed', `${o.at} broke off the TLS handshake (${code}): no TLS version or cipher in common with the connector`, detail);
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return fail('tls_handshake_failed', `${o.at} closed the connection during the TLS handshake (${code}): it refused the handshake, or it does not speak TLS`, detail);
  }
  return fail('tls_handshake_failed', `TLS handshake with ${o.at} failed: ${code || errorMessage(err)}`, detail);
}

function clientCertRequired(at: string, code: string, how: string): StepResult {
  return fail(
    'tls_client_cert_required',
    `${at} requires a TLS client certificate: it refused the handshake without one (${code}, seen over ${how}); the connector sends none to backends`,
    { code },
  );
}
