// The tunnel protocol shared by relay and connector: HTTP/2 over one TLS connection dialled out by the
// connector, which then *serves* HTTP/2 on it; the relay is the HTTP/2 client. Call metadata travels in
// `tw-*` request headers, which the relay strips from whatever a cloud app sends.

export const TUNNEL_ALPN = 'tunnelwatch-h2/1';
export const PROTOCOL_VERSION = 1;

export const CONTROL_PREFIX = '/_tunnelwatch/v1/';
export const HELLO_PATH = `${CONTROL_PREFIX}hello`;
export const REGISTERED_PATH = `${CONTROL_PREFIX}registered`;

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
