// Request and response schemas of /api/v1/backends (backend diagnostics, issue 7). The report itself is the
// collector's schema (tunnelwatch.checks/1), so what the API returns is what connectors ship.
import { Type, type Static } from '@sinclair/typebox';
import { CheckReportSchema } from '../../collector/store/backend-checks.js';
import { TimeRangeQuery } from './query-kit.js';

const Time = (description: string) => Type.String({ format: 'date-time', description });
const Int = (description: string) => Type.Integer({ description });

const SubaccountParam = (description: string) => Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$', description });
const VirtualHostParam = Type.String({ pattern: '^[^\\s/]{1,255}:[0-9]{1,5}$', maxLength: 262, description: 'the mapping as cloud apps see it: virtual host:port (case-insensitive)' });

export const MatrixQuery = Type.Object({
  ...TimeRangeQuery.properties,
  subaccount: Type.Optional(SubaccountParam('only the mappings of this subaccount (403 when outside your scope)')),
}, { additionalProperties: false });

export const BackendQuery = Type.Object({
  ...TimeRangeQuery.properties,
  subaccount: SubaccountParam('the subaccount of the mapping (403 when outside your scope)'),
  virtual_host: VirtualHostParam,
}, { additionalProperties: false });

export const LastQuery = Type.Object({
  subaccount: SubaccountParam('the subaccount of the mapping (403 when outside your scope)'),
  virtual_host: VirtualHostParam,
}, { additionalProperties: false });

export const CheckBody = Type.Object({
  subaccount: SubaccountParam('the subaccount of the mapping (403 when outside your scope)'),
  virtual_host: VirtualHostParam,
  location_id: Type.Optional(Type.String({ pattern: '^([A-Za-z0-9][A-Za-z0-9._-]{0,63})?$', description: 'the connector location to ask ("" = the default location); absent = the relay picks the default' })),
}, { additionalProperties: false });

export type MatrixQueryT = Static<typeof MatrixQuery>;
export type BackendQueryT = Static<typeof BackendQuery>;
export type LastQueryT = Static<typeof LastQuery>;
export type CheckBodyT = Static<typeof CheckBody>;

export const Recommendation = Type.Union([Type.Object({
  step: Type.String({ description: 'the step that failed (or warned): dns, tcp, tls, probe, auth or latency' }),
  outcome: Type.String({ description: 'fail or warn' }),
  classification: Type.String({ description: 'why (docs/troubleshooting.md lists every classification)' }),
  message: Type.String({ description: 'what the check observed' }),
  fix: Type.String({ description: 'what to do about it' }),
}), Type.Null()], { description: 'the failing (else warning) step of the last check and its suggested fix; null when the last check was up' });

export const BackendRow = Type.Object({
  subaccount: Type.String(),
  virtual_host: Type.String({ description: 'virtual host:port (lower case)' }),
  internal_host: Type.String({ description: 'internal host:port the mapping leads to' }),
  protocol: Type.String({ description: 'http, https, tcp or tcps' }),
  connector_id: Type.String({ description: 'the connector that checks it' }),
  location_id: Type.String({ description: '"" is the default location' }),
  state: Type.String({ description: 'last check: up (every step ok), degraded (a warning: slow, certificate expiring, 401/403), down (a step failed)' }),
  classification: Type.String({ description: 'last check\'s classification (ok when up)' }),
  summary: Type.String({ description: 'last check in one line' }),
  last_check_id: Type.String(),
  last_check_at: Time('when the last check started'),
  last_trigger: Type.String({ description: 'schedule (the prober), cli (tunnelwatch check) or dashboard' }),
  since: Time('since when the backend is in this state: the first check after the last one in another state'),
  since_exact: Type.Boolean({ description: 'false when every check of the lookback window had this state: then it is in it at least since `since`' }),
  checks: Type.Object({ up: Int('checks up in the range'), degraded: Int('checks degraded in the range'), down: Int('checks down in the range') }, { description: 'checks in the selected range by state' }),
  call_errors: Type.Record(Type.String(), Type.Integer(), { description: 'real calls to this virtual host:port in the range that failed, by error_type (dns, connect_refused, connect_timeout, tls, reset, backend_timeout, tunnel_down, internal), from the audit events' }),
  call_errors_total: Int('sum of call_errors'),
  recommendation: Recommendation,
});

export const MatrixResponse = Type.Object({
  from: Time('range start'),
  to: Time('range end'),
  lookback_from: Time('the state and "since" look back to here (30 days before `to`); a mapping without a check since then is not listed'),
  backends: Type.Array(BackendRow, { description: 'one row per subaccount, virtual host and connector, by subaccount then virtual host' }),
  totals: Type.Object({ up: Int('mappings up'), degraded: Int('mappings degraded'), down: Int('mappings down') }, { description: 'mappings by their last state' }),
}, { description: 'The health matrix: every checked mapping in your scope with its last state, since when, the real call errors in the range and what to do.' });

export const HistoryPoint = Type.Object({
  at: Time('check start (or bucket start)'),
  state: Type.String({ description: 'the check\'s state; for a bucket the worst of its checks' }),
  duration_ms: Type.Number({ description: 'check duration, ms; for a bucket the mean' }),
  checks: Int('checks in the point (1 unless bucketed)'),
  classification: Type.String({ description: 'the (worst) check\'s classification' }),
  check_id: Type.String({ description: 'the check\'s id ("" for a bucket)' }),
});

export const HistoryResponse = Type.Object({
  subaccount: Type.String(),
  virtual_host: Type.String(),
  from: Time('range start'),
  to: Time('range end'),
  bucket_seconds: Int('0: one point per check; else points are buckets of this many seconds (more than 720 checks in the range)'),
  points: Type.Array(HistoryPoint, { description: 'oldest first' }),
  changes: Type.Array(Type.Object({ at: Time('first check in the new state'), from: Type.String(), to: Type.String() }), { description: 'state changes in the range (one point per check only; empty when bucketed)' }),
}, { description: 'Check history of one mapping, for a timeline of state and duration.' });

export const LastResponse = Type.Object({
  report: Type.Union([CheckReportSchema, Type.Null()], { description: 'the last check with every step (timing, outcome, classification, message, fix, details); null when the mapping was never checked' }),
}, { description: 'The last check of one mapping, step by step.' });

export const SessionView = Type.Object({
  connector_id: Type.String(),
  location_id: Type.String({ description: '"" is the default location' }),
  subaccounts: Type.Array(Type.String(), { description: 'the subaccounts the relay routes to it (those in your scope)' }),
  remote_address: Type.String({ description: 'address the connector dialled in from' }),
  connected_since: Time('when the current tunnel session began'),
  rtt_ms: Type.Number({ description: 'last HTTP/2 PING round trip, ms; -1 before the first' }),
  open_streams: Int('calls and checks in flight on the session'),
  reconnects: Int('sessions this connector opened before the current one since the relay started'),
  last_error: Type.String({ description: 'the last error the relay saw on this connector\'s sessions ("" if none)' }),
  last_error_at: Type.String({ description: 'when (RFC 3339; "" if none)' }),
});

export const TunnelResponse = Type.Object({
  checked_at: Time('when the relay was asked'),
  connectors: Type.Array(SessionView, { description: 'connected connectors serving a subaccount in your scope, by connector id' }),
}, { description: 'The relay\'s view of the tunnel sessions.' });

export const CheckResponse = Type.Object({
  report: CheckReportSchema,
  stored: Type.Object({
    accepted: Int('1 when the report was stored now, 0 when it was already'),
    state_changes: Int('state changes it caused (each a backend_health finding and an admin event)'),
  }),
}, { description: 'The check the connector ran, now in the history.' });
