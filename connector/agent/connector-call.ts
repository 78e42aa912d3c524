// One call as the connector sees it: the relay's metadata, the access decision, the backend timings,
// and exactly one audit event when the stream ends.
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { AuditEmitter } from '../../common/audit/emitter.js';
import { emptyCallRecord, type CallRecord } from '../../common/audit/event.js';
import { redactQuery } from '../../common/audit/redact-query.js';
import type { Logger } from '../../common/log.js';
import { formatTraceparent, parseTraceparent } from '../../common/trace-context.js';
import type { CallSpan, CallTracer } from '../../common/tracing/call-span.js';
import type { CompiledMapping } from '../acl/policy.js';
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
  /** The connector's span for the call, a child of the relay's span (the relay is trusted: mTLS). */
  readonly span: CallSpan;
  /** The connector's client span to the backend; its id is the backend's traceparent parent. */
  private backendSpan: CallSpan | undefined;
  readonly kind: StreamKind;
  /** When the relay received the call (epoch µs), 0 if unknown: the tunnel phase is startedUs - this. */
  readonly relayReceivedUs: number;
  private done = false;

  constructor(
    readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
    private readonly audit: AuditEmitter,
    private readonly log: Logger,
    private readonly tracer: CallTracer,
  ) {
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
    this.relayReceivedUs = Number(one(headers[H.relayReceivedUs])) || 0;
    this.span = tracer.start({
      name: this.kind === 'connect' ? 'CONNECT' : one(headers[':method']),
      kind: 'server',
      parent: parseTraceparent(headers.traceparent),
      startTimeMs: this.startedUs / 1000,
      attributes: {
        'http.request.method': this.kind === 'connect' ? 'CONNECT' : one(headers[':method']),
        'client.address': r.client_ip,
        'user_agent.original': r.user_agent,
        'tunnelwatch.emitter': 'connector',
        'tunnelwatch.subaccount': r.subaccount,
        'tunnelwatch.cloud_app': r.cloud_app,
        'tunnelwatch.location_id': r.location_id,
        // The tunnel phase: relay receipt to connector receipt (clocks of two hosts: indicative).
        ...(this.relayReceivedUs ? { 'tunnelwatch.phase.tunnel_us': Math.max(0, this.startedUs - this.relayReceivedUs) } : {}),
      },
    });
    r.trace_id = this.span.traceId;
    r.span_id = this.span.spanId;
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

  /** Starts the client span to the backend and returns the traceparent the backend receives. */
  backendTraceparent(mapping: CompiledMapping, path: string): string {
    this.backendSpan = this.tracer.start({
      name: this.kind === 'connect' ? 'CONNECT' : one(this.headers[':method']),
      kind: 'client',
      parent: { traceId: this.span.traceId, parentSpanId: this.span.spanId, sampled: true },
      startTimeMs: nowUs() / 1000,
      attributes: {
        'http.request.method': this.kind === 'connect' ? 'CONNECT' : one(this.headers[':method']),
        'server.address': mapping.internalHost,
        'server.port': mapping.internalPort,
        'url.scheme': mapping.protocol,
        ...(path ? { 'url.path': path } : {}),
      },
    });
    return formatTraceparent(this.backendSpan.traceId, this.backendSpan.spanId, true);
  }

  /** Resets the stream before its last frame: the call's event is not in the audit file (finish() said so). */
  cutUnaudited(): void {
    this.log.warn({ trace_id: this.record.trace_id }, 'answer cut before its end: its audit event could not be written to disk');
    // destroy(), not close(code): close ends the stream (END_STREAM) before its RST_STREAM, and the relay
    // would pass the cut answer on as complete.
    if (!this.stream.destroyed) this.stream.destroy(new Error('answer cut: its audit event could not be written'));
  }

  /**
   * The access rules changed and no longer allow this call as it was allowed (open-calls.ts): the stream is
   * reset, which closes the backend connection too; the event keeps the rule that allowed it, with
   * error_type `reset` (the spec's values; the cause is in this log line, with the call's trace id).
   */
  revoke(why: string): void {
    const r = this.record;
    if (!r.error_type) r.error_type = 'reset';
    this.log.warn({ trace_id: r.trace_id, subaccount: r.subaccount, cloud_app: r.cloud_app, rule_id: r.rule_id, virtual_host: r.virtual_host, virtual_port: r.virtual_port, why }, 'call cut: the access rules in force no longer allow it');
    if (!this.stream.destroyed) this.stream.destroy(new Error(`access withdrawn: ${why}`));
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
      // The backend's status went out already; the body is cut short, which error_type records. A reset
      // (destroy), not close(): close would end the stream first and the cut body would look complete.
      this.stream.destroy(new Error(`answer cut: ${r.code}`));
      return;
    }
    this.record.status = r.status;
    const body = refusalBody(r);
    this.record.bytes_out += Buffer.byteLength(body);
    // Its event into the audit file first, then the answer in one go (headers, body, end in the same turn).
    this.finish({ writeNow: true });
    this.stream.respond({ ':status': r.status, ...refusalHeaders(r, body) });
    this.stream.end(body);
    this.releaseAfterAnswer();
  }

  /**
   * A CONNECT or Upgrade request has no end of its own (its body would be the tunnel), so once a complete
   * answer that opens no tunnel has been sent (a refusal, or a backend that did not switch protocols), the
   * request side is released with RST_STREAM NO_ERROR, as RFC 9113 8.1 allows after a complete response.
   * Otherwise the stream stays open at both ends for good, and with it the call's limit slot
   * (connector/acl/limits.ts) and one of the session's streams.
   */
  releaseAfterAnswer(): void {
    if (this.kind === 'http') return;
    const stream = this.stream;
    stream.once('finish', () => {
      if (!stream.destroyed && !stream.readableEnded) stream.close();
    });
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
    this.refuse(refusal(code, { denyReason: d.denyReason, detail: d.detail, traceId: this.span.traceId }));
  }

  failBackend(f: BackendFailure): void {
    this.refuse(refusal(f.code, { errorType: f.errorType, detail: f.detail, traceId: this.span.traceId }));
  }

  traceHeader(): Record<string, string> {
    return { [RESPONSE_HEADERS.traceId]: this.span.traceId };
  }

  private endSpans(): void {
    const r = this.record;
    const failed = r.error_type !== '' || r.status >= 500;
    if (this.backendSpan) {
      if (r.status) this.backendSpan.setAttribute('http.response.status_code', r.status);
      this.backendSpan.setAttribute('tunnelwatch.phase.backend_connect_us', r.backend_connect_us);
      this.backendSpan.setAttribute('tunnelwatch.phase.backend_ttfb_us', r.backend_ttfb_us);
      if (r.error_type) this.backendSpan.setAttribute('error.type', r.error_type);
      this.backendSpan.end(failed ? { error: true, message: r.error_type } : undefined);
    }
    const span = this.span;
    span.setAttribute('server.address', r.virtual_host);
    span.setAttribute('server.port', r.virtual_port);
    if (r.path) span.setAttribute('url.path', r.path);
    if (r.query) span.setAttribute('url.query', r.query);
    if (r.status) span.setAttribute('http.response.status_code', r.status);
    span.setAttribute('tunnelwatch.decision', r.decision);
    if (r.rule_id) span.setAttribute('tunnelwatch.rule_id', r.rule_id);
    if (r.deny_reason) span.setAttribute('tunnelwatch.deny_reason', r.deny_reason);
    if (r.error_type) span.setAttribute('error.type', r.error_type);
    span.setAttribute('http.request.body.size', r.bytes_in);
    span.setAttribute('http.response.body.size', r.bytes_out);
    span.end(failed ? { error: true, message: r.error_type } : undefined);
  }

  /**
   * Emits the audit event, once: when the call's answer is complete (writeNow: the event is handed to the
   * OS before the stream's last frame is, so a connector killed in between leaves an event for a call
   * whose answer was cut short, never a completed call without its event), or when the stream closes.
   * Returns false when the event could not be kept, or (writeNow) not handed to the OS: the disk refuses
   * writes, and the caller must then not see the call complete (forward-http.ts cuts the stream).
   */
  finish(options: { writeNow?: boolean } = {}): boolean {
    if (this.done) return true;
    this.done = true;
    this.record.duration_us = Math.max(0, nowUs() - this.startedUs);
    this.endSpans();
    try {
      this.audit.emit(this.record);
      return options.writeNow ? this.audit.writeNow() : true;
    } catch (err) {
      this.log.error({ err: (err as Error).message, trace_id: this.record.trace_id }, 'audit event could not be written');
      return false;
    }
  }
}
