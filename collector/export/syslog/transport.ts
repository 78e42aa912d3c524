// What the exporter needs of a transport, and how socket errors become outcomes: a certificate the
// receiver or we refuse is a configuration problem (failure: retrying soon will not help), anything else
// (refused, reset, timeout, receiver restarting) is worth retrying.
import { TunnelwatchError } from '../../../common/errors.js';

export type SendResult = { readonly ok: true } | { readonly ok: false; readonly retryable: boolean; readonly reason: string };

export interface Transport {
  close(): Promise<void>;
}

/** TCP and TLS: a batch is one buffer of octet-counted frames (framing.ts), written as one. */
export interface FramedTransport extends Transport {
  /** Settles (never hangs, never throws); ok only when the whole batch counts as delivered. */
  send(frames: Buffer, signal: AbortSignal): Promise<SendResult>;
}

/** UDP: a batch is its messages, one datagram each. */
export interface DatagramTransport extends Transport {
  /** Settles (never hangs, never throws); ok only when every datagram was sent. */
  send(messages: readonly string[], signal: AbortSignal): Promise<SendResult>;
}

/** Node's and OpenSSL's codes for a certificate that does not verify, on either side. */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'INVALID_CA', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export function isCertificateError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  // TLS alerts the receiver sends when it refuses our client certificate (or has none it accepts).
  return CERTIFICATE_CODES.has(code) || /^ERR_SSL_.*ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_REQUIRED|CERTIFICATE_UNKNOWN|HANDSHAKE_FAILURE)$/.test(code);
}

export function classifySocketError(err: Error, phase: 'connecting' | 'sending'): SendResult {
  const code = (err as NodeJS.ErrnoException).code;
  const detail = `${phase}: ${err.message.trim()}${code && !err.message.includes(code) ? ` (${code})` : ''}`;
  if (isCertificateError(err)) return { ok: false, retryable: false, reason: reason('TW_ERR_SYSLOG_TLS', detail) };
  return { ok: false, retryable: true, reason: reason('TW_ERR_SYSLOG_UNREACHABLE', detail) };
}

export function reason(code: 'TW_ERR_SYSLOG_TLS' | 'TW_ERR_SYSLOG_UNREACHABLE', detail: string): string {
  return `${code}: ${new TunnelwatchError(code, detail).message}`;
}
