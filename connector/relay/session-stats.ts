// What the relay remembers about each connector id beyond its live session: how many sessions it opened
// since the relay started, and the last error seen on any of them. The registry forgets a session when it
// closes; these facts must outlive it, or a flapping connector would look healthy between two drops.
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import type { ConnectorSessionView } from '../diagnostics/types.js';
import type { AdminRoute } from './admin-server.js';
import type { SessionRegistry, TunnelSession } from './session-registry.js';

interface ConnectorStats {
  sessions: number;
  lastError: string;
  lastErrorAt: string;
}

/** Error texts are cut here: a peer's GOAWAY debug data or a long TLS reason should not bloat the view. */
const MAX_ERROR_CHARS = 500;
/** Connector ids remembered; beyond this the least recently active is forgotten (bounded memory). */
const MAX_CONNECTORS = 10_000;

export class SessionStats {
  private readonly byConnector = new Map<string, ConnectorStats>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** A session of this connector id was registered. */
  sessionOpened(connectorId: string): void {
    this.entry(connectorId).sessions++;
    this.opened++;
  }

  /** Sessions registered since the relay started, all connectors together. */
  opened = 0;

  /** Something went wrong on one of this connector id's sessions (or its registration). */
  error(connectorId: string, message: string): void {
    const e = this.entry(connectorId);
    e.lastError = message.length > MAX_ERROR_CHARS ? `${message.slice(0, MAX_ERROR_CHARS)}...` : message;
    e.lastErrorAt = this.now().toISOString();
  }

  view(session: TunnelSession): ConnectorSessionView {
    const e = this.byConnector.get(session.connectorId);
    return {
      connector_id: session.connectorId,
      location_id: session.locationId,
      subaccounts: [...session.subaccounts],
      remote_address: session.remoteAddress,
      connected_since: session.connectedAt.toISOString(),
      rtt_ms: session.rttMs < 0 ? -1 : Math.round(session.rttMs * 1000) / 1000,
      open_streams: openStreams(session.h2),
      reconnects: Math.max(0, (e?.sessions ?? 1) - 1),
      last_error: e?.lastError ?? '',
      last_error_at: e?.lastErrorAt ?? '',
    };
  }

  private entry(connectorId: string): ConnectorStats {
    let e = this.byConnector.get(connectorId);
    if (e) {
      // Re-insert: Map order is then least recently active first, which is what eviction wants.
      this.byConnector.delete(connectorId);
    } else {
      e = { sessions: 0, lastError: '', lastErrorAt: '' };
      if (this.byConnector.size >= MAX_CONNECTORS) {
        const oldest = this.byConnector.keys().next().value;
        if (oldest !== undefined) this.byConnector.delete(oldest);
      }
    }
    this.byConnector.set(connectorId, e);
    return e;
  }
}

const streamCount = new WeakMap<ClientHttp2Session, { open: number }>();

/**
 * Counts the streams open on a relay-side session. node:http2 exposes no count of a client session's
 * active streams, and streams are opened in several places (calls, control messages, checks), so the
 * session's request() is wrapped once, right after the session is created, before any stream exists.
 */
export function countStreams(h2: ClientHttp2Session): void {
  if (streamCount.has(h2)) return;
  const counter = { open: 0 };
  streamCount.set(h2, counter);
  const request = h2.request.bind(h2);
  h2.request = ((...args: Parameters<ClientHttp2Session['request']>): ClientHttp2Stream => {
    const stream = request(...args);
    counter.open++;
    stream.once('close', () => counter.open--);
    return stream;
  }) as ClientHttp2Session['request'];
}

export function openStreams(h2: ClientHttp2Session): number {
  return streamCount.get(h2)?.open ?? 0;
}

/** GET /admin/v1/connectors: every live connector session with its statistics. */
export function connectorsRoute(registry: SessionRegistry, stats: SessionStats): AdminRoute {
  return {
    method: 'GET',
    path: '/admin/v1/connectors',
    auth: 'token',
    handle: () => {
      const connectors = registry.list().filter((s) => !s.h2.closed && !s.h2.destroyed).map((s) => stats.view(s));
      connectors.sort((a, b) => a.connector_id.localeCompare(b.connector_id));
      return { status: 200, body: { connectors } };
    },
  };
}
