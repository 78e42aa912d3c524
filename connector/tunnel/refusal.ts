// The body and headers of every refusal, from relay or connector, so cloud apps can branch on them.
import type { DenyReason, ErrorType } from '../../common/audit/event.js';
import { ERRORS, type ErrorCode } from '../../common/errors.js';
import { RESPONSE_HEADERS } from './protocol.js';

export interface Refusal {
  code: ErrorCode;
  status: number;
  denyReason: DenyReason | '';
  errorType: ErrorType | '';
  detail: string;
  traceId: string;
}

export function refusal(code: ErrorCode, fields: { denyReason?: DenyReason | ''; errorType?: ErrorType | ''; detail?: string; traceId: string }): Refusal {
  return {
    code,
    status: ERRORS[code].status,
    denyReason: fields.denyReason ?? '',
    errorType: fields.errorType ?? '',
    detail: fields.detail ?? '',
    traceId: fields.traceId,
  };
}

export function refusalBody(r: Refusal): string {
  return `${JSON.stringify({
    error: {
      code: r.code,
      status: r.status,
      deny_reason: r.denyReason,
      error_type: r.errorType,
      message: ERRORS[r.code].message,
      detail: r.detail,
      trace_id: r.traceId,
    },
  })}\n`;
}

export function refusalHeaders(r: Refusal, body: string): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    [RESPONSE_HEADERS.error]: r.code,
    [RESPONSE_HEADERS.traceId]: r.traceId,
  };
  if (r.denyReason) headers[RESPONSE_HEADERS.denyReason] = r.denyReason;
  if (r.errorType) headers[RESPONSE_HEADERS.errorType] = r.errorType;
  // A concurrent call limit (rate_limited): a slot frees when any call of the app ends.
  if (r.status === 429) headers['retry-after'] = '1';
  return headers;
}
