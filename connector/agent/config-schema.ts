// connector.yaml: the on-premise connector and the access rules it enforces. Descriptions here are the
// configuration reference: docs/configuration.md is generated from them (scripts/config-doc.mjs).
import { Type, type Static } from '@sinclair/typebox';
import { TracingSection } from '../../common/config/tracing-section.js';
import { ConnectorAlertsSection } from '../../common/ops/ops-events.js';
import { TunnelwatchError } from '../../common/errors.js';
import { AuditSection, HostPort, ID_PATTERN, Identifier, LogSection, splitHostPort, Subaccount, SUBACCOUNT_PATTERN, TlsFiles } from '../../common/config/schema-parts.js';

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

/** How backend diagnostics (`tunnelwatch check`, the prober) test a mapping beyond TCP and TLS. */
export const ProbeSchema = Type.Object(
  {
    path: Type.String({ pattern: '^/', default: '/', expected: 'an absolute path starting with /', description: 'http/https: the path the check requests, e.g. a health endpoint; a 404 on a path set here makes the backend degraded' }),
    method: Type.Union([Type.Literal('HEAD'), Type.Literal('GET')], { default: 'HEAD', description: 'http/https: HEAD, or GET for backends that do not answer HEAD (only the response head is read)' }),
    expect_banner: Type.Optional(Type.String({ minLength: 1, description: 'tcp/tcps: a regular expression the first bytes the backend sends must match (e.g. "^SSH-" or "^220 "); unset = no banner is read' })),
    ldap: Type.Optional(
      Type.Object(
        {
          bind_dn: Type.String({ minLength: 1, description: 'DN of the account the check binds as (a simple bind), e.g. cn=monitor,dc=example,dc=com' }),
          password_file: Type.String({ minLength: 1, description: 'file holding that account\'s password (relative to the config file); never logged or reported' }),
        },
        { additionalProperties: false, description: 'tcp/tcps LDAP backends: check with an LDAP simple bind; a refused bind fails the check with ldap_bind_failed' },
      ),
    ),
  },
  { additionalProperties: false, description: 'backend diagnostics probe of this mapping; absent = HEAD / for http/https, TCP connect and TLS only for tcp/tcps' },
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
    probe: Type.Optional(ProbeSchema),
  },
  { additionalProperties: false },
);

export const SubaccountRulesSchema = Type.Object(
  {
    trusted_apps: Type.Array(Identifier, { default: [], description: 'cloud apps that may use this subaccount\'s mappings; empty means every app of the subaccount' }),
    mappings: Type.Array(MappingSchema, { default: [], description: 'virtual host:port to internal host:port mappings' }),
    limits: Type.Optional(Type.Object(
      {
        max_calls_in_flight: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0, description: 'calls of this subaccount in progress at once on this connector, all cloud apps together (HTTP calls and open CONNECT tunnels and websockets); a call beyond it is denied with rate_limited (429 TW_ERR_ACL_RATE_LIMITED); 0 = no limit' }),
        app_max_calls_in_flight: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0, description: 'the same, for each cloud app of the subaccount on its own, so one app cannot take the calls of the others; 0 = no limit' }),
        apps: Type.Record(Type.String({ pattern: ID_PATTERN }), Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'calls of that cloud app in progress at once on this connector; 0 = no limit' }), {
          default: {},
          description: 'a limit for one cloud app instead of app_max_calls_in_flight, by cloud app name (e.g. `portal: 200`); 0 = no limit for that app; with trusted_apps, only apps listed there',
        }),
      },
      { additionalProperties: false, default: {}, description: 'concurrent call limits (SAP Cloud Connector\'s per trusted app connection limits): they keep one cloud app or subaccount from taking every call the connector and its backends can carry; counted per connector process' },
    )),
  },
  { additionalProperties: false },
);

/** Master/shadow high availability (docs/ha.md). */
export const HaSchema = Type.Object(
  {
    role: Type.Union([Type.Literal('master'), Type.Literal('shadow')], { default: 'master', description: 'master: its rules (subaccounts) are authoritative and it starts active; shadow: pulls the master\'s rules, stands by, and takes over when the master fails' }),
    listen: Type.String({ ...HostPort, description: 'host:port of this connector\'s HA listener (HTTPS with client certificates), called by the peer and by `tunnelwatch connector switch-roles`' }),
    peer: Type.String({ ...HostPort, description: 'host:port of the other connector\'s HA listener' }),
    peer_id: Type.String({ ...Identifier, description: 'the other connector\'s connector.id, the CN of its HA certificate; only the peer and this connector\'s own certificate (the CLI) may call the HA listener' }),
    tls: Type.Object(
      {
        cert: Type.String({ minLength: 1, description: 'PEM certificate for the HA link, CN = connector.id, extended key usage serverAuth and clientAuth (`tunnelwatch connector ha-cert`)' }),
        key: Type.String({ minLength: 1, description: 'PEM private key of that certificate' }),
        ca: Type.String({ minLength: 1, description: 'PEM CA bundle that signs the peer\'s HA certificate (the tunnel CA of `tunnelwatch pki`)' }),
      },
      { additionalProperties: false },
    ),
    check_interval_ms: Type.Integer({ minimum: 100, default: 1_000, description: 'how often each connector asks the peer for its state (ms); the shadow pulls the master\'s rules with the same request' }),
    takeover_delay_ms: Type.Integer({ minimum: 100, default: 3_000, description: 'a standby that has had no answer from the active peer for this long (ms) claims the routes at the relay; at least check_interval_ms' }),
    drain_timeout_ms: Type.Integer({ minimum: 0, default: 30_000, description: 'planned switch-over, and a stop (SIGTERM) of the active connector: how long the old active connector waits for its calls in flight to finish (ms)' }),
    rules_cache: Type.Optional(Type.String({ minLength: 1, description: 'shadow: file (relative to the config file) that keeps the rules last pulled from the master, so a shadow restarted while the master is down still has them; absent = not kept' })),
  },
  { additionalProperties: false, description: 'master/shadow high availability: see docs/ha.md; absent = a standalone connector (always active)' },
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
        address: Type.Optional(Type.String({ ...HostPort, description: 'the relay\'s tunnel endpoint, host:port (one relay, or several behind one name in active/passive); set this or relay.addresses, not both' })),
        addresses: Type.Optional(
          Type.Array(Type.String({ ...HostPort, description: 'one relay\'s tunnel endpoint, host:port' }), {
            minItems: 1,
            maxItems: 16,
            uniqueItems: true,
            description: 'several active relays: the connector keeps one tunnel to each at the same time, and each relay routes the calls that reach it to its own tunnel (docs/ha.md, "Several relays"); set this or relay.address, not both',
          }),
        ),
        server_name: Type.Optional(Type.String({ minLength: 1, description: 'name checked against the relay certificate (of every relay in relay.addresses); default the host of each address' })),
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
    diagnostics: Type.Object(
      {
        interval_ms: Type.Integer({ minimum: 0, default: 60_000, description: 'check every mapping of every subaccount this often (ms), with jitter; 0 turns the prober off (on-demand checks still work)' }),
        timeout_ms: Type.Integer({ minimum: 1, default: 5_000, description: 'time allowed for each step of a check (DNS, TCP, TLS, probe), in ms' }),
        latency_warn_ms: Type.Integer({ minimum: 1, default: 2_000, description: 'a probe answer slower than this (ms) makes the backend degraded (latency_high)' }),
        cert_warn_days: Type.Integer({ minimum: 0, default: 30, description: 'a backend certificate that expires within this many days makes the backend degraded (tls_expiring_soon)' }),
        concurrency: Type.Integer({ minimum: 1, maximum: 64, default: 4, description: 'most checks run at once by the prober, and separately by on-demand checks from the relay' }),
        queue_max_reports: Type.Integer({ minimum: 1, default: 1_000, description: 'most check reports held for the collector; when full the oldest are dropped (counted and logged)' }),
      },
      { additionalProperties: false, default: {}, description: 'backend diagnostics: scheduled checks of every mapping, shipped to `POST <audit.collector.url>/v1/checks`; see docs/diagnostics.md' },
    ),
    ops: Type.Optional(
      Type.Object(
        {
          listen: Type.String({ ...HostPort, description: 'host:port of the ops listener: GET /metrics (Prometheus), /healthz (serving, with role and tunnel state) and /readyz (200 when registered with the relay and able to audit); no token, so keep it on loopback or a management network' }),
        },
        { additionalProperties: false, description: 'the connector\'s ops listener (absent = none); docs/operations.md' },
      ),
    ),
    ha: Type.Optional(HaSchema),
    subaccounts: Type.Record(Type.String({ pattern: SUBACCOUNT_PATTERN }), SubaccountRulesSchema, {
      default: {},
      propertyNames: { pattern: SUBACCOUNT_PATTERN, description: 'a subaccount id: lower-case letters, digits and -, 1-64 chars' },
      description: 'access rules per subaccount; a subaccount not listed here reaches nothing',
    }),
    audit: AuditSection,
    alerts: ConnectorAlertsSection,
    tracing: TracingSection,
    log: LogSection,
  },
  { additionalProperties: false },
);

export type ConnectorConfig = Static<typeof ConnectorConfigSchema>;
export type MappingConfig = Static<typeof MappingSchema>;
export type ProbeConfig = Static<typeof ProbeSchema>;
export type ResourceConfig = Static<typeof ResourceSchema>;
export type DiagnosticsConfig = ConnectorConfig['diagnostics'];
export type SubaccountRules = Static<typeof SubaccountRulesSchema>;
export type HaConfig = Static<typeof HaSchema>;

/** One relay a connector keeps a tunnel to. */
export interface RelayEndpoint {
  /** As configured, host:port: the relay's name in logs, health and metrics. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly serverName?: string;
}

/**
 * The relays of relay.address or relay.addresses. The schema cannot say "exactly one of the two" in a way
 * its error messages render clearly, so that is checked here, by everything that dials (connector, doctor).
 */
export function relayEndpoints(config: Pick<ConnectorConfig, 'relay'>): RelayEndpoint[] {
  const { address, addresses, server_name: serverName } = config.relay;
  if (address !== undefined && addresses !== undefined) {
    throw new TunnelwatchError('TW_ERR_CONFIG_INVALID', 'relay.address and relay.addresses are both set: use relay.address for one relay, or relay.addresses for a tunnel to each of several relays, not both');
  }
  const list = addresses ?? (address !== undefined ? [address] : []);
  if (list.length === 0) throw new TunnelwatchError('TW_ERR_CONFIG_INVALID', 'relay.address (one relay) or relay.addresses (several relays) is required');
  return list.map((a) => ({ address: a, ...splitHostPort(a), ...(serverName ? { serverName } : {}) }));
}
export { Subaccount };
