// What one bulk send achieved, record by record, turned into the runner's ExportOutcome
// (collector/export/types.ts):
//   201 created, 409 version_conflict (the _id is already there)       -> delivered
//   429, 5xx item, or never answered (connection lost, aborted)        -> pending: retryable
//   401/403 item, 404 index_not_found, missing pipeline, not a stream   -> failure: configuration
//   any other 4xx item (400 document_parsing_exception, ...)          -> dead letter with ES's reason
// and for the whole call: 401/403 and other 4xx -> failure, 429/5xx/connection/timeout -> retryable,
// a certificate that does not verify -> failure. Reasons carry Elasticsearch's own error type and
// reason, never credentials (the client never puts request headers in its errors).
import { errors } from '@elastic/elasticsearch';
import { ERRORS, type ErrorCode } from '../../../common/errors.js';
import type { DeadLetter, ExportOutcome } from '../types.js';

export interface ItemError {
  readonly type?: string;
  readonly reason?: string | null;
  readonly caused_by?: { readonly type?: string; readonly reason?: string | null };
}

const MAX_REASON = 1000;

const coded = (code: ErrorCode, detail: string): string => `${code}: ${ERRORS[code].message} (${detail})`.slice(0, MAX_REASON * 2);

export function describeItemError(status: number, error: ItemError | null | undefined): string {
  if (!error) return `Elasticsearch ${status}`;
  const cause = error.caused_by ? ` (caused by ${error.caused_by.type ?? 'error'}: ${error.caused_by.reason ?? ''})` : '';
  return `Elasticsearch ${status} ${error.type ?? 'error'}: ${error.reason ?? ''}${cause}`.slice(0, MAX_REASON);
}

/** Item errors that no resend can cure but a fix of the cluster or the configuration will. */
function configurationProblem(status: number, error: ItemError | null | undefined): ErrorCode | undefined {
  if (status === 401 || status === 403) return 'TW_ERR_ES_UNAUTHORISED';
  if (status === 404) return 'TW_ERR_ES_NOT_SET_UP';
  const reason = error?.reason ?? '';
  if (/pipeline with id \[[^\]]*\] does not exist/.test(reason)) return 'TW_ERR_ES_NOT_SET_UP';
  if (/requires a data stream|only write ops with an op_type of create are allowed in data streams/.test(reason)) return 'TW_ERR_ES_NOT_SET_UP';
  return undefined;
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED',
]);

function tlsProblem(err: Error): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code && TLS_CODES.has(code)) return true;
  }
  return /self[- ]signed certificate|unable to verify the first certificate|certificate has expired|Hostname\/IP does not match|certificate required|bad certificate|unknown ca/i.test(err.message);
}

/** failure or retryable for an error that rejected the whole call (or a setup request). */
export function classifyCallError(err: unknown): { status: 'failure' | 'retryable'; code: ErrorCode; detail: string } {
  if (err instanceof errors.ResponseError) {
    const body = err.body as { error?: ItemError | string } | undefined;
    const detail = typeof body?.error === 'object' ? describeItemError(err.statusCode ?? 0, body.error) : `Elasticsearch ${err.statusCode ?? '?'}`;
    const status = err.statusCode ?? 0;
    if (status === 401 || status === 403) return { status: 'failure', code: 'TW_ERR_ES_UNAUTHORISED', detail };
    if (status === 429 || status === 408 || status >= 500) return { status: 'retryable', code: 'TW_ERR_ES_UNREACHABLE', detail };
    if (status === 413) return { status: 'failure', code: 'TW_ERR_ES_REJECTED', detail: `${detail}; lower flush_bytes` };
    return { status: 'failure', code: 'TW_ERR_ES_REJECTED', detail };
  }
  if (err instanceof errors.ProductNotSupportedError) return { status: 'failure', code: 'TW_ERR_ES_NOT_ELASTICSEARCH', detail: err.message };
  if (err instanceof Error && tlsProblem(err)) return { status: 'failure', code: 'TW_ERR_ES_TLS', detail: err.message };
  if (err instanceof errors.TimeoutError) return { status: 'retryable', code: 'TW_ERR_ES_UNREACHABLE', detail: `no answer in time (request_timeout_ms): ${err.message}` };
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { status: 'retryable', code: 'TW_ERR_ES_UNREACHABLE', detail: message };
}

/** Collects the answer for each record id of one send. */
export class BulkTally {
  private readonly delivered = new Set<string>();
  private readonly dead = new Map<string, string>();
  private readonly retry = new Map<string, string>();
  private failure: string | undefined;

  constructor(private readonly ids: readonly string[]) {}

  private readonly dropped = new Set<string>();

  /** Every item was answered: those not dropped were created. */
  allAnswered(): void {
    for (const id of this.ids) if (!this.dropped.has(id)) this.delivered.add(id);
  }

  drop(id: string, status: number, error: ItemError | null | undefined): void {
    this.dropped.add(id);
    if (status === 409) {
      this.delivered.add(id);
      return;
    }
    const problem = configurationProblem(status, error);
    if (problem) {
      this.failure ??= coded(problem, describeItemError(status, error));
    } else if (status === 429 || status >= 500) {
      this.retry.set(id, describeItemError(status, error));
    } else {
      this.dead.set(id, describeItemError(status, error));
    }
  }

  /** A record that never reached Elasticsearch (e.g. it cannot be mapped) and never will. */
  reject(id: string, reason: string): void {
    this.dead.set(id, reason);
  }

  outcome(callError?: unknown): ExportOutcome {
    if (this.failure) return { status: 'failure', reason: this.failure };
    let reason: string | undefined;
    if (callError !== undefined) {
      const c = classifyCallError(callError);
      if (c.status === 'failure') return { status: 'failure', reason: coded(c.code, c.detail) };
      reason = coded(c.code, c.detail);
    }
    const dead: DeadLetter[] = [...this.dead].map(([id, r]) => ({ id, reason: r }));
    const pending = [...new Set(this.ids)].filter((id) => !this.delivered.has(id) && !this.dead.has(id));
    if (pending.length === 0) return dead.length > 0 ? { status: 'success', dead } : { status: 'success' };
    reason ??= this.retry.size > 0
      ? `${this.retry.size} of ${this.ids.length} records refused for now: ${this.retry.values().next().value as string}`
      : `${pending.length} of ${this.ids.length} records not answered (send aborted)`;
    return { status: 'retryable', reason, pending, ...(dead.length > 0 ? { dead } : {}) };
  }
}
