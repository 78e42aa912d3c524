// Maps what went wrong talking to a backend onto the audit event's error_type and an error code.
import type { ErrorType } from '../../common/audit/event.js';
import type { ErrorCode } from '../../common/errors.js';

export interface BackendFailure {
  errorType: ErrorType;
  code: ErrorCode;
  detail: string;
}

/** Thrown by our own timers so the classifier can tell the two timeouts apart. */
export const CONNECT_TIMEOUT = 'TW_CONNECT_TIMEOUT';
export const RESPONSE_TIMEOUT = 'TW_RESPONSE_TIMEOUT';

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH|ERR_OSSL_)/;

export function classifyBackendError(err: NodeJS.ErrnoException, target: string): BackendFailure {
  const code = err.code ?? '';
  const detail = `${target}: ${code ? `${code} ` : ''}${err.message}`.slice(0, 300);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'EAI_NONAME') return { errorType: 'dns', code: 'TW_ERR_BACKEND_DNS', detail };
  if (code === 'ECONNREFUSED') return { errorType: 'connect_refused', code: 'TW_ERR_BACKEND_CONNECT_REFUSED', detail };
  if (code === CONNECT_TIMEOUT || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return { errorType: 'connect_timeout', code: 'TW_ERR_BACKEND_CONNECT_TIMEOUT', detail };
  if (code === RESPONSE_TIMEOUT) return { errorType: 'backend_timeout', code: 'TW_ERR_BACKEND_TIMEOUT', detail };
  if (TLS_CODES.test(code) || /certificate|ssl|tls/i.test(err.message)) return { errorType: 'tls', code: 'TW_ERR_BACKEND_TLS', detail };
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED' || err.message === 'socket hang up') return { errorType: 'reset', code: 'TW_ERR_BACKEND_RESET', detail };
  return { errorType: 'internal', code: 'TW_ERR_BACKEND_INTERNAL', detail };
}

export function timeoutError(code: typeof CONNECT_TIMEOUT | typeof RESPONSE_TIMEOUT, ms: number): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(code === CONNECT_TIMEOUT ? `no connection within ${ms} ms` : `no response within ${ms} ms`);
  err.code = code;
  return err;
}
