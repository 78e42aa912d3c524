// One call as the connector sees it: the relay's metadata, the access decision, the backend timings,
// and exactly one audit event when the stream ends.
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { AuditEmitter } from '../../common/audit/emitter.js';
import { emptyCallRecord, type CallRecord } from '../../common/audit/event.js';
import { redactQuery } from '../../common/audit/redact-query.js';
import type { Logger } from '../../common/log.js';
import { formatTraceparent, newSpanId, newTraceContext, parseTraceparent, type TraceContext } from '../../common/trace-context.js';
import type { AccessDecision, AccessRequest } from '../acl/decide.js';
import { H, RESPONSE_HEADERS, nowUs } from '../tunnel/protocol.js';
import { refusal, refusalBody, refusalHeaders, type Refusal } from '../tunnel/refusal.js';
import type { BackendFailure } from './backend-errors.js';

export type StreamKind = 'http' | 'connect' | 'upgrade';

function one(value: string | string[] | undefined): string {
  return typeof value === 'string' ? value : '';
}

export class ConnectorCall {
  readonly startedUs = nowUs();
  readonly record: CallRecord = emptyCallRecord();
  readonly trace: TraceContext;
  readonly spanId = newSpanId();
  /** Span of the connector's client call to the backend (sent as the backend's traceparent parent). */
  readonly backendSpanId = newSpanId();
  readonly kind: StreamKind;
  /** When the relay received the call (epoch µs), 0 if unknown: the tunnel phase is startedUs - this. */
  readonly relayReceivedUs: number;
  private done = false;

  constructor(readonly stream: ServerHttp2Stream, readonly headers: IncomingHttpHeaders, private readonly audit: AuditEmitter, private readonly log: Logger) {
    const kind = one(headers[H.kind]);
    this.kind = kind === 'connect' || kind === 'upgrade' ? kind : 'http';
    const r = this.record;
    r.ts = new Date().toISOString();
    r.subaccount = one(headers[H.subaccount]);
    r.cloud_app = one(headers[H.cloudApp]);
    r.principal = one(headers[H.principal]);
    r.client_ip = one(headers[H.clientIp]);
    r.location_id = one(headers[H.locationId]);
    r.method = this.kind === 'connect' ? '' : one(headers[':method']);
    r.protocol = this.kind === 'connect' ? 'tcp' : 'http';
    r.user_agent = one(headers['user-agent']);
    this.trace = parseTraceparent(headers.traceparent) ?? newTraceContext();
    r.trace_id = this.trace.traceId;
    r.span_id = this.spanId;
    this.relayReceivedUs = Number(one(headers[H.relayReceivedUs])) || 0;
  }

  accessRequest(): AccessRequest {
    return {
      subaccount: this.record.subaccount,
      cloudApp: this.record.cloud_app,
      kind: this.kind === 'connect' ? 'connect' : 'http',
      method: one(this.headers[':method']),
      authority: one(this.headers[':authority']),
      target: this.kind === 'connect' ? '' : one(this.headers[':path']),
      upgrade: this.kind === 'upgrade',
    };
  }

  applyDecision(d: AccessDecision, secretQueryParams: readonly string[]): void {
    const r = this.record;
    r.decision = d.decision;
    r.deny_reason = d.denyReason;
    r.rule_id = d.ruleId;
    r.virtual_host = d.virtualHost;
    r.virtual_port = d.virtualPort;
    r.path = d.path;
    r.query = d.query ? redactQuery(d.query, secretQueryParams) : '';
    if (d.mapping) {
      r.protocol = d.mapping.protocol;
      r.internal_host = d.mapping.internalHost;
      r.internal_port = d.mapping.internalPort;
    }
  }

  backendTraceparent(): string {
    return formatTraceparent(this.trace.traceId, this.backendSpanId, this.trace.sampled);
  }

  /** The relay gave up on the call (the cloud app left, or its request was malformed mid-body). */
  abandoned(): void {
    this.callerGone = true;
    if (!this.record.error_type) this.record.error_type = 'reset';
  }

  private callerGone = false;

  /** Answers the stream with a refusal (denial or backend failure) unless a response already started. */
  refuse(r: Refusal): void {
    if (r.errorType && !this.record.error_type) this.record.error_type = r.errorType;
    // Nothing reaches a caller that is gone: keep what happened to the call, not a status it never got.
    if (this.callerGone || this.stream.destroyed || this.stream.closed) return;
    if (this.stream.headersSent) {
      // The backend's status went out already; the body is cut short, which error_type records.
      this.stream.close();
      return;
    }
    this.record.status = r.status;
    const body = refusalBody(r);
    this.stream.respond({ ':status': r.status, ...refusalHeaders(r, body) });
    this.stream.end(body);
    this.record.bytes_out += Buffer.byteLength(body);
  }

  deny(d: AccessDecision): void {
    const code = ({
      app_not_trusted: 'TW_ERR_ACL_APP_NOT_TRUSTED',
      no_mapping: 'TW_ERR_ACL_NO_MAPPING',
      protocol_not_allowed: this.kind === 'upgrade' && d.detail.startsWith('websocket upgrade') ? 'TW_ERR_ACL_UPGRADE_NOT_ALLOWED' : 'TW_ERR_ACL_PROTOCOL_NOT_ALLOWED',
      path_not_allowed: 'TW_ERR_ACL_PATH_NOT_ALLOWED',
      method_not_allowed: 'TW_ERR_ACL_METHOD_NOT_ALLOWED',
      resource_suspended: 'TW_ERR_ACL_RESOURCE_SUSPENDED',
      malformed_request: 'TW_ERR_ACL_MALFORMED_REQUEST',
      rate_limited: 'TW_ERR_ACL_RATE_LIMITED',
      unauthenticated: 'TW_ERR_PROXY_UNAUTHENTICATED',
      no_connector: 'TW_ERR_PROXY_NO_CONNECTOR',
    } as const)[d.denyReason || 'no_mapping'];
    this.refuse(refusal(code, { denyReason: d.denyReason, detail: d.detail, traceId: this.trace.traceId }));
  }

  failBackend(f: BackendFailure): void {
    this.refuse(refusal(f.code, { errorType: f.errorType, detail: f.detail, traceId: this.trace.traceId }));
  }

  traceHeader(): Record<string, string> {
    return { [RESPONSE_HEADERS.traceId]: this.trace.traceId };
  }

  /** Emits the audit event; called once, when the stream has closed. */
  finish(): void {
    if (this.done) return;
    this.done = true;
    this.record.duration_us = Math.max(0, nowUs() - this.startedUs);
    try {
      this.audit.emit(this.record);
    } catch (err) {
      this.log.error({ err: (err as Error).message, trace_id: this.record.trace_id }, 'audit event could not be written');
    }
  }
}
