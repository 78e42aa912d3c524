// Keeps the tunnel up: dial the relay over mTLS, serve HTTP/2 on that socket, answer the hello,
// ping, and reconnect with exponential backoff and jitter when anything breaks.
import http2, { type Http2Server, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import tls, { type TLSSocket } from 'node:tls';
import type { Logger } from '../../common/log.js';
import { Backoff, type BackoffOptions } from '../../common/backoff.js';
import {
  CHECK_PATH, CONTROL_PREFIX, H, H2_CONNECTION_WINDOW, H2_MAX_SESSION_MEMORY_MB, H2_SETTINGS, HELLO_PATH, PROTOCOL_VERSION, REGISTERED_PATH, ROLE_PATH, TUNNEL_ALPN,
  type Hello, type Registration,
} from '../tunnel/protocol.js';
import type { TlsMaterial } from '../tunnel/tls-files.js';
import { keepalive } from '../tunnel/keepalive.js';
import { isIp } from './backend-pool.js';

export interface TunnelClientOptions {
  host: string;
  port: number;
  /** The relay as configured (host:port), named in this tunnel's log lines; default host:port. */
  address?: string;
  serverName?: string;
  tls: TlsMaterial;
  pingIntervalMs: number;
  backoff: BackoffOptions;
  hello: () => Hello;
  onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;
  /** The relay's on-demand check requests (CHECK_PATH); absent = answered 404. */
  onCheck?: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;
  /** The relay's HA role channel (ROLE_PATH, docs/ha.md); absent = answered 404. */
  onRole?: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;
  /** Told each change of status.state (HA: a dropped tunnel, a registration). */
  onState?: (state: TunnelState) => void;
  log: Logger;
}

export type TunnelState = 'connecting' | 'registered' | 'waiting';

export interface TunnelStatus {
  state: TunnelState;
  accepted: string[];
  rejected: Registration['rejected'];
  connects: number;
  lastError: string;
  since: Date;
}

const DIAL_TIMEOUT_MS = 10_000;

export class TunnelClient {
  private readonly server: Http2Server;
  private readonly backoff: Backoff;
  private socket: TLSSocket | undefined;
  private session: ServerHttp2Session | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly log: Logger;
  readonly status: TunnelStatus = { state: 'waiting', accepted: [], rejected: [], connects: 0, lastError: '', since: new Date() };
  /** Resolves whenever a registration arrives; tests and the demo wait on it. */
  private registeredWaiters: (() => void)[] = [];
  /** Connections replaced by renew() that still finish their calls; destroyed by stop(). */
  private readonly retired = new Set<TLSSocket>();
  /** Every HTTP/2 session not yet closed (the current one and those renew() retired): close() drains them. */
  private readonly sessions = new Set<ServerHttp2Session>();
  readonly address: string;

  constructor(private readonly options: TunnelClientOptions) {
    this.address = options.address ?? `${options.host}:${options.port}`;
    this.log = options.log.child({ component: 'connector.tunnel', relay_address: this.address });
    this.backoff = new Backoff(options.backoff);
    this.server = http2.createServer({ settings: H2_SETTINGS, maxSessionMemory: H2_MAX_SESSION_MEMORY_MB });
    this.server.on('session', (session: ServerHttp2Session) => this.onSession(session));
    this.server.on('stream', (stream, headers) => this.onStream(stream, headers));
    this.server.on('sessionError', (err) => this.log.warn({ err: err.message }, 'tunnel session error'));
  }

  start(): void {
    this.stopped = false;
    this.dial();
  }

  whenRegistered(): Promise<void> {
    if (this.status.state === 'registered') return Promise.resolve();
    return new Promise((resolve) => this.registeredWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.session?.destroy();
    this.socket?.destroy();
    for (const s of this.retired) s.destroy();
  }

  /**
   * Stops, letting the calls in flight finish first (at most graceMs). A GOAWAY tells the relay to open no
   * new stream on the session: it routes new calls elsewhere (a ready standby, another connector) or
   * refuses them, and the connection closes once its streams have ended. Long-lived streams (the HA role
   * channel) must be ended by their owners, or the grace runs out.
   */
  async close(graceMs: number): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const open = [...this.sessions].filter((s) => !s.closed && !s.destroyed);
    if (open.length > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      const closed = open.map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
      for (const s of open) s.close();
      await Promise.race([Promise.all(closed), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    await this.stop();
  }

  /**
   * Registers again on a new connection while the current one keeps serving, so that the relay hears a
   * new hello (an HA shadow whose subaccounts changed, docs/ha.md). The relay replaces the old session with
   * the new one and closes the old one gracefully: calls on it finish. Not registered: nothing to do, the
   * next dial's hello carries the change anyway.
   */
  renew(): void {
    const old = this.socket;
    if (this.stopped || this.status.state !== 'registered' || !old) return;
    this.retired.add(old);
    old.once('close', () => this.retired.delete(old));
    this.dial(true);
  }

  private dial(renewing = false): void {
    if (this.stopped) return;
    const { host, port } = this.options;
    if (!renewing) this.setState('connecting');
    const servername = this.options.serverName ?? (isIp(host) ? undefined : host);
    const socket = tls.connect({
      host,
      port,
      servername,
      cert: this.options.tls.cert,
      key: this.options.tls.key,
      ca: this.options.tls.ca,
      ALPNProtocols: [TUNNEL_ALPN],
      minVersion: 'TLSv1.2',
      timeout: DIAL_TIMEOUT_MS,
    });
    this.socket = socket;
    let failed = false;
    const fail = (reason: string): void => {
      if (failed) return;
      failed = true;
      socket.destroy();
      // A connection that renew() replaced may end as it likes: the newer one is what counts.
      if (this.socket === socket) this.retry(reason);
    };
    socket.once('timeout', () => fail(`no TLS connection to ${host}:${port} within ${DIAL_TIMEOUT_MS} ms`));
    socket.once('error', (err: NodeJS.ErrnoException) => fail(`${err.code ?? 'error'}: ${err.message}`));
    socket.once('secureConnect', () => {
      socket.setTimeout(0);
      if (socket.alpnProtocol !== TUNNEL_ALPN) {
        fail(`the relay at ${host}:${port} did not agree on the tunnel protocol (ALPN ${String(socket.alpnProtocol)}): is ${this.address} the relay's tunnel port?`);
        return;
      }
      socket.setNoDelay(true);
      this.status.connects++;
      socket.once('close', () => {
        if (!failed) {
          failed = true;
          if (this.socket === socket) this.retry(this.status.state === 'registered' ? 'tunnel closed' : 'relay closed the tunnel before registration');
        }
      });
      this.server.emit('connection', socket);
    });
  }

  private retry(reason: string): void {
    this.session = undefined;
    this.status.lastError = reason;
    this.setState('waiting');
    if (this.stopped) return;
    const delay = this.backoff.next();
    this.log.warn({ reason, retry_in_ms: delay, attempt: this.backoff.attempts }, 'tunnel to relay is down; reconnecting');
    // Not unref()ed: waiting to reconnect is this process's job, so it must keep the process alive.
    this.timer = setTimeout(() => this.dial(), delay);
  }

  private onSession(session: ServerHttp2Session): void {
    this.session = session;
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    // This session's own connection (emitted just now by dial()): after a renew() this.socket is another one.
    const socket = this.socket;
    session.on('connect', () => session.setLocalWindowSize(H2_CONNECTION_WINDOW));
    session.on('error', (err) => this.log.warn({ err: err.message }, 'tunnel session error'));
    const stop = keepalive(session, this.options.pingIntervalMs, () => {}, () => {
      this.log.warn('relay missed two keepalive pings; dropping the tunnel');
      session.destroy();
      socket?.destroy();
    });
    session.once('close', stop);
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const path = headers[':path'];
    // A cloud app's call can carry any path, /_tunnelwatch/... included (the relay passes the target as
    // received), but every call stream carries the relay's tw-kind header, which the relay strips from
    // what cloud apps send. So a stream with it is a call whatever its path, and only the relay's own
    // streams reach the control handlers.
    if (headers[H.kind] === undefined && typeof path === 'string' && path.startsWith(CONTROL_PREFIX)) this.onControl(stream, headers, path);
    else this.options.onStream(stream, headers);
  }

  private onControl(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, path: string): void {
    if (path === HELLO_PATH) {
      stream.resume();
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end(JSON.stringify({ ...this.options.hello(), protocol: PROTOCOL_VERSION }));
      return;
    }
    if (path === REGISTERED_PATH) {
      readJson(stream, (body) => {
        stream.respond({ ':status': 200 });
        stream.end('{}');
        this.onRegistered(body as Registration);
      });
      return;
    }
    if (path === CHECK_PATH && this.options.onCheck) {
      this.options.onCheck(stream, headers);
      return;
    }
    if (path === ROLE_PATH && this.options.onRole) {
      this.options.onRole(stream, headers);
      return;
    }
    stream.resume();
    stream.respond({ ':status': 404, 'content-type': 'application/json' });
    stream.end(JSON.stringify({ error: `this connector does not serve ${path}` }));
  }

  private onRegistered(reg: Registration): void {
    this.status.accepted = reg.accepted ?? [];
    this.status.rejected = reg.rejected ?? [];
    for (const r of this.status.rejected) {
      this.log.error({ subaccount: r.subaccount, reason: r.reason, relay: reg.relay_id }, 'relay refused to route a subaccount to this connector');
    }
    if (this.status.accepted.length === 0) {
      this.status.lastError = 'relay accepted none of this connector\'s subaccounts';
      return;
    }
    this.backoff.reset();
    this.setState('registered');
    this.log.info({ relay: reg.relay_id, subaccounts: this.status.accepted }, 'tunnel registered with relay');
    const waiters = this.registeredWaiters;
    this.registeredWaiters = [];
    for (const w of waiters) w();
  }

  private setState(state: TunnelState): void {
    this.status.state = state;
    this.status.since = new Date();
    this.options.onState?.(state);
  }
}

function readJson(stream: ServerHttp2Stream, done: (body: unknown) => void): void {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => {
    try {
      done(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch {
      stream.respond({ ':status': 400 });
      stream.end();
    }
  });
}
