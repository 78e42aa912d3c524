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
  // Access-control denials, decided by the connector.
  TW_ERR_ACL_APP_NOT_TRUSTED: { status: 403, message: 'the cloud app is not in the subaccount\'s trusted_apps list' },
  TW_ERR_ACL_NO_MAPPING: { status: 403, message: 'no mapping for this virtual host and port in the subaccount' },
  TW_ERR_ACL_PROTOCOL_NOT_ALLOWED: { status: 403, message: 'the mapping does not carry this protocol (HTTP against a TCP mapping, or CONNECT against an HTTP one)' },
  TW_ERR_ACL_PATH_NOT_ALLOWED: { status: 403, message: 'no resource of the mapping covers this path' },
  TW_ERR_ACL_METHOD_NOT_ALLOWED: { status: 403, message: 'the resource does not allow this HTTP method' },
  TW_ERR_ACL_RESOURCE_SUSPENDED: { status: 403, message: 'the resource is suspended (active: false)' },
  TW_ERR_ACL_MALFORMED_REQUEST: { status: 400, message: 'the request path or headers cannot be decided safely' },
  TW_ERR_ACL_UPGRADE_NOT_ALLOWED: { status: 403, message: 'the resource does not allow protocol upgrades (websocket: false)' },
  TW_ERR_ACL_RATE_LIMITED: { status: 429, message: 'the cloud app exceeded its concurrent call limit' },
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
  // Audit.
  TW_ERR_AUDIT_WRITE: { status: 0, message: 'an audit event could not be written' },
  TW_ERR_AUDIT_UNAVAILABLE: { status: 503, message: 'audit events cannot be written right now, so calls are refused (never an unaudited call); see the log of the emitter for the disk error' },
  TW_ERR_AUDIT_CHAIN_RECOVERY: { status: 0, message: 'the audit chain could not be recovered from the audit files at start-up' },
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
