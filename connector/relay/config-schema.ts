// relay.yaml: the cloud-side relay. Descriptions here are the configuration reference: docs/configuration.md
// is generated from them (scripts/config-doc.mjs) and a test keeps the two in step.
import { Type, type Static } from '@sinclair/typebox';
import { TracingSection } from '../../common/config/tracing-section.js';
import { RelayAlertsSection } from '../../common/ops/ops-events.js';
import { AuditSection, HostPort, Identifier, LogSection, Subaccount, TlsFiles } from '../../common/config/schema-parts.js';

export const RelayConfigSchema = Type.Object(
  {
    relay: Type.Object(
      {
        id: Type.String({ ...Identifier, description: 'stable id of this relay instance; the emitter_id of its audit events' }),
      },
      { additionalProperties: false },
    ),
    proxy: Type.Object(
      {
        listen: Type.String({ ...HostPort, description: 'host:port where cloud apps send proxy requests' }),
        max_header_bytes: Type.Integer({ minimum: 1024, maximum: 1_048_576, default: 16_384, description: 'largest request head accepted, in bytes; a larger one gets 431' }),
        keep_alive_timeout_ms: Type.Integer({ minimum: 100, default: 5_000, description: 'idle time allowed on a cloud app\'s keep-alive connection (ms)' }),
        head_timeout_ms: Type.Integer({ minimum: 500, maximum: 300_000, default: 30_000, description: 'time a cloud app has to send a request\'s line and headers (ms), checked every half of it up to 30 s; a slower one gets 408 TW_ERR_PROXY_REQUEST_TIMEOUT and an audit event (slow-header clients hold connections open). The whole request, body included, must arrive within twice this' }),
        call_timeout_ms: Type.Integer({ minimum: 0, default: 120_000, description: 'deadline for the answer to an HTTP call through the tunnel (ms; 0 = none); TCP streams have none' }),
        proxy_protocol_from: Type.Array(Type.String({ minLength: 2, maxLength: 50 }), {
          default: [],
          maxItems: 256,
          description: 'addresses or CIDRs (10.0.0.0/8, fd00::/8) of TCP load balancers in front of the proxy port that send a PROXY protocol v1 or v2 header: a connection from one must start with a header, whose source address becomes client_ip (a LOCAL/UNKNOWN header keeps the balancer\'s); a connection from them without a valid header within head_timeout_ms is closed, logged and counted. Connections from other addresses are taken as direct, and a PROXY header from them is refused as a malformed request. [] = no balancer (docs/deploy.md)',
        }),
      },
      { additionalProperties: false },
    ),
    tunnel: Type.Object(
      {
        listen: Type.String({ ...HostPort, description: 'host:port where connectors dial in (TLS with a client certificate)' }),
        tls: TlsFiles,
        ping_interval_ms: Type.Integer({ minimum: 100, default: 10_000, description: 'HTTP/2 PING interval per tunnel session (ms); a session that misses two is closed' }),
        connectors: Type.Array(
          Type.Object(
            {
              cn: Type.String({ ...Identifier, description: 'subject CN of the connector\'s client certificate' }),
              subaccounts: Type.Array(Subaccount, { minItems: 1, description: 'subaccounts this connector may serve; others it announces are refused' }),
            },
            { additionalProperties: false },
          ),
          { default: [], description: 'which connector certificates may serve which subaccounts (deny by default)' },
        ),
      },
      { additionalProperties: false },
    ),
    tokens: Type.Array(
      Type.Object(
        {
          subaccount: Type.String({ ...Subaccount, description: 'the subaccount the token belongs to' }),
          cloud_app: Type.String({ ...Identifier, description: 'the cloud app the token identifies (cloud_app in audit events)' }),
          sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'the SHA-256 of the token, 64 lower-case hex digits (from `tunnelwatch token new`)' }),
          expires_at: Type.Optional(Type.String({
            pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2})$',
            expected: 'an RFC 3339 time with its offset, e.g. 2027-03-31T00:00:00Z',
            description: 'when the token stops being accepted (RFC 3339 with Z or an offset); from then on it is refused as unauthenticated ("the token expired at ..."), and the CONNECT tunnels and websockets it opened are cut; absent = no expiry. The relay warns in its log, and in /metrics, as the time comes near',
          })),
        },
        { additionalProperties: false },
      ),
      { default: [], description: 'cloud app tokens; only their SHA-256 is stored. Each token once: one listed twice (even for another subaccount) is refused at start and on reload' },
    ),
    admin: Type.Optional(
      Type.Object(
        {
          listen: Type.String({ ...HostPort, description: 'host:port of the admin API (GET /admin/v1/connectors, POST /admin/v1/check, GET /healthz); keep it on loopback or a management network, and use tls off loopback' }),
          tokens: Type.Array(
            Type.Object(
              {
                name: Type.String({ ...Identifier, description: 'who holds the token (e.g. dashboard); logged with each admin request, the token never is' }),
                sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'the SHA-256 of the bearer token, 64 lower-case hex digits (`tunnelwatch token hash` prints it for a token on stdin)' }),
              },
              { additionalProperties: false },
            ),
            { minItems: 1, description: 'bearer tokens accepted by the admin API; only their SHA-256 is stored' },
          ),
          tls: Type.Optional(
            Type.Object(
              {
                cert: Type.String({ minLength: 1, description: 'PEM certificate file of the admin API' }),
                key: Type.String({ minLength: 1, description: 'PEM private key file of the admin API' }),
              },
              { additionalProperties: false, description: 'serve the admin API over HTTPS; absent = plain HTTP' },
            ),
          ),
          check_timeout_ms: Type.Integer({ minimum: 100, default: 30_000, description: 'how long POST /admin/v1/check waits for the connector\'s report (ms) before answering 504; keep it above 4 x the connector\'s diagnostics.timeout_ms' }),
          max_body_bytes: Type.Integer({ minimum: 256, maximum: 1_048_576, default: 16_384, description: 'largest admin request body accepted (bytes); a larger one gets 413' }),
        },
        { additionalProperties: false, description: 'the relay admin API (see docs/diagnostics.md); absent = off' },
      ),
    ),
    audit: AuditSection,
    alerts: RelayAlertsSection,
    tracing: TracingSection,
    log: LogSection,
  },
  { additionalProperties: false },
);

export type RelayConfig = Static<typeof RelayConfigSchema>;
export type RelayAdminConfig = NonNullable<RelayConfig['admin']>;
