// Accepts connectors: mTLS, then HTTP/2 with the relay as client, a hello/registration exchange, and
// keepalive pings. A connector is routed only the subaccounts its certificate is authorised for.
import http2, { type ClientHttp2Session } from 'node:http2';
import tls, { type TLSSocket } from 'node:tls';
import type { Logger } from '../../common/log.js';
import type { TlsMaterial } from '../tunnel/tls-files.js';
import {
  H2_CONNECTION_WINDOW, H2_MAX_SESSION_MEMORY_MB, H2_SETTINGS, HELLO_PATH, PROTOCOL_VERSION, REGISTERED_PATH, TUNNEL_ALPN,
  type Hello, type Registration,
} from '../tunnel/protocol.js';
import type { SessionRegistry, TunnelSession } from './session-registry.js';
import { countStreams, type SessionStats } from './session-stats.js';
import { keepalive } from '../tunnel/keepalive.js';
import { listen } from '../tunnel/listen.js';
import { openRoleChannel, sessionHaOf } from '../ha/relay-role-channel.js';

export interface TunnelListenerOptions {
  relayId: string;
  host: string;
  port: number;
  tls: TlsMaterial;
  pingIntervalMs: number;
  /** Certificate CN -> subaccounts it may serve. */
  authorised: ReadonlyMap<string, ReadonlySet<string>>;
  registry: SessionRegistry;
  /** Reconnects and last errors per connector id, for the admin API. */
  stats?: SessionStats;
  log: Logger;
}

const HELLO_TIMEOUT_MS = 10_000;
const MAX_CONTROL_BODY = 64 * 1024;

export async function startTunnelListener(options: TunnelListenerOptions): Promise<tls.Server> {
  const log = options.log.child({ component: 'relay.tunnel' });
  const server = tls.createServer({
    cert: options.tls.cert,
    key: options.tls.key,
    ca: options.tls.ca,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    ALPNProtocols: [TUNNEL_ALPN],
  });
  server.on('secureConnection', (socket) => {
    acceptConnector(socket, options, log).catch((err: unknown) => {
      log.warn({ err: (err as Error).message, remote: socket.remoteAddress }, 'connector session refused');
      socket.destroy();
    });
  });
  server.on('tlsClientError', (err, socket) => {
    log.warn({ err: err.message, remote: socket.remoteAddress }, 'TLS handshake with a connector failed (its certificate expired, not yet valid, or not signed by tunnel.tls.ca? `tunnelwatch doctor` on the connector says which)');
  });
  await listen(server, options.port, options.host);
  return server;
}

async function acceptConnector(socket: TLSSocket, options: TunnelListenerOptions, log: Logger): Promise<void> {
  const cert = socket.getPeerCertificate();
  const cn = typeof cert.subject?.CN === 'string' ? cert.subject.CN : '';
  const remote = `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`;
  socket.setNoDelay(true);
  const h2 = http2.connect(`http://tunnel.${cn || 'unknown'}`, {
    createConnection: () => socket,
    settings: H2_SETTINGS,
    maxSessionMemory: H2_MAX_SESSION_MEMORY_MB,
  });
  countStreams(h2);
  const stats = options.stats;
  let errorNoted = false;
  const noteError = (message: string): void => {
    errorNoted = true;
    if (cn) stats?.error(cn, message);
  };
  h2.on('error', (err) => {
    noteError(`tunnel session error: ${err.message}`);
    log.warn({ connector: cn, err: err.message }, 'tunnel session error');
  });
  h2.on('goaway', (errorCode) => {
    if (errorCode !== http2.constants.NGHTTP2_NO_ERROR) noteError(`the connector ended the session with HTTP/2 error code ${errorCode}`);
  });
  socket.on('error', (err: NodeJS.ErrnoException) => noteError(`tunnel socket error: ${err.code ?? ''} ${err.message}`.replace(/ {2}/g, ' ')));
  h2.setLocalWindowSize(H2_CONNECTION_WINDOW);

  let hello: Hello;
  try {
    hello = JSON.parse(await control(h2, HELLO_PATH, { relay_id: options.relayId, protocol: PROTOCOL_VERSION })) as Hello;
  } catch (err) {
    noteError(`hello failed: ${(err as Error).message}`);
    throw err;
  }
  const allowed = options.authorised.get(cn);
  const registration: Registration = { accepted: [], rejected: [], relay_id: options.relayId };
  if (hello.connector_id !== cn) {
    for (const s of hello.subaccounts ?? []) registration.rejected.push({ subaccount: s, reason: `certificate CN "${cn}" does not match connector.id "${hello.connector_id}"` });
  } else if (!allowed) {
    for (const s of hello.subaccounts ?? []) registration.rejected.push({ subaccount: s, reason: `certificate CN "${cn}" is not listed in the relay's tunnel.connectors` });
  } else {
    for (const s of hello.subaccounts ?? []) {
      if (allowed.has(s)) registration.accepted.push(s);
      else registration.rejected.push({ subaccount: s, reason: `tunnel.connectors entry "${cn}" does not list subaccount "${s}"` });
    }
  }
  if (registration.rejected.length > 0) log.warn({ connector: cn, rejected: registration.rejected }, 'connector asked for subaccounts it is not authorised for');
  if (registration.rejected.length > 0) noteError(`registration refused subaccounts: ${registration.rejected.map((r) => `${r.subaccount} (${r.reason})`).join('; ')}`);
  if (registration.accepted.length === 0) {
    await control(h2, REGISTERED_PATH, registration);
    h2.close();
    return;
  }
  const session: TunnelSession = {
    connectorId: cn,
    locationId: typeof hello.location_id === 'string' ? hello.location_id : '',
    subaccounts: registration.accepted,
    connectedAt: new Date(),
    remoteAddress: remote,
    h2,
    rttMs: -1,
  };
  // A master/shadow connector (docs/ha.md): active or standby as its hello claims, then the role channel.
  const ha = sessionHaOf(hello);
  if (ha) session.ha = ha;
  // Routable before the connector hears it is registered, so its first call never meets a 503.
  const previous = options.registry.add(session);
  stats?.sessionOpened(cn);
  previous?.h2.close();
  if (session.ha) openRoleChannel({ h2, session, registry: options.registry, log, ...(stats ? { stats } : {}) });
  h2.once('close', () => {
    // A session that ends while still the connector's newest, with no error seen, was dropped without a
    // word (connector killed, network cut): worth showing. One replaced by a reconnect is not.
    if (!errorNoted && options.registry.current(cn) === session) noteError('the tunnel connection closed (connector stopped, or the network dropped it)');
    options.registry.remove(session);
    log.info({ connector: cn, location_id: session.locationId }, 'connector session closed');
  });
  await control(h2, REGISTERED_PATH, registration);
  log.info({ connector: cn, location_id: session.locationId, subaccounts: session.subaccounts, remote }, 'connector registered');
  const stopPing = keepalive(h2, options.pingIntervalMs, (rtt) => (session.rttMs = rtt), () => {
    log.warn({ connector: cn }, 'connector missed two keepalive pings; closing its session');
    noteError('missed two keepalive pings; the relay closed the session');
    h2.destroy();
  });
  h2.once('close', stopPing);
}

/** Sends a control message and returns the response body. */
function control(h2: ClientHttp2Session, path: string, body: unknown): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = h2.request({ ':method': 'POST', ':path': path, 'content-type': 'application/json' });
    const timer = setTimeout(() => {
      req.close(http2.constants.NGHTTP2_CANCEL);
      reject(new Error(`no answer to ${path} within ${HELLO_TIMEOUT_MS} ms`));
    }, HELLO_TIMEOUT_MS);
    timer.unref();
    let status = 0;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('response', (headers) => (status = Number(headers[':status'])));
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_CONTROL_BODY) req.close(http2.constants.NGHTTP2_CANCEL);
      else chunks.push(chunk);
    });
    req.on('end', () => {
      clearTimeout(timer);
      if (status === 200) resolve(Buffer.concat(chunks).toString('utf8'));
      else reject(new Error(`${path} answered ${status}`));
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(JSON.stringify(body));
  });
}
