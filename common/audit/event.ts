// The audit event, version 1 (../shared/spec/audit-event-v1.md). Every field is always present.

export const AUDIT_SCHEMA = 'tunnelwatch.audit/1';

export const DENY_REASONS = [
  'unauthenticated',
  'no_connector',
  'app_not_trusted',
  'no_mapping',
  'protocol_not_allowed',
  'path_not_allowed',
  'method_not_allowed',
  'resource_suspended',
  'malformed_request',
  'rate_limited',
] as const;
export type DenyReason = (typeof DENY_REASONS)[number];

export const ERROR_TYPES = [
  'dns',
  'connect_refused',
  'connect_timeout',
  'tls',
  'reset',
  'backend_timeout',
  'tunnel_down',
  'internal',
] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];

export type Protocol = 'http' | 'https' | 'tcp' | 'tcps';
export type Emitter = 'relay' | 'connector';

export interface AuditEvent {
  schema: typeof AUDIT_SCHEMA;
  event_id: string;
  ts: string;
  duration_us: number;
  emitter: Emitter;
  emitter_id: string;
  seq: number;
  prev_hash: string;
  hash: string;
  subaccount: string;
  location_id: string;
  cloud_app: string;
  principal: string;
  client_ip: string;
  protocol: Protocol;
  method: string;
  virtual_host: string;
  virtual_port: number;
  internal_host: string;
  internal_port: number;
  path: string;
  query: string;
  user_agent: string;
  decision: 'allow' | 'deny';
  rule_id: string;
  deny_reason: DenyReason | '';
  status: number;
  error_type: ErrorType | '';
  bytes_in: number;
  bytes_out: number;
  backend_connect_us: number;
  backend_ttfb_us: number;
  trace_id: string;
  span_id: string;
}

/** What a call site fills in; the emitter adds identity, chain fields and the event id. */
export type CallRecord = Omit<AuditEvent, 'schema' | 'event_id' | 'emitter' | 'emitter_id' | 'seq' | 'prev_hash' | 'hash'>;

/** A call record with every field at its spec'd empty value, so no row ever has holes. */
export function emptyCallRecord(): CallRecord {
  return {
    ts: '',
    duration_us: 0,
    subaccount: '',
    location_id: '',
    cloud_app: '',
    principal: '',
    client_ip: '',
    protocol: 'http',
    method: '',
    virtual_host: '',
    virtual_port: 0,
    internal_host: '',
    internal_port: 0,
    path: '',
    query: '',
    user_agent: '',
    decision: 'deny',
    rule_id: '',
    deny_reason: '',
    status: 0,
    error_type: '',
    bytes_in: 0,
    bytes_out: 0,
    backend_connect_us: 0,
    backend_ttfb_us: 0,
    trace_id: '',
    span_id: '',
  };
}

/** Field order used when writing events, so files read the same way as the spec table. */
export const AUDIT_FIELDS: readonly (keyof AuditEvent)[] = [
  'schema', 'event_id', 'ts', 'duration_us', 'emitter', 'emitter_id', 'seq', 'prev_hash', 'hash',
  'subaccount', 'location_id', 'cloud_app', 'principal', 'client_ip', 'protocol', 'method',
  'virtual_host', 'virtual_port', 'internal_host', 'internal_port', 'path', 'query', 'user_agent',
  'decision', 'rule_id', 'deny_reason', 'status', 'error_type', 'bytes_in', 'bytes_out',
  'backend_connect_us', 'backend_ttfb_us', 'trace_id', 'span_id',
];
