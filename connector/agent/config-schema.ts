// connector.yaml: the on-premise connector and the access rules it enforces. Descriptions here are the
// configuration reference: docs/configuration.md is generated from them (scripts/config-doc.mjs).
import { Type, type Static } from '@sinclair/typebox';
import { TracingSection } from '../../common/config/tracing-section.js';
import { AuditSection, HostPort, Identifier, LogSection, Subaccount, SUBACCOUNT_PATTERN, TlsFiles } from '../../common/config/schema-parts.js';

const Method = Type.String({ pattern: '^[A-Z][A-Z0-9-]{0,31}$', description: 'an HTTP method in upper case, e.g. GET' });

export const ResourceSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ ...Identifier, description: 'rule id reported as rule_id in audit events; default "<virtual host>:<port><path>", plus "*" for prefix' })),
    path: Type.String({ pattern: '^/', expected: 'an absolute path starting with /', description: 'an absolute path starting with /, already normalised (no dot segments, no duplicate slashes)' }),
    match: Type.Union([Type.Literal('exact'), Type.Literal('prefix')], { default: 'prefix', description: 'exact: only this path; prefix: this path and every path below it, segment by segment' }),
    methods: Type.Array(Method, { default: ['GET', 'HEAD'], description: 'allowed HTTP methods; an empty list allows every method' }),
    active: Type.Boolean({ default: true, description: 'false suspends the resource: its calls are denied with resource_suspended' }),
    websocket: Type.Boolean({ default: false, description: 'allow WebSocket (HTTP Upgrade) through this resource' }),
  },
  { additionalProperties: false },
);

export const MappingSchema = Type.Object(
  {
    virtual: Type.String({ ...HostPort, description: 'what cloud apps ask for, virtual host:port (host matched case-insensitively)' }),
    internal: Type.String({ ...HostPort, description: 'the real backend, internal host:port' }),
    protocol: Type.Union([Type.Literal('http'), Type.Literal('https'), Type.Literal('tcp'), Type.Literal('tcps')], { description: 'how the connector talks to the backend; http/https take absolute-form requests, tcp/tcps take CONNECT' }),
    host_header: Type.Union([Type.Literal('virtual'), Type.Literal('internal')], { default: 'virtual', description: 'Host header sent to the backend: the virtual or the internal host:port (http/https)' }),
    id: Type.Optional(Type.String({ ...Identifier, description: 'rule id of a tcp/tcps mapping (which has no resources); default the virtual host:port' })),
    resources: Type.Array(ResourceSchema, { default: [], description: 'HTTP resources; a mapping without resources allows nothing' }),
    ca: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA file trusted for https/tcps backends; without it, the system trust store' })),
  },
  { additionalProperties: false },
);

export const SubaccountRulesSchema = Type.Object(
  {
    trusted_apps: Type.Array(Identifier, { default: [], description: 'cloud apps that may use this subaccount\'s mappings; empty means every app of the subaccount' }),
    mappings: Type.Array(MappingSchema, { default: [], description: 'virtual host:port to internal host:port mappings' }),
  },
  { additionalProperties: false },
);

export const ConnectorConfigSchema = Type.Object(
  {
    connector: Type.Object(
      {
        id: Type.String({ ...Identifier, description: 'stable id of this connector, equal to its certificate CN; the emitter_id of its audit events' }),
        location_id: Type.String({ pattern: '^([A-Za-z0-9][A-Za-z0-9._-]{0,63})?$', default: '', description: 'location id announced to the relay (letters, digits, ".", "_", -); "" is the subaccount\'s default location' }),
      },
      { additionalProperties: false },
    ),
    relay: Type.Object(
      {
        address: Type.String({ ...HostPort, description: 'the relay\'s tunnel endpoint, host:port' }),
        server_name: Type.Optional(Type.String({ minLength: 1, description: 'name checked against the relay certificate; default the host of relay.address' })),
        tls: TlsFiles,
        ping_interval_ms: Type.Integer({ minimum: 100, default: 10_000, description: 'HTTP/2 PING interval (ms); two missed pings drop the tunnel and reconnect' }),
        reconnect: Type.Object(
          {
            initial_delay_ms: Type.Integer({ minimum: 10, default: 500, description: 'first delay after a failure (ms); doubles on each further failure' }),
            max_delay_ms: Type.Integer({ minimum: 10, default: 30_000, description: 'upper bound of the delay (ms)' }),
            jitter: Type.Number({ minimum: 0, maximum: 1, default: 0.5, description: 'each delay is multiplied by a random factor in [1 - jitter, 1]' }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false },
    ),
    backend: Type.Object(
      {
        connect_timeout_ms: Type.Integer({ minimum: 1, default: 5_000, description: 'time allowed to open a backend connection (ms); then 504 connect_timeout' }),
        response_timeout_ms: Type.Integer({ minimum: 1, default: 60_000, description: 'time allowed from connection to the first response byte (ms); then 504 backend_timeout' }),
        max_idle_sockets: Type.Integer({ minimum: 0, default: 64, description: 'idle keep-alive connections kept per backend' }),
      },
      { additionalProperties: false, default: {} },
    ),
    subaccounts: Type.Record(Type.String({ pattern: SUBACCOUNT_PATTERN }), SubaccountRulesSchema, {
      default: {},
      propertyNames: { pattern: SUBACCOUNT_PATTERN, description: 'a subaccount id: lower-case letters, digits and -, 1-64 chars' },
      description: 'access rules per subaccount; a subaccount not listed here reaches nothing',
    }),
    audit: AuditSection,
    tracing: TracingSection,
    log: LogSection,
  },
  { additionalProperties: false },
);

export type ConnectorConfig = Static<typeof ConnectorConfigSchema>;
export type MappingConfig = Static<typeof MappingSchema>;
export type ResourceConfig = Static<typeof ResourceSchema>;
export type SubaccountRules = Static<typeof SubaccountRulesSchema>;
export { Subaccount };
