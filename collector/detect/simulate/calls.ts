// One simulated call as the emitter that writes it would record it: the connector for calls that reached
// it (allowed, denied by the rules, failed at the backend), the relay for what it refused itself.
import { emptyCallRecord, type CallRecord, type DenyReason, type ErrorType } from '../../../common/audit/event.js';
import type { EndpointSpec } from './catalog.js';
import type { Backend, Resource, Subaccount } from './profiles.js';
import { hex, logNormal, zipfRank, type Rng } from './random.js';

export interface SimCall {
  /** Epoch ms, kept apart from record.ts so that calls sort without parsing. */
  readonly t: number;
  readonly record: CallRecord;
  readonly emitter: 'relay' | 'connector';
  /** Connector id, or '' to let the router pick a relay by client address. */
  readonly emitterId: string;
  /** '' for normal traffic; the injection's id otherwise (tests and counts use it, it is not written). */
  readonly source: string;
}

export interface Caller {
  readonly sub: Subaccount;
  readonly app: string;
  readonly principal: string;
  readonly ip: string;
  readonly userAgent: string;
}

export function connectorId(sub: Subaccount, locationId: string): string {
  return locationId === '' ? `cc-${sub.name}` : `cc-${sub.name}-${locationId}`;
}

/** `{id}` and `{page}` filled in: ids with Zipf popularity (a few hot business objects, a long tail). */
export function concretePath(rng: Rng, template: string, ids: number, idOverride?: number): string {
  if (!template.includes('{')) return template;
  const id = idOverride ?? 100_000 + zipfRank(rng, ids, 1.05);
  return template.replace('{id}', String(id));
}

function concreteQuery(rng: Rng, template: string | undefined): string {
  if (!template) return '';
  return template.replace('{page}', String(Math.floor(Math.pow(rng(), 3) * 20) * 50));
}

function base(rng: Rng, t: number, caller: Caller): CallRecord {
  return {
    ...emptyCallRecord(),
    ts: new Date(t).toISOString(),
    subaccount: caller.sub.name,
    cloud_app: caller.app,
    principal: caller.principal,
    client_ip: caller.ip,
    user_agent: caller.userAgent,
    trace_id: hex(rng, 32),
    span_id: hex(rng, 16),
  };
}

function routed(record: CallRecord, backend: Backend): void {
  record.protocol = backend.protocol;
  record.virtual_host = backend.virtualHost;
  record.virtual_port = backend.virtualPort;
  record.internal_host = backend.internalHost;
  record.internal_port = backend.internalPort;
  record.location_id = backend.locationId;
}

export interface HttpCallOptions {
  readonly path?: string;
  readonly query?: string;
  /** Multiplies the endpoint's median response size. */
  readonly bytesFactor?: number;
  readonly status?: number;
}

/** An allowed HTTP call answered by the backend. */
export function allowedCall(rng: Rng, t: number, caller: Caller, resource: Resource, endpoint: EndpointSpec, source = '', options: HttpCallOptions = {}): SimCall {
  const backend = resource.backend;
  const r = base(rng, t, caller);
  routed(r, backend);
  r.method = endpoint.method;
  r.path = options.path ?? concretePath(rng, endpoint.path, backend.domain.ids);
  r.query = options.query ?? concreteQuery(rng, endpoint.query);
  r.decision = 'allow';
  r.rule_id = resource.ruleId;
  r.status = options.status ?? endpoint.status ?? 200;
  r.bytes_in = endpoint.bytesIn ? Math.round(logNormal(rng, endpoint.bytesIn, 0.5)) : 0;
  r.bytes_out = r.status === 404 ? 120 : r.status === 204 ? 0 : Math.round(logNormal(rng, endpoint.bytesOut * (options.bytesFactor ?? 1), 0.45));
  r.backend_connect_us = rng() < 0.85 ? Math.round(40 + rng() * 250) : Math.round(logNormal(rng, 1800 * backend.latency, 0.4));
  r.backend_ttfb_us = Math.round(logNormal(rng, endpoint.ttfbMs * 1000 * backend.latency, 0.5));
  // Transfer at roughly 40 MB/s through the tunnel, plus the tunnel's own few hundred µs.
  r.duration_us = r.backend_connect_us + r.backend_ttfb_us + Math.round(r.bytes_out / 40) + Math.round(300 + rng() * 900);
  return { t, record: r, emitter: 'connector', emitterId: connectorId(caller.sub, backend.locationId), source };
}

const ERROR_STATUS: Record<string, number> = { connect_refused: 502, connect_timeout: 504, backend_timeout: 504, reset: 502, dns: 502, tls: 502 };

/** The same call, failed at the backend. */
export function failed(call: SimCall, errorType: ErrorType, rng: Rng): SimCall {
  const r = { ...call.record };
  r.error_type = errorType;
  r.status = ERROR_STATUS[errorType] ?? 502;
  r.bytes_out = 0;
  r.backend_ttfb_us = 0;
  if (errorType === 'connect_refused' || errorType === 'dns' || errorType === 'connect_timeout') r.backend_connect_us = 0;
  r.duration_us = errorType === 'backend_timeout' ? 30_000_000 + Math.round(rng() * 50_000)
    : errorType === 'connect_timeout' ? 5_000_000 + Math.round(rng() * 20_000)
      : Math.round(500 + rng() * 3000);
  return { ...call, record: r };
}

/**
 * The same call answered by the backend itself with a server error (a 5xx status, error_type '': it did
 * answer). `u` in [0, 1) varies the size of the error page and the time to it.
 */
export function serverError(call: SimCall, status: number, u: number, source = call.source): SimCall {
  const r = { ...call.record };
  r.status = status;
  r.error_type = '';
  r.bytes_out = Math.round(250 + 200 * u);
  r.backend_ttfb_us = Math.round((status === 503 ? 1_500 : 30_000) * (0.5 + u));
  r.duration_us = r.backend_connect_us + r.backend_ttfb_us + Math.round(300 + 900 * u);
  return { ...call, record: r, source };
}

/** A number in [0, 1) from a text (FNV-1a): decisions of normal traffic that must not draw from its random stream. */
export function unitHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 4294967296;
}

/** The connector refused the call by its rules (the mapping is known unless the reason is before it). */
export function deniedCall(rng: Rng, t: number, caller: Caller, backend: Backend, method: string, path: string, reason: DenyReason, source = ''): SimCall {
  const r = base(rng, t, caller);
  routed(r, backend);
  if (reason === 'no_mapping' || reason === 'app_not_trusted') {
    r.internal_host = '';
    r.internal_port = 0;
  }
  r.method = backend.protocol === 'tcp' ? '' : method;
  r.path = backend.protocol === 'tcp' ? '' : path;
  r.decision = 'deny';
  r.deny_reason = reason;
  r.status = backend.protocol === 'tcp' ? 403 : reason === 'malformed_request' ? 400 : 403;
  r.bytes_out = 140 + Math.floor(rng() * 40);
  r.duration_us = Math.round(150 + rng() * 600);
  return { t, record: r, emitter: 'connector', emitterId: connectorId(caller.sub, backend.locationId), source };
}

/** A TCP session through a mapping (e.g. a database client); status 0 once established. */
export function tcpSession(rng: Rng, t: number, caller: Caller, backend: Backend, ruleId: string, bytesOut: number, source = ''): SimCall {
  const r = base(rng, t, caller);
  routed(r, backend);
  r.decision = 'allow';
  r.rule_id = ruleId;
  r.status = 0;
  r.bytes_in = Math.round(logNormal(rng, 4_000, 0.6));
  r.bytes_out = Math.round(bytesOut);
  r.backend_connect_us = Math.round(logNormal(rng, 1500 * backend.latency, 0.4));
  r.duration_us = r.backend_connect_us + Math.round(logNormal(rng, 2_000_000, 0.8)) + Math.round(r.bytes_out / 40);
  return { t, record: r, emitter: 'connector', emitterId: connectorId(caller.sub, backend.locationId), source };
}

export interface RelayTarget {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly method: string;
  readonly tcp?: boolean;
}

/** A call the relay refused before any tunnel: no or unknown token (407, subaccount ''), or 400. */
export function relayRefusal(rng: Rng, t: number, ip: string, userAgent: string, target: RelayTarget, reason: 'unauthenticated' | 'malformed_request', source = ''): SimCall {
  const r: CallRecord = {
    ...emptyCallRecord(),
    ts: new Date(t).toISOString(),
    client_ip: ip,
    user_agent: userAgent,
    protocol: target.tcp ? 'tcp' : 'http',
    method: target.tcp ? '' : target.method,
    virtual_host: target.host,
    virtual_port: target.port,
    path: target.tcp ? '' : target.path,
    decision: 'deny',
    deny_reason: reason,
    status: reason === 'unauthenticated' ? 407 : 400,
    bytes_out: 160 + Math.floor(rng() * 30),
    duration_us: Math.round(80 + rng() * 400),
    trace_id: hex(rng, 32),
    span_id: hex(rng, 16),
  };
  return { t, record: r, emitter: 'relay', emitterId: '', source };
}

/** An authenticated call the relay could not route: no connector of that subaccount is connected (503). */
export function noConnector(call: SimCall): SimCall {
  const r = { ...call.record };
  r.internal_host = '';
  r.internal_port = 0;
  r.decision = 'deny';
  r.rule_id = '';
  r.deny_reason = 'no_connector';
  r.status = 503;
  r.error_type = '';
  r.bytes_in = 0;
  r.bytes_out = 150;
  r.backend_connect_us = 0;
  r.backend_ttfb_us = 0;
  r.duration_us = Math.round(100 + (r.duration_us % 300));
  return { ...call, record: r, emitter: 'relay', emitterId: '' };
}
