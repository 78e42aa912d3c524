// The relay's end of the HA role channel (docs/ha.md): one stream per master/shadow session, opened by the
// relay right after registration. The connector's claims (active or standby, ready or not) come in as NDJSON
// lines of the response; routing changes go out as lines of the request body. Only the relay decides where a
// call goes, and of two sessions claiming the same route, the later claim wins.
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import type { Logger } from '../../common/log.js';
import { ROLE_PATH, type Hello, type RoutingNotice } from '../tunnel/protocol.js';
import type { SessionHa, SessionRegistry, TunnelSession } from '../relay/session-registry.js';
import type { SessionStats } from '../relay/session-stats.js';
import { ndjsonLine, readNdjson } from './ndjson.js';

/**
 * The session's HA state from its hello, or undefined for a standalone connector (no `ha`). A malformed
 * `ha` makes a standby that is not ready: it never takes routes it was not clearly given.
 */
export function sessionHaOf(hello: Hello): SessionHa | undefined {
  const ha = hello.ha as unknown;
  if (ha === undefined) return undefined;
  if (ha === null || typeof ha !== 'object') return { role: 'shadow', active: false, ready: false };
  const h = ha as Record<string, unknown>;
  const wellFormed = (h.role === 'master' || h.role === 'shadow') && typeof h.active === 'boolean' && typeof h.ready === 'boolean';
  if (!wellFormed) return { role: h.role === 'master' ? 'master' : 'shadow', active: false, ready: false };
  return { role: h.role as SessionHa['role'], active: h.active as boolean, ready: h.ready as boolean };
}

/**
 * The open role channel of each connector id, per registry. When a connector registers again (a reconnect,
 * or a renew after its subaccounts changed) the relay closes the old session gracefully, which waits for its
 * streams to end; the role channel never ends by itself, so it is closed here.
 */
const channels = new WeakMap<SessionRegistry, Map<string, ClientHttp2Stream>>();

export interface RoleChannelOptions {
  h2: ClientHttp2Session;
  session: TunnelSession;
  registry: SessionRegistry;
  log: Logger;
  stats?: SessionStats;
}

/** Opens the role channel of an HA session and wires it to the registry. */
export function openRoleChannel(options: RoleChannelOptions): void {
  const { h2, session, registry, stats } = options;
  const ha = session.ha;
  if (!ha) return;
  const cn = session.connectorId;
  // options.log is the tunnel listener's (component relay.tunnel); `ha` marks these lines.
  const log = options.log.child({ ha: true, connector: cn, location_id: session.locationId });
  let stream: ClientHttp2Stream;
  try {
    stream = h2.request({ ':method': 'POST', ':path': ROLE_PATH, 'content-type': 'application/x-ndjson' }, { endStream: false });
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'cannot open the HA role channel; closing the session so the connector registers again');
    h2.close();
    return;
  }
  const open = channels.get(registry) ?? new Map<string, ClientHttp2Stream>();
  channels.set(registry, open);
  const replaced = open.get(cn);
  open.set(cn, stream);
  if (replaced && !replaced.destroyed) replaced.close();
  const send = (notice: RoutingNotice): void => {
    if (!stream.destroyed && !stream.writableEnded) stream.write(ndjsonLine(notice));
  };
  ha.notify = (notice) => {
    send(notice);
    if (notice.routed) {
      log.info({ reason: notice.reason, subaccounts: session.subaccounts }, 'routing to this connector session (active)');
    } else if (notice.reason === 'superseded' && !notice.planned) {
      // Two sessions claimed the same route: the later claim wins; worth an operator's look (HA link down?).
      log.warn({ by: notice.by, conflicts: registry.conflicts }, 'two connector sessions claimed active on a shared route; routing to the later claim');
      stats?.error(cn, `superseded as the active session by connector ${notice.by ?? '?'} (two sessions claimed active; the later claim wins)`);
      probeSuperseded(h2, log);
    } else {
      log.info({ reason: notice.reason, by: notice.by ?? '' }, 'no longer routing to this connector session (standby)');
    }
  };
  let status = 0;
  stream.on('response', (headers) => {
    status = Number(headers[':status']);
    if (status !== 200) {
      log.warn({ status }, 'the connector refused the HA role channel; closing the session');
      h2.close();
    }
  });
  readNdjson(
    stream,
    (message) => {
      if (status !== 200 || message.type !== 'claim') return;
      const claim = { active: message.active === true, ready: message.ready === true, planned: message.planned === true };
      const wasActive = ha.active;
      const superseded = registry.claim(session, claim);
      log.info({ active: claim.active, ready: claim.ready, planned: claim.planned, reason: String(message.reason ?? '').slice(0, 100), was_active: wasActive, superseded: superseded.map((s) => s.connectorId) }, 'HA claim');
    },
    (reason) => {
      log.warn({ reason }, 'the connector sent a malformed HA role message; closing the session');
      h2.close();
    },
  );
  stream.on('error', () => {
    // 'close' follows.
  });
  stream.on('close', () => {
    ha.notify = undefined;
    if (open.get(cn) === stream) open.delete(cn);
    // Without its channel the relay cannot hear this session's claims: end the session (calls on it finish
    // first), and the connector registers again with a fresh hello. A session that is closing anyway is left be.
    if (!h2.closed && !h2.destroyed) {
      log.warn({ code: stream.rstCode ?? 0 }, 'the HA role channel closed; closing the session so the connector registers again');
      h2.close();
    }
  });
  // What the registry decided at registration (add()), which happened before this channel existed.
  send({ type: 'routing', routed: ha.active, reason: 'registered' });
}

/** How long a session superseded by an unplanned claim has to answer a PING before the relay drops it. */
export const SUSPECT_PING_TIMEOUT_MS = 1_000;

/**
 * An unplanned claim usually means the peer lost sight of this connector: it may be frozen or cut off with
 * its socket still open, and its calls in flight would hang until the keepalive gives up (two ping
 * intervals). So it is pinged at once: a connector that answers keeps its session (and finishes its calls,
 * e.g. when only the HA link between the two broke); one that does not is dropped now, and its calls in
 * flight fail with tunnel_down.
 */
function probeSuperseded(h2: ClientHttp2Session, log: Logger): void {
  if (h2.closed || h2.destroyed) return;
  const timer = setTimeout(() => {
    if (h2.closed || h2.destroyed) return;
    log.warn({ timeout_ms: SUSPECT_PING_TIMEOUT_MS }, 'the superseded connector session does not answer a PING: dropping it, its calls in flight fail with tunnel_down');
    h2.destroy();
  }, SUSPECT_PING_TIMEOUT_MS);
  timer.unref();
  try {
    h2.ping((err) => {
      if (!err) clearTimeout(timer);
    });
  } catch {
    // Too many pings in flight: the timer decides.
  }
}
