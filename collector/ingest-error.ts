// A refused ingest request. Routes throw it; collector/app.ts renders it the way the route's protocol
// expects: a google.rpc.Status for OTLP, `{"error":{...}}` for the audit NDJSON endpoint.
import { ERRORS, TunnelwatchError, type ErrorCode } from '../common/errors.js';

export class IngestError extends TunnelwatchError {
  /** What exactly was wrong, for the sender (never a secret). */
  readonly reason: string;
  /** 1-based line of an NDJSON body. */
  readonly line: number | undefined;
  /** Seconds, sent as Retry-After. */
  readonly retryAfterS: number | undefined;

  constructor(code: ErrorCode, reason: string, extra: { line?: number; retryAfterS?: number; cause?: unknown } = {}) {
    super(code, reason, { cause: extra.cause });
    this.reason = reason;
    this.line = extra.line;
    this.retryAfterS = extra.retryAfterS;
  }

  /** The JSON body of the audit endpoint (and of requests that are not OTLP). */
  toJSON(): { error: Record<string, unknown> } {
    return {
      error: {
        code: this.code,
        status: this.status,
        message: ERRORS[this.code].message,
        ...(this.line !== undefined ? { line: this.line } : {}),
        reason: this.reason,
      },
    };
  }

  /** The google.rpc.Code that goes with the HTTP status in an OTLP failure response. */
  get grpcCode(): number {
    switch (this.status) {
      case 401: return 16; // UNAUTHENTICATED
      case 403: return 7; // PERMISSION_DENIED
      case 429: return 8; // RESOURCE_EXHAUSTED
      case 503: return 14; // UNAVAILABLE
      case 500: return 13; // INTERNAL
      default: return 3; // INVALID_ARGUMENT
    }
  }
}

/** A refusal of the ingest queue (full, store down or failing) as the error the route throws. */
export function refusalError(refusal: { code: ErrorCode; reason: string; retryAfterS: number | undefined }): IngestError {
  return new IngestError(refusal.code, refusal.reason, refusal.retryAfterS === undefined ? {} : { retryAfterS: refusal.retryAfterS });
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message: string;
}

/** Maps errors fastify raises before a handler runs (body limit, media type) to ingest errors. */
export function toIngestError(err: unknown): IngestError | undefined {
  if (err instanceof IngestError) return err;
  const e = err as FastifyLikeError;
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new IngestError('TW_ERR_INGEST_TOO_LARGE', 'the request body exceeds collector.max_body_bytes');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new IngestError('TW_ERR_INGEST_UNSUPPORTED_MEDIA_TYPE', e.message);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_TYPE':
      return new IngestError('TW_ERR_INGEST_MALFORMED', e.message);
    default:
      if (e?.statusCode === 413) return new IngestError('TW_ERR_INGEST_TOO_LARGE', e.message);
      return undefined;
  }
}
