// Backend diagnostics (issue 7): the shapes that cross process boundaries. A check report is produced by
// the connector (on demand through `tunnelwatch check` or the tunnel's control channel, and continuously
// by its prober), shipped to the collector (POST /v1/checks, schema tunnelwatch.checks/1), stored in
// ClickHouse (backend_checks) and shown on the dashboard's Backends page. Extend these types; never rename
// a field: the collector, the dashboard and the exporters read them.

/** The steps of a check, in the order they run. A step after a failed one is 'skipped'. */
export type CheckStepName = 'dns' | 'tcp' | 'tls' | 'probe' | 'auth' | 'latency';

export type StepOutcome = 'ok' | 'warn' | 'fail' | 'skipped';

/**
 * Why a step failed or warned, from a fixed catalogue (connector/diagnostics/classifications.ts), each with
 * a plain-language cause and a suggested fix, documented in docs/troubleshooting.md. Stable ids: SIEM rules
 * and the dashboard key on them.
 */
export type Classification =
  | 'ok'
  | 'dns_not_found' | 'dns_timeout' | 'dns_error'
  | 'tcp_refused' | 'tcp_timeout' | 'tcp_unreachable' | 'tcp_reset'
  | 'tls_handshake_failed' | 'tls_self_signed' | 'tls_untrusted_issuer' | 'tls_expired' | 'tls_not_yet_valid'
  | 'tls_hostname_mismatch' | 'tls_client_cert_required' | 'tls_expiring_soon' | 'tls_protocol_error'
  | 'probe_timeout' | 'probe_closed' | 'probe_bad_response' | 'probe_server_error' | 'probe_unavailable'
  | 'probe_not_found' | 'banner_mismatch' | 'ldap_bind_failed'
  | 'auth_required' | 'auth_forbidden'
  | 'latency_high';

export interface CheckStep {
  readonly step: CheckStepName;
  readonly outcome: StepOutcome;
  /** Time the step took, ms (0 when skipped). */
  readonly duration_ms: number;
  readonly classification: Classification;
  /** What was observed, concrete: "connection refused at 10.0.0.5:8443". */
  readonly message: string;
  /** The suggested fix, in plain language ('' when ok). */
  readonly fix: string;
  /** Step-specific facts, e.g. { addresses: [...] }, { status: 503 }, { subject, issuer, valid_to, days_left }. */
  readonly detail: Readonly<Record<string, unknown>>;
}

/** up: every step ok; degraded: a warn (slow, certificate expiring, 401/403); down: a step failed. */
export type BackendState = 'up' | 'degraded' | 'down';

export interface CheckReport {
  /** UUID v4 of this check. */
  readonly check_id: string;
  readonly connector_id: string;
  readonly location_id: string;
  readonly subaccount: string;
  /** The mapping as cloud apps see it (virtual host:port) and where it leads (internal host:port). */
  readonly virtual_host: string;
  readonly internal_host: string;
  readonly protocol: 'http' | 'https' | 'tcp' | 'tcps';
  /** 'cli' (tunnelwatch check), 'dashboard' (control channel), 'schedule' (the prober). */
  readonly trigger: 'cli' | 'dashboard' | 'schedule';
  /** Who asked, for dashboard checks (the dashboard user); '' otherwise. */
  readonly requested_by: string;
  /** RFC 3339 UTC with ms. */
  readonly started_at: string;
  readonly duration_ms: number;
  readonly state: BackendState;
  /** The first failed step's classification, else the first warning's, else 'ok'. */
  readonly classification: Classification;
  /** One line for lists: the first failed (or warning) step's message, or "reachable in N ms". */
  readonly summary: string;
  readonly steps: readonly CheckStep[];
}

/** Body of POST /v1/checks (connector to collector). */
export interface CheckBatch {
  readonly schema: 'tunnelwatch.checks/1';
  readonly connector_id: string;
  readonly reports: readonly CheckReport[];
}

/** The relay's view of one connector session (GET /admin/v1/connectors on the relay's admin listener). */
export interface ConnectorSessionView {
  readonly connector_id: string;
  readonly location_id: string;
  readonly subaccounts: readonly string[];
  readonly remote_address: string;
  /** RFC 3339 UTC. */
  readonly connected_since: string;
  /** Last HTTP/2 PING round trip, ms; -1 before the first. */
  readonly rtt_ms: number;
  readonly open_streams: number;
  /** Sessions this connector id opened before the current one, since the relay started. */
  readonly reconnects: number;
  /** The last error the relay saw on this connector's sessions ('' if none). */
  readonly last_error: string;
  readonly last_error_at: string;
}
