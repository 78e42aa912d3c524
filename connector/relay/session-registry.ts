// Which connector sessions serve which subaccount and location id. Routing takes the newest live
// session, since after a reconnect the older one may be a dead socket not yet detected.
import type { ClientHttp2Session } from 'node:http2';

export interface TunnelSession {
  readonly connectorId: string;
  readonly locationId: string;
  readonly subaccounts: readonly string[];
  readonly connectedAt: Date;
  readonly remoteAddress: string;
  readonly h2: ClientHttp2Session;
  /** Last measured PING round trip (ms), -1 before the first. */
  rttMs: number;
}

function key(subaccount: string, locationId: string): string {
  return `${subaccount}\u0000${locationId}`;
}

export class SessionRegistry {
  private readonly routes = new Map<string, TunnelSession[]>();
  private readonly byConnector = new Map<string, TunnelSession>();

  /** Adds a session; an older session of the same connector id is returned so the caller can close it. */
  add(session: TunnelSession): TunnelSession | undefined {
    const previous = this.byConnector.get(session.connectorId);
    if (previous) this.remove(previous);
    this.byConnector.set(session.connectorId, session);
    for (const subaccount of session.subaccounts) {
      const k = key(subaccount, session.locationId);
      const list = this.routes.get(k) ?? [];
      list.push(session);
      this.routes.set(k, list);
    }
    return previous;
  }

  remove(session: TunnelSession): void {
    if (this.byConnector.get(session.connectorId) === session) this.byConnector.delete(session.connectorId);
    for (const subaccount of session.subaccounts) {
      const k = key(subaccount, session.locationId);
      const list = this.routes.get(k)?.filter((s) => s !== session);
      if (list && list.length > 0) this.routes.set(k, list);
      else this.routes.delete(k);
    }
  }

  pick(subaccount: string, locationId: string): TunnelSession | undefined {
    const list = this.routes.get(key(subaccount, locationId));
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const s = list[i] as TunnelSession;
      if (!s.h2.closed && !s.h2.destroyed) return s;
    }
    return undefined;
  }

  list(): TunnelSession[] {
    return [...this.byConnector.values()];
  }
}
