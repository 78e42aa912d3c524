// The tunnel protocol shared by relay and connector: HTTP/2 over one TLS connection dialled out by the
// connector, which then *serves* HTTP/2 on it; the relay is the HTTP/2 client. Call metadata travels in
// `tw-*` request headers, which the relay strips from whatever a cloud app sends.

export const TUNNEL_ALPN = 'tunnelwatch-h2/1';
export const PROTOCOL_VERSION = 1;

export const CONTROL_PREFIX = '/_tunnelwatch/v1/';
export const HELLO_PATH = `${CONTROL_PREFIX}hello`;
export const REGISTERED_PATH = `${CONTROL_PREFIX}registered`;
/** The relay asks the connector to check one of its mappings now (backend diagnostics, issue 7). */
export const CHECK_PATH = `${CONTROL_PREFIX}check`;

/** Body of a CHECK_PATH request. The connector checks only a mapping of its own rules with this virtual host:port. */
export interface CheckRequest {
  subaccount: string;
  virtual_host: string;
  /** Who asked (the dashboard user, via the relay admin API); recorded in the report. */
  requested_by: string;
}

/** Request metadata the relay adds to every call stream. */
export const H = {
  subaccount: 'tw-subaccount',
  cloudApp: 'tw-cloud-app',
  principal: 'tw-principal',
  clientIp: 'tw-client-ip',
  locationId: 'tw-location-id',
  /** 'http' (absolute-form request), 'connect' (TCP) or 'upgrade' (HTTP Upgrade, e.g. websocket). */
  kind: 'tw-kind',
  /** The Upgrade token the cloud app asked for (kind 'upgrade'). */
  upgrade: 'tw-upgrade',
  /** When the relay received the call, epoch microseconds: the start of the tunnel phase. */
  relayReceivedUs: 'tw-relay-received-us',
  /** Response: the backend switched protocols (101); raw bytes follow in both directions. */
  upgraded: 'tw-upgraded',
} as const;

/** Public response headers on every refusal, from either end. */
export const RESPONSE_HEADERS = {
  error: 'x-tunnel-error',
  denyReason: 'x-tunnel-deny-reason',
  errorType: 'x-tunnel-error-type',
  traceId: 'x-tunnel-trace-id',
} as const;

export interface Hello {
  connector_id: string;
  location_id: string;
  subaccounts: string[];
  protocol: number;
  version: string;
  /** Present when the connector runs as one of a master/shadow pair (docs/ha.md); absent = standalone, always active. */
  ha?: HelloHa;
}

/**
 * High availability (issue 8, docs/ha.md). After registering a connector whose hello carries `ha`, the relay
 * opens one long-lived stream to ROLE_PATH on its session. Both directions carry NDJSON, one message a line:
 * the connector's response body carries RoleClaim lines (its first line is its current claim), the relay's
 * request body carries RoutingNotice lines. Only the relay can open streams on the tunnel, hence one stream
 * that stays open for the session's life instead of a request per change.
 */
export const ROLE_PATH = `${CONTROL_PREFIX}role`;

export type HaRole = 'master' | 'shadow';

export interface HelloHa {
  /** The configured role: whose rules are authoritative (the master's) and who starts active. */
  role: HaRole;
  /** The connector claims the route: the relay should send it the calls of its subaccounts and location. */
  active: boolean;
  /** The connector holds rules it may enforce (the master's, pulled at least once); only ready standbys are promoted by the relay. */
  ready: boolean;
}

/** connector -> relay, on the ROLE_PATH stream. */
export interface RoleClaim extends HelloHa {
  type: 'claim';
  /** A planned switch-over (`tunnelwatch connector switch-roles`): the session it supersedes is not warned about. */
  planned: boolean;
  /** Why, for the relay's log: start, takeover, switch-over, superseded, ... */
  reason: string;
}

/** relay -> connector, on the ROLE_PATH stream. */
export interface RoutingNotice {
  type: 'routing';
  /** The relay now sends this session the calls of its routes (true), or no longer does (false). */
  routed: boolean;
  /** claim | promoted | superseded | released */
  reason: string;
  /** The connector id whose claim superseded this session (reason superseded). */
  by?: string;
  planned?: boolean;
}

export interface Registration {
  accepted: string[];
  rejected: { subaccount: string; reason: string }[];
  relay_id: string;
}

/** Headers that describe one hop only (RFC 9110 7.6.1) and must not be forwarded; HTTP/2 forbids them. */
export const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'http2-settings',
]);

/** HTTP/2 settings for both ends: large windows so one TLS connection carries bulk transfers at speed,
 * while per-stream flow control keeps a stalled call from holding up the others. */
export const H2_SETTINGS = {
  initialWindowSize: 4 * 1024 * 1024,
  maxConcurrentStreams: 4096,
  maxHeaderListSize: 256 * 1024,
  enablePush: false,
} as const;
export const H2_CONNECTION_WINDOW = 64 * 1024 * 1024;
export const H2_MAX_SESSION_MEMORY_MB = 256;

export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
