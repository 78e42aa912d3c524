// One call as the relay sees it: what it parsed, who sent it, and the audit event if the relay refuses it.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { AuditEmitter } from '../../common/audit/emitter.js';
import type { CallObservation } from '../../common/ops/tunnel-metrics.js';
import { emptyCallRecord, type CallRecord, type DenyReason, type ErrorType } from '../../common/audit/event.js';
import { redactQuery } from '../../common/audit/redact-query.js';
import type { ErrorCode } from '../../common/errors.js';
import { formatTraceparent, parseTraceparent, type TraceContext } from '../../common/trace-context.js';
import type { CallSpan, CallTracer } from '../../common/tracing/call-span.js';
import { normalizeAuthority, normalizePath } from '../acl/normalize-path.js';
import { nowUs } from '../tunnel/protocol.js';
import { refusal, refusalBody, refusalHeaders, type Refusal } from '../tunnel/refusal.js';
import { proxiedClientIp } from './proxy-protocol.js';
import type { TokenIdentity } from './token-store.js';

export type CallKind = 'http' | 'connect' | 'upgrade';

const LOCATION_ID = /^([A-Za-z0-9][A-Za-z0-9._-]{0,63})?$/;
const MAX_PRINCIPAL = 256;
/**
 * The characters of an RFC 3986 authority (unreserved, percent-encoded, sub-delims, ":", "@", "[", "]"):
 * what the tunnel's HTTP/2 :authority can carry. Anything else is refused here, with an event: forwarded,
 * the connector's HTTP/2 layer would reset the stream before its access rules ran, and the call would
 * look like a broken tunnel. Within these characters the connector decides (userinfo, ports, dots).
 */
const AUTHORITY = /^[A-Za-z0-9\-._~!$&'()*+,;=:@[\]%]+$/;
/** Request headers the relay reads that must come once: a second copy would be joined or dropped by Node's parser, and which one counts would be ambiguous. */
const SINGLE_HEADERS = ['proxy-authorization', 'x-tunnel-location-id', 'x-tunnel-principal'] as const;

export function clientIpOf(socket: Socket): string {
  // Behind a trusted load balancer, the client address its PROXY protocol header gave (proxy-protocol.ts).
  const proxied = proxiedClientIp(socket);
  if (proxied !== undefined) return proxied;
  const ip = socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

export class RelayCall {
  readonly startedUs = nowUs();
  /** Receipt time (epoch ms); turned into the event's ts only if the relay writes an event. */
  private readonly receivedMs = Date.now();
  readonly record: CallRecord = emptyCallRecord();
  /** The cloud app's trace context, adopted once the app is authenticated. */
  private incoming: TraceContext | undefined;
  private callSpan: CallSpan | undefined;
  private spanEnded = false;
  identity: TokenIdentity | undefined;
  /** host:port the cloud app asked for. */
  authority = '';
  /** origin-form target (path?query) as received; '' for CONNECT. */
  target = '';
  locationId = '';
  principal = '';

  constructor(readonly kind: CallKind, readonly req: IncomingMessage, secretQueryParams: readonly string[], private readonly tracer: CallTracer, private readonly onDone?: (call: CallObservation) => void) {
    const r = this.record;
    r.client_ip = clientIpOf(req.socket);
    r.method = kind === 'connect' ? '' : (req.method ?? '');
    r.protocol = kind === 'connect' ? 'tcp' : 'http';
    r.user_agent = typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : '';
    this.secretQueryParams = secretQueryParams;
  }

  private readonly secretQueryParams: readonly string[];

  /** Parses the request target. Returns the reason when it is not something the relay can route. */
  parseTarget(): { code: ErrorCode; detail: string } | undefined {
    const url = this.req.url ?? '';
    if (!/^[\x21-\x7e]+$/.test(url)) return { code: 'TW_ERR_PROXY_MALFORMED_REQUEST', detail: 'the request target holds bytes outside printable ASCII' };
    if (this.kind === 'connect') {
      if (/[/?#]/.test(url)) return { code: 'TW_ERR_PROXY_MALFORMED_REQUEST', detail: `a CONNECT target is host:port, without a scheme, path or query; got "${url.slice(0, 100)}"` };
      this.authority = url;
    } else {
      const m = /^http:\/\/([^/?#]*)([^#]*)$/i.exec(url);
      if (!m) {
        if (/^https:\/\//i.test(url)) return { code: 'TW_ERR_PROXY_MALFORMED_REQUEST', detail: 'https:// targets are not proxied: send http://virtual-host:port/...; the connector speaks HTTPS to backends whose mapping says https' };
        if (url.includes('#')) return { code: 'TW_ERR_PROXY_MALFORMED_REQUEST', detail: 'a fragment (#) is not allowed in a request target' };
        return { code: 'TW_ERR_PROXY_NOT_ABSOLUTE_FORM', detail: `got "${url.slice(0, 100)}"` };
      }
      this.authority = m[1] as string;
      const rest = m[2] as string;
      this.target = rest === '' ? '/' : rest.startsWith('?') ? `/${rest}` : rest;
    }
    if (this.authority === '') return { code: 'TW_ERR_PROXY_MALFORMED_REQUEST', detail: 'the request target names no host' };
    if (!AUTHORITY.test(this.authority)) return { code: 'TW_ERR_PROXY_MALFORMED_REQUEST', detail: `the host:port of the target holds characters an authority cannot have; got "${this.authority.slice(0, 100)}"` };
    return undefined;
  }

  /** Fills the audit fields that describe what was asked for, best effort (the connector decides). */
  private describeTarget(): void {
    const r = this.record;
    // The same reading of the authority as the connector's decision, so both ends' events agree.
    const authority = normalizeAuthority(this.authority, this.kind === 'connect' ? undefined : 80);
    if (authority.ok) {
      r.virtual_host = authority.host;
      r.virtual_port = authority.port;
    }
    if (this.target) {
      const q = this.target.indexOf('?');
      const normalised = normalizePath(q === -1 ? this.target : this.target.slice(0, q));
      r.path = normalised.ok ? normalised.path : '';
      r.query = q === -1 ? '' : redactQuery(this.target.slice(q + 1), this.secretQueryParams);
    }
  }

  /** Reads location id and principal headers; returns a detail string when they are malformed. */
  parseTunnelHeaders(): string | undefined {
    for (const name of SINGLE_HEADERS) {
      if ((this.req.headersDistinct[name]?.length ?? 0) > 1) return `${name} must be sent once`;
    }
    const loc = this.req.headers['x-tunnel-location-id'];
    if (loc !== undefined) {
      if (typeof loc !== 'string' || !LOCATION_ID.test(loc)) return 'X-Tunnel-Location-Id must be 1-64 letters, digits, ".", "_" or -';
      this.locationId = loc;
      this.record.location_id = loc;
    }
    const principal = this.req.headers['x-tunnel-principal'];
    if (principal !== undefined) {
      if (typeof principal !== 'string' || principal.length > MAX_PRINCIPAL) return `X-Tunnel-Principal must be one value of at most ${MAX_PRINCIPAL} characters`;
      this.principal = principal;
      this.record.principal = principal;
    }
    return undefined;
  }

  authenticated(identity: TokenIdentity): void {
    this.identity = identity;
    this.record.subaccount = identity.subaccount;
    this.record.cloud_app = identity.cloudApp;
    // Only an authenticated app's traceparent is continued: unauthenticated traffic cannot write into
    // anyone's trace. An invalid one is ignored and a new trace starts (docs/tracing.md).
    this.incoming = parseTraceparent(this.req.headers.traceparent);
  }

  /** The relay's span for this call, started (back-dated to receipt) once the trace context is known. */
  span(): CallSpan {
    if (!this.callSpan) {
      const r = this.record;
      this.callSpan = this.tracer.start({
        name: this.kind === 'connect' ? 'CONNECT' : (this.req.method ?? 'HTTP'),
        kind: 'server',
        parent: this.incoming,
        startTimeMs: this.startedUs / 1000,
        attributes: {
          'http.request.method': this.req.method ?? '',
          'client.address': r.client_ip,
          'user_agent.original': r.user_agent,
          'tunnelwatch.emitter': 'relay',
          'tunnelwatch.subaccount': r.subaccount,
          'tunnelwatch.cloud_app': r.cloud_app,
          'tunnelwatch.location_id': this.locationId,
        },
      });
      r.trace_id = this.callSpan.traceId;
      r.span_id = this.callSpan.spanId;
    }
    return this.callSpan;
  }

  /** Ends the relay's span with what the cloud app got. */
  finishSpan(status: number, failure?: { denyReason?: string; errorType?: string; detail?: string }): void {
    if (this.spanEnded) return;
    this.spanEnded = true;
    const span = this.span();
    if (status) span.setAttribute('http.response.status_code', status);
    if (failure?.denyReason) span.setAttribute('tunnelwatch.deny_reason', failure.denyReason);
    if (failure?.errorType) span.setAttribute('error.type', failure.errorType);
    span.end(status >= 500 || failure?.errorType ? { error: true, message: failure?.detail } : undefined);
    // Every call ends here once, whether it crossed the tunnel (the connector writes its event) or the
    // relay refused it (the relay writes one): the one place to count them all.
    this.onDone?.({ subaccount: this.record.subaccount, decision: failure?.denyReason ? 'deny' : 'allow', status, error_type: failure?.errorType ?? '', deny_reason: failure?.denyReason ?? '', duration_us: Math.max(0, nowUs() - this.startedUs) });
  }

  /** The traceparent the connector receives: this call's trace, with the relay's span as parent. */
  traceparent(): string {
    const span = this.span();
    return formatTraceparent(span.traceId, span.spanId, true);
  }

  refusal(code: ErrorCode, denyReason: DenyReason | '', errorType: ErrorType | '', detail: string): Refusal {
    return refusal(code, { denyReason, errorType, detail, traceId: this.span().traceId });
  }

  /** Emits the relay's audit event for a call it refused or could not complete. */
  audit(emitter: AuditEmitter, r: Refusal, bytes: { in: number; out: number } = { in: 0, out: 0 }): void {
    const rec = this.record;
    // Done here, not on every call: most calls cross the tunnel and only the connector writes their event.
    rec.ts = new Date(this.receivedMs).toISOString();
    this.describeTarget();
    rec.duration_us = Math.max(0, nowUs() - this.startedUs);
    // A refusal without a deny reason (tunnel_down, timeout) happened after the relay routed the call.
    rec.decision = r.denyReason ? 'deny' : 'allow';
    rec.deny_reason = r.denyReason;
    rec.error_type = r.errorType;
    rec.status = this.kind === 'connect' && r.status < 400 ? 0 : r.status;
    rec.bytes_in = bytes.in;
    rec.bytes_out = bytes.out;
    this.span().setAttribute('server.address', rec.virtual_host);
    this.span().setAttribute('server.port', rec.virtual_port);
    if (rec.path) this.span().setAttribute('url.path', rec.path);
    this.finishSpan(r.status, { denyReason: r.denyReason, errorType: r.errorType, detail: r.detail });
    emitter.emit(rec);
  }
}

export function renderRefusal(r: Refusal): { status: number; headers: Record<string, string>; body: string } {
  const body = refusalBody(r);
  return { status: r.status, headers: refusalHeaders(r, body), body };
}
