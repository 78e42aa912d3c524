// relay.yaml: the cloud-side relay.
import { Type, type Static } from '@sinclair/typebox';
import { AuditSection, HostPort, Identifier, LogSection, Subaccount, TlsFiles } from '../../common/config/schema-parts.js';

export const RelayConfigSchema = Type.Object(
  {
    relay: Type.Object(
      {
        /** Stable id of this relay instance; the emitter_id of its audit events. */
        id: Identifier,
      },
      { additionalProperties: false },
    ),
    proxy: Type.Object(
      {
        /** Where cloud apps send proxy requests. */
        listen: HostPort,
        /** Largest request head accepted (bytes); larger gets 431. */
        max_header_bytes: Type.Integer({ minimum: 1024, maximum: 1_048_576, default: 16_384 }),
        /** Idle time allowed on a cloud app's connection (ms). */
        keep_alive_timeout_ms: Type.Integer({ minimum: 100, default: 5_000 }),
        /** Whole-call deadline for HTTP calls through the tunnel (ms); 0 disables. TCP streams have none. */
        call_timeout_ms: Type.Integer({ minimum: 0, default: 120_000 }),
      },
      { additionalProperties: false },
    ),
    tunnel: Type.Object(
      {
        /** Where connectors dial in (TLS, client certificate required). */
        listen: HostPort,
        tls: TlsFiles,
        /** HTTP/2 PING interval on each tunnel session (ms); a session that misses two is closed. */
        ping_interval_ms: Type.Integer({ minimum: 100, default: 10_000 }),
        /** Which connector certificates (by subject CN) may serve which subaccounts. */
        connectors: Type.Array(
          Type.Object(
            {
              cn: Identifier,
              subaccounts: Type.Array(Subaccount, { minItems: 1 }),
            },
            { additionalProperties: false },
          ),
          { default: [] },
        ),
      },
      { additionalProperties: false },
    ),
    /** Cloud app tokens. Only the SHA-256 of each token is stored; create them with `tunnelwatch token new`. */
    tokens: Type.Array(
      Type.Object(
        {
          subaccount: Subaccount,
          cloud_app: Identifier,
          sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'the SHA-256 of the token, 64 lower-case hex digits' }),
        },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
    audit: AuditSection,
    log: LogSection,
  },
  { additionalProperties: false },
);

export type RelayConfig = Static<typeof RelayConfigSchema>;
