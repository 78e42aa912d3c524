// Stable error codes, one registry for the whole product. docs/error-codes.md is checked against
// this table by test/unit/error-codes-doc.test.ts, so add a row there when you add one here.

export interface ErrorSpec {
  /** HTTP status returned to a cloud app or API client, or 0 when the error never reaches HTTP. */
  readonly status: number;
  /** What happened and what to do about it. */
  readonly message: string;
}

export const ERRORS = {
  // Proxy (relay) refusals, returned to cloud apps.
  TW_ERR_PROXY_UNAUTHENTICATED: { status: 407, message: 'missing or unknown proxy token: send "Proxy-Authorization: Bearer <token>"' },
  TW_ERR_PROXY_NO_CONNECTOR: { status: 503, message: 'no connector is connected for this subaccount and location id' },
  TW_ERR_PROXY_MALFORMED_REQUEST: { status: 400, message: 'the request cannot be parsed or decided safely' },
  TW_ERR_PROXY_NOT_ABSOLUTE_FORM: { status: 400, message: 'send proxy requests in absolute form (http://virtual-host:port/path) or use CONNECT' },
  TW_ERR_PROXY_TUNNEL_DOWN: { status: 502, message: 'the tunnel to the connector broke during the call' },
  TW_ERR_PROXY_HEADERS_TOO_LARGE: { status: 431, message: 'request headers exceed the relay limit (proxy.max_header_bytes)' },
  TW_ERR_PROXY_REQUEST_TIMEOUT: { status: 408, message: 'the request did not arrive in time (its head within proxy.head_timeout_ms, 30 s by default, all of it within twice that): a stalled or too slow client' },
  // Access-control denials, decided by the connector.
  TW_ERR_ACL_APP_NOT_TRUSTED: { status: 403, message: 'the cloud app is not in the subaccount\'s trusted_apps list' },
  TW_ERR_ACL_NO_MAPPING: { status: 403, message: 'no mapping for this virtual host and port in the subaccount' },
  TW_ERR_ACL_PROTOCOL_NOT_ALLOWED: { status: 403, message: 'the mapping does not carry this protocol (HTTP against a TCP mapping, or CONNECT against an HTTP one)' },
  TW_ERR_ACL_PATH_NOT_ALLOWED: { status: 403, message: 'no resource of the mapping covers this path' },
  TW_ERR_ACL_METHOD_NOT_ALLOWED: { status: 403, message: 'the resource does not allow this HTTP method' },
  TW_ERR_ACL_RESOURCE_SUSPENDED: { status: 403, message: 'the resource is suspended (active: false)' },
  TW_ERR_ACL_MALFORMED_REQUEST: { status: 400, message: 'the request path or headers cannot be decided safely' },
  TW_ERR_ACL_UPGRADE_NOT_ALLOWED: { status: 403, message: 'the resource does not allow protocol upgrades (websocket: false)' },
  TW_ERR_ACL_RATE_LIMITED: { status: 429, message: 'the cloud app, or its subaccount, has as many calls in progress as its limit allows' },
  // Backend errors, seen by the connector.
  TW_ERR_BACKEND_DNS: { status: 502, message: 'the internal host name does not resolve: check the mapping\'s internal host' },
  TW_ERR_BACKEND_CONNECT_REFUSED: { status: 502, message: 'nothing listens at the internal host and port: check the mapping or whether the service runs' },
  TW_ERR_BACKEND_CONNECT_TIMEOUT: { status: 504, message: 'the backend did not accept the connection in time: check firewalls between connector and backend' },
  TW_ERR_BACKEND_TLS: { status: 502, message: 'TLS to the backend failed: check the backend certificate and the connector trust store' },
  TW_ERR_BACKEND_RESET: { status: 502, message: 'the backend closed the connection before answering' },
  TW_ERR_BACKEND_TIMEOUT: { status: 504, message: 'the backend did not answer in time (backend.response_timeout_ms)' },
  TW_ERR_BACKEND_INTERNAL: { status: 502, message: 'the connector failed while forwarding the call; see its log' },
  // Configuration and start-up.
  TW_ERR_CONFIG_INVALID: { status: 0, message: 'the configuration file is invalid' },
  TW_ERR_CONFIG_READ: { status: 0, message: 'the configuration file cannot be read' },
  // Tunnel session.
  TW_ERR_TUNNEL_NOT_AUTHORISED: { status: 0, message: 'the relay does not authorise this connector certificate for the subaccount' },
  TW_ERR_TUNNEL_HANDSHAKE: { status: 0, message: 'the tunnel handshake with the relay failed' },
  // Relay admin API (connector/relay/admin-server.ts, docs/diagnostics.md), answered as {"code","message"}.
  TW_ERR_RELAY_ADMIN_UNAUTHENTICATED: { status: 401, message: 'missing or unknown admin token: send "Authorization: Bearer <token>" with a token whose SHA-256 is in admin.tokens of relay.yaml' },
  TW_ERR_RELAY_ADMIN_BAD_REQUEST: { status: 400, message: 'the admin request body is not JSON or does not match the route\'s schema' },
  TW_ERR_RELAY_ADMIN_TOO_LARGE: { status: 413, message: 'the admin request body exceeds admin.max_body_bytes' },
  TW_ERR_RELAY_ADMIN_NOT_FOUND: { status: 404, message: 'no such admin route' },
  TW_ERR_RELAY_ADMIN_METHOD_NOT_ALLOWED: { status: 405, message: 'the admin route does not take this method (see the Allow header)' },
  TW_ERR_RELAY_ADMIN_NO_CONNECTOR: { status: 404, message: 'no connector session serves this subaccount and location id' },
  TW_ERR_RELAY_ADMIN_NO_MAPPING: { status: 404, message: 'the connector has no mapping with this virtual host:port for the subaccount' },
  TW_ERR_RELAY_ADMIN_CHECK_BUSY: { status: 429, message: 'the connector is running as many on-demand checks as it allows: retry shortly' },
  TW_ERR_RELAY_ADMIN_CHECK_TIMEOUT: { status: 504, message: 'the connector did not answer the check within admin.check_timeout_ms' },
  TW_ERR_RELAY_ADMIN_TUNNEL_BROKEN: { status: 502, message: 'the tunnel stream to the connector broke, or the connector did not answer with a check report' },
  TW_ERR_RELAY_ADMIN_INTERNAL: { status: 500, message: 'the relay failed while handling the admin request: see its log' },
  TW_ERR_RELAY_ADMIN_RELOAD_REFUSED: { status: 422, message: 'the reload was refused whole: relay.yaml (or a file it names) is not valid; the settings in force stay' },
  // Connector high availability (connector/ha/, docs/ha.md): the HA listener answers {"code","message"}.
  TW_ERR_HA_CERTIFICATE: { status: 0, message: 'the HA certificate (ha.tls.cert) does not fit: its CN must be connector.id and it needs extended key usages serverAuth and clientAuth (`tunnelwatch connector ha-cert`)' },
  TW_ERR_HA_NOT_CONFIGURED: { status: 0, message: 'connector.yaml has no ha section: this connector runs standalone' },
  TW_ERR_HA_RULES_REFUSED: { status: 0, message: 'the rules pulled from the master are invalid; the shadow keeps enforcing its current rules' },
  TW_ERR_HA_FORBIDDEN: { status: 403, message: 'the HA listener accepts only the peer\'s certificate (CN = ha.peer_id) and this connector\'s own (CN = connector.id)' },
  TW_ERR_HA_NOT_FOUND: { status: 404, message: 'no such HA route' },
  TW_ERR_HA_BAD_REQUEST: { status: 400, message: 'the HA request is not valid' },
  TW_ERR_HA_SWITCH_REFUSED: { status: 409, message: 'a switch-over needs one active and one standby connector, both answering, and no other switch-over in progress' },
  TW_ERR_HA_PEER_UNREACHABLE: { status: 502, message: 'the peer connector\'s HA listener did not answer (ha.peer): a switch-over needs both connectors running' },
  TW_ERR_HA_INTERNAL: { status: 500, message: 'the connector failed while handling the HA request: see its log' },
  TW_ERR_HA_NO_ACK: { status: 504, message: 'the relay did not confirm in time that it routes to the newly active connector: see both connectors\' logs and the relay\'s' },
  // Audit.
  TW_ERR_AUDIT_WRITE: { status: 0, message: 'an audit event could not be written' },
  TW_ERR_AUDIT_UNAVAILABLE: { status: 503, message: 'audit events cannot be kept right now (disk error, or the delivery spool is full), so calls are refused (never an unaudited call); see the log of the emitter' },
  TW_ERR_AUDIT_CHAIN_RECOVERY: { status: 0, message: 'the audit chain could not be recovered from the audit files at start-up' },
  // Store (ClickHouse through @clickhouse/client, embedded chDB or a server).
  TW_ERR_STORE_LOCKED: { status: 0, message: 'one process per chDB data directory: stop the other collector or use another data_dir' },
  TW_ERR_STORE_OPEN: { status: 0, message: 'the store cannot be opened: check clickhouse.url and its credentials, or the embedded data_dir' },
  TW_ERR_STORE_MIGRATION: { status: 0, message: 'a schema migration failed or an applied migration file changed: add a new numbered migration instead of editing one' },
  TW_ERR_STORE_INVALID_ROW: { status: 400, message: 'a row does not fit the store schema; fix the named field and send the batch again' },
  TW_ERR_STORE_OVERLOADED: { status: 503, message: 'the store write queue is full; retry after the delay given in Retry-After' },
  TW_ERR_STORE_INSERT: { status: 503, message: 'the insert into the store failed and nothing of this batch was acknowledged; retry it (event ids make the retry safe)' },
  TW_ERR_STORE_CLOSED: { status: 503, message: 'the store is closing or closed; retry against the restarted collector' },
  // Audit delivery to the collector (the shipper).
  TW_ERR_SHIPPER_TOKEN: { status: 0, message: 'the collector ingest token cannot be read: put it in the file named by audit.collector.token_file' },
  TW_ERR_SHIPPER_UNAUTHORISED: { status: 0, message: 'the collector refused the ingest token (401/403): put a token it accepts in audit.collector.token_file (re-read on the next try); events are kept and retried' },
  TW_ERR_SHIPPER_UNAVAILABLE: { status: 0, message: 'audit events cannot be delivered to the collector right now; they stay in the spool and are retried with backoff' },
  TW_ERR_SHIPPER_REJECTED: { status: 0, message: 'the collector rejected an audit line as malformed; it was moved to the dead-letter file in audit.dir' },
  TW_ERR_SHIPPER_SPOOL_FULL: { status: 0, message: 'the audit spool reached audit.spool_max_bytes; audit.spool_full decides: refuse new calls, or drop the oldest unshipped events' },
  TW_ERR_OPS_ALERT: { status: 0, message: 'an operational alert fired (tunnel down, failover, spool filling, certificate expiring, exporter stuck): the log line says which and docs/alerts.md what to do' },
  TW_ERR_OPS_UNDELIVERED: { status: 0, message: 'operational alerts cannot be delivered to the collector (POST /v1/ops) right now: they wait in a bounded queue and are retried; each is in the log' },
  // Collector ingest (OTLP/HTTP and audit NDJSON), answered to the sender.
  TW_ERR_INGEST_UNAUTHENTICATED: { status: 401, message: 'missing or unknown ingest token: send "Authorization: Bearer <token>" with a token whose SHA-256 is in collector.ingest_tokens' },
  TW_ERR_INGEST_FORBIDDEN_EMITTER: { status: 403, message: 'the ingest token may not send records in that emitter\'s name: add the id to the token\'s emitters in collector.ingest_tokens, or send with that emitter\'s own token; nothing of the request was stored' },
  TW_ERR_INGEST_MALFORMED: { status: 400, message: 'the request body is not valid OTLP, audit-event-v1 NDJSON or a rules snapshot; nothing of it was stored (the reason names the line or field)' },
  TW_ERR_INGEST_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'unsupported Content-Type or Content-Encoding: OTLP takes application/x-protobuf or application/json, audit takes application/x-ndjson, rules take application/json; gzip or identity' },
  TW_ERR_INGEST_TOO_LARGE: { status: 413, message: 'the request body (as sent or after gunzip) exceeds collector.max_body_bytes: send smaller batches' },
  TW_ERR_INGEST_OVERLOADED: { status: 429, message: 'the ingest queue is full (queue.max_rows / queue.max_bytes): retry after Retry-After seconds' },
  TW_ERR_INGEST_STORE_UNAVAILABLE: { status: 503, message: 'the store is unreachable: nothing was stored; retry after Retry-After seconds' },
  TW_ERR_INGEST_STORE_FAILED: { status: 500, message: 'the store refused the insert although it is reachable: see the collector log' },
  TW_ERR_INGEST_INTERNAL: { status: 500, message: 'the collector failed while handling the request: see its log' },
  // Dashboard (pages and /api/v1), answered as {"error":{"code","status","message"}}.
  TW_ERR_DASH_UNAUTHENTICATED: { status: 401, message: 'sign in first, or send "Authorization: Bearer <token>" with a dashboard API token' },
  TW_ERR_DASH_FORBIDDEN: { status: 403, message: 'your role does not allow this' },
  TW_ERR_DASH_CSRF: { status: 403, message: 'missing or wrong CSRF token: state-changing requests of a browser session must send the x-csrf-token header from /api/v1/session' },
  TW_ERR_DASH_LOGIN_FAILED: { status: 401, message: 'wrong user name or password, or no dashboard role for this user' },
  TW_ERR_DASH_LOGIN_THROTTLED: { status: 429, message: 'too many sign-in attempts: retry after Retry-After seconds' },
  TW_ERR_DASH_LDAP_UNAVAILABLE: { status: 503, message: 'the LDAP server cannot be reached: sign-in through LDAP is not possible now (local users still can)' },
  TW_ERR_DASH_BAD_REQUEST: { status: 400, message: 'the request is not valid for this route' },
  TW_ERR_DASH_NOT_FOUND: { status: 404, message: 'no such page, route or object' },
  TW_ERR_DASH_STORE_UNAVAILABLE: { status: 503, message: 'the store did not answer: retry shortly; see the collector log' },
  TW_ERR_DASH_INTERNAL: { status: 500, message: 'the dashboard failed while handling the request: see its log' },
  TW_ERR_DASH_RELAY_ADMIN_UNCONFIGURED: { status: 503, message: 'the relay\'s admin API is not configured: set dashboard.relay_admin (url, token_file) to see the tunnel and run checks' },
  TW_ERR_DASH_RELAY_ADMIN_UNAVAILABLE: { status: 503, message: 'the relay\'s admin API cannot be reached or refused the dashboard: check dashboard.relay_admin and the relay\'s admin listener' },
  TW_ERR_DASH_CHECK_TIMEOUT: { status: 504, message: 'the connector did not finish the check in time: retry, or run `tunnelwatch check` on the connector host' },
  TW_ERR_DASH_RELOAD_REFUSED: { status: 422, message: 'the reload was refused whole: collector.yaml (or a file it names) is not valid; the settings in force stay' },
  TW_ERR_DASH_RELOAD_UNAVAILABLE: { status: 409, message: 'this dashboard runs on its own, not inside the collector: restart it to apply configuration changes' },
  // SIEM exporters: the framework (collector/export/, docs/siem.md).
  TW_ERR_EXPORT_CONFIG: { status: 0, message: 'an entry of exporters: in collector.yaml cannot be set up: fix the key named in the detail' },
  TW_ERR_EXPORT_SECRET: { status: 0, message: 'an exporter secret cannot be read: put it in the file named by secret_file, or in the environment variable named by secret_env' },
  TW_ERR_EXPORT_UNKNOWN_EXPORTER: { status: 0, message: 'no exporter of that name in collector.yaml: use a name from exporters[].name' },
  TW_ERR_EXPORT_REPLAY_INCOMPLETE: { status: 0, message: 'some dead letters were not delivered by the replay; they stay dead letters, with the receiver\'s new reason' },
  // Elasticsearch exporter (collector/export/elasticsearch/, docs/siem-elasticsearch.md).
  TW_ERR_ES_CREDENTIALS: { status: 0, message: 'the Elasticsearch password or API key cannot be read: put it in the file or environment variable named under auth (exactly one way to authenticate)' },
  TW_ERR_ES_UNAUTHORISED: { status: 0, message: 'Elasticsearch refused the credentials (401) or their privileges (403): check auth of the exporter; records are kept until it accepts them' },
  TW_ERR_ES_UNREACHABLE: { status: 0, message: 'Elasticsearch cannot be reached or did not answer in time: check nodes, tls and the network; records are kept and sent again' },
  TW_ERR_ES_TLS: { status: 0, message: 'TLS to Elasticsearch failed on a certificate: check tls.ca_file (and tls.cert_file/key_file) against the cluster\'s certificate; records are kept until it verifies' },
  TW_ERR_ES_NOT_ELASTICSEARCH: { status: 0, message: 'the server at nodes does not answer as Elasticsearch 9 does (no x-elastic-product header): check nodes' },
  TW_ERR_ES_NOT_SET_UP: { status: 0, message: 'the data streams have no Tunnelwatch index template (or the ingest pipeline is missing): run `tunnelwatch siem setup elasticsearch --config collector.yaml`' },
  TW_ERR_ES_REJECTED: { status: 0, message: 'Elasticsearch refused a request as a whole (not one record): see the reason; records are kept until it is fixed' },
  // Syslog exporter (collector/export/syslog/, docs/siem-syslog.md).
  TW_ERR_SYSLOG_UNREACHABLE: { status: 0, message: 'the syslog receiver cannot be reached, or the connection failed during a batch: the whole batch is sent again (at least once; duplicates carry the event id)' },
  TW_ERR_SYSLOG_TLS: { status: 0, message: 'TLS to the syslog receiver failed on a certificate: check tls.ca and tls.server_name against the receiver\'s certificate, and tls.cert/tls.key if it asks for a client certificate' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export class TunnelwatchError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    const spec = ERRORS[code];
    super(detail ? `${spec.message}: ${detail}` : spec.message, options);
    this.name = 'TunnelwatchError';
    this.code = code;
    this.status = spec.status;
  }
}
