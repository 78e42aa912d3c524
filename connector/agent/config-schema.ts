// connector.yaml: the on-premise connector and the access rules it enforces.
import { Type, type Static } from '@sinclair/typebox';
import { AuditSection, HostPort, Identifier, LogSection, Subaccount, SUBACCOUNT_PATTERN, TlsFiles } from '../../common/config/schema-parts.js';

const Method = Type.String({ pattern: '^[A-Z][A-Z0-9-]{0,31}$', description: 'an HTTP method in upper case, e.g. GET' });

export const ResourceSchema = Type.Object(
  {
    /** Rule id reported as rule_id in audit events; defaults to "<virtual host:port><path>[*]". */
    id: Type.Optional(Identifier),
    /** Absolute path, already normalised (no dot segments, no duplicate slashes). */
    path: Type.String({ pattern: '^/', description: 'an absolute path starting with /' }),
    /** exact: only this path. prefix: this path and every sub-path below it (segment-wise). */
    match: Type.Union([Type.Literal('exact'), Type.Literal('prefix')], { default: 'prefix' }),
    /** Allowed methods; empty means every method. */
    methods: Type.Array(Method, { default: ['GET', 'HEAD'] }),
    /** false suspends the resource: calls are denied with resource_suspended. */
    active: Type.Boolean({ default: true }),
    /** Allow WebSocket (HTTP Upgrade) through this resource. */
    websocket: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);

export const MappingSchema = Type.Object(
  {
    /** What cloud apps ask for: virtual host:port. The host is matched case-insensitively. */
    virtual: HostPort,
    /** The real backend: internal host:port. */
    internal: HostPort,
    protocol: Type.Union([Type.Literal('http'), Type.Literal('https'), Type.Literal('tcp'), Type.Literal('tcps')]),
    /** Host header sent to the backend: the virtual host:port or the internal one (http/https only). */
    host_header: Type.Union([Type.Literal('virtual'), Type.Literal('internal')], { default: 'virtual' }),
    /** Rule id for tcp/tcps mappings (which have no resources); defaults to the virtual host:port. */
    id: Type.Optional(Identifier),
    /** HTTP resources; a mapping without resources allows nothing (deny by default). */
    resources: Type.Array(ResourceSchema, { default: [] }),
    /** PEM CA file trusted for https/tcps backends; without it the system trust store is used. */
    ca: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

export const SubaccountRulesSchema = Type.Object(
  {
    /** Cloud apps allowed to use this subaccount's mappings; empty means every app of the subaccount. */
    trusted_apps: Type.Array(Identifier, { default: [] }),
    mappings: Type.Array(MappingSchema, { default: [] }),
  },
  { additionalProperties: false },
);

export const ConnectorConfigSchema = Type.Object(
  {
    connector: Type.Object(
      {
        /** Stable id of this connector; the emitter_id of its audit events. */
        id: Identifier,
        /** Location id announced to the relay; "" is the subaccount's default location. */
        location_id: Type.String({ pattern: '^([A-Za-z0-9][A-Za-z0-9._-]{0,63})?$', default: '', description: 'a location id (letters, digits, ".", "_", -) or ""' }),
      },
      { additionalProperties: false },
    ),
    relay: Type.Object(
      {
        /** The relay's tunnel endpoint. */
        address: HostPort,
        /** Name checked against the relay certificate; defaults to the host of relay.address. */
        server_name: Type.Optional(Type.String({ minLength: 1 })),
        tls: TlsFiles,
        /** HTTP/2 PING interval (ms); two missed pings close the session and trigger a reconnect. */
        ping_interval_ms: Type.Integer({ minimum: 100, default: 10_000 }),
        reconnect: Type.Object(
          {
            /** First delay after a failure (ms). */
            initial_delay_ms: Type.Integer({ minimum: 10, default: 500 }),
            /** Upper bound of the delay (ms). */
            max_delay_ms: Type.Integer({ minimum: 10, default: 30_000 }),
            /** Each delay is multiplied by a random factor in [1 - jitter, 1]. */
            jitter: Type.Number({ minimum: 0, maximum: 1, default: 0.5 }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false },
    ),
    backend: Type.Object(
      {
        /** Time allowed to open a backend connection (ms). */
        connect_timeout_ms: Type.Integer({ minimum: 1, default: 5_000 }),
        /** Time allowed from sending the request to the first response byte (ms). */
        response_timeout_ms: Type.Integer({ minimum: 1, default: 60_000 }),
        /** Idle keep-alive connections kept per backend. */
        max_idle_sockets: Type.Integer({ minimum: 0, default: 64 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Access rules per subaccount. A subaccount not listed here gets nothing. */
    subaccounts: Type.Record(Type.String({ pattern: SUBACCOUNT_PATTERN }), SubaccountRulesSchema, {
      default: {},
      propertyNames: { pattern: SUBACCOUNT_PATTERN, description: 'a subaccount id: lower-case letters, digits and -, 1-64 chars' },
    }),
    audit: AuditSection,
    log: LogSection,
  },
  { additionalProperties: false },
);

export type ConnectorConfig = Static<typeof ConnectorConfigSchema>;
export type MappingConfig = Static<typeof MappingSchema>;
export type ResourceConfig = Static<typeof ResourceSchema>;
export type SubaccountRules = Static<typeof SubaccountRulesSchema>;
export { Subaccount };
