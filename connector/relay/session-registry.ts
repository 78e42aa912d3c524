// Which connector sessions serve which subaccount and location id. Routing takes the live *active* session
// that claimed last (a reconnect or a takeover is newer than what it replaces), since after a reconnect the
// older one may be a dead socket not yet detected. A standalone session is always active; a session of a
// master/shadow pair (hello.ha) is active or standby, and a standby gets no calls (docs/ha.md).
import type { ClientHttp2Session } from 'node:http2';
import type { HaRole, RoutingNotice } from '../tunnel/protocol.js';

/** The HA state of a master/shadow session as the relay keeps it. */
export interface SessionHa {
  readonly role: HaRole;
  /** The relay routes this session's routes to it; changed by claims, promotion and supersession. */
  active: boolean;
  /** The connector holds rules it may enforce; only a ready standby is promoted by the relay itself. */
  ready: boolean;
  /** Set by the role channel (connector/ha/relay-role-channel.ts): tells the connector about routing changes. */
  notify?: (notice: RoutingNotice) => void;
}

/** Standalone sessions (no ha) are always active. */
export function isActive(session: TunnelSession): boolean {
  return session.ha ? session.ha.active : true;
}

function live(session: TunnelSession): boolean {
  return !session.h2.closed && !session.h2.destroyed;
}

export interface TunnelSession {
  readonly connectorId: string;
  readonly locationId: string;
  readonly subaccounts: readonly string[];
  readonly connectedAt: Date;
  readonly remoteAddress: string;
  readonly h2: ClientHttp2Session;
  /** Last measured PING round trip (ms), -1 before the first. */
  rttMs: number;
  /** Master/shadow state (hello.ha); absent = a standalone connector, always active. */
  ha?: SessionHa;
}

export interface SessionObserver {
  added(session: TunnelSession): void;
  removed(session: TunnelSession): void;
  activated(session: TunnelSession, how: { reason: 'claim' | 'promoted'; planned: boolean; superseded: readonly TunnelSession[] }): void;
}

function key(subaccount: string, locationId: string): string {
  return `${subaccount}\u0000${locationId}`;
}

export class SessionRegistry {
  private readonly routes = new Map<string, TunnelSession[]>();
  private readonly byConnector = new Map<string, TunnelSession>();
  /** When each session last became active (a counter): of two active sessions on a route, the later claim wins. */
  private readonly claimed = new WeakMap<TunnelSession, number>();
  private claims = 0;
  /** Unplanned claims that superseded another active HA session on a shared route (two actives at once). */
  conflicts = 0;
  /** Standby sessions the relay made active itself because the active one was gone (failovers it carried out). */
  promotions = 0;
  /** Told of sessions added, removed and made active (connector/relay/tunnel-alerts.ts); must not throw. */
  observer?: SessionObserver;

  /**
   * Adds a session; an older session of the same connector id is returned so the caller can close it. An
   * active session claims its routes at once, superseding the sessions active on them until now.
   */
  add(session: TunnelSession): TunnelSession | undefined {
    const previous = this.byConnector.get(session.connectorId);
    // Detached without promoting anyone: the new session of the same connector may be the one to route to.
    if (previous) this.detach(previous);
    this.byConnector.set(session.connectorId, session);
    for (const subaccount of session.subaccounts) {
      const k = key(subaccount, session.locationId);
      const list = this.routes.get(k) ?? [];
      list.push(session);
      this.routes.set(k, list);
    }
    if (isActive(session)) this.activate(session, 'claim', false);
    if (previous && isActive(previous)) this.promoteWhereNeeded(previous);
    this.observer?.added(session);
    return previous;
  }

  /** Forgets a session (closed); if it was active, a ready standby on its routes is promoted at once. */
  remove(session: TunnelSession): void {
    this.detach(session);
    if (isActive(session)) this.promoteWhereNeeded(session);
    this.observer?.removed(session);
  }

  private detach(session: TunnelSession): void {
    if (this.byConnector.get(session.connectorId) === session) this.byConnector.delete(session.connectorId);
    for (const subaccount of session.subaccounts) {
      const k = key(subaccount, session.locationId);
      const list = this.routes.get(k)?.filter((s) => s !== session);
      if (list && list.length > 0) this.routes.set(k, list);
      else this.routes.delete(k);
    }
  }

  /**
   * The session that gets this route's calls: the live active one that claimed last. With none (the active
   * one just dropped and its close is not yet handled), the newest ready standby is promoted on the spot.
   */
  pick(subaccount: string, locationId: string): TunnelSession | undefined {
    const list = this.routes.get(key(subaccount, locationId));
    if (!list) return undefined;
    return this.activeOf(list) ?? this.promote(list);
  }

  /**
   * A master/shadow session claims its routes (active) or gives them up (standby), over its role channel.
   * Returns the sessions the claim superseded (they were active on a shared route and are standby now).
   */
  claim(session: TunnelSession, claim: { active: boolean; ready: boolean; planned: boolean }): TunnelSession[] {
    const ha = session.ha;
    if (!ha) return [];
    ha.ready = claim.ready;
    // A session replaced by a newer one of the same connector no longer takes part in routing.
    if (this.byConnector.get(session.connectorId) !== session || !live(session)) return [];
    if (claim.active) return ha.active ? [] : this.activate(session, 'claim', claim.planned);
    if (ha.active) {
      ha.active = false;
      ha.notify?.({ type: 'routing', routed: false, reason: 'released' });
      this.promoteWhereNeeded(session);
    }
    return [];
  }

  private activeOf(list: readonly TunnelSession[]): TunnelSession | undefined {
    let best: TunnelSession | undefined;
    let bestClaim = -1;
    for (const s of list) {
      if (!live(s) || !isActive(s)) continue;
      const c = this.claimed.get(s) ?? 0;
      if (c > bestClaim) {
        best = s;
        bestClaim = c;
      }
    }
    return best;
  }

  /**
   * The relay's own fast takeover: the newest live, ready standby of a route without an active session. A
   * standby that another session serves actively on one of its other routes is left alone: a promotion fills
   * a gap, it never takes routes from a live active session (e.g. a subaccount the standby announces before
   * the active connector of the pair does).
   */
  private promote(list: readonly TunnelSession[], except?: TunnelSession): TunnelSession | undefined {
    let chosen: TunnelSession | undefined;
    // Registration order: the last match is the newest session.
    for (const s of list) if (s !== except && live(s) && s.ha && !s.ha.active && s.ha.ready && !this.activeBeside(s, except)) chosen = s;
    if (chosen) {
      this.promotions++;
      this.activate(chosen, 'promoted', false);
    }
    return chosen;
  }

  private activeBeside(candidate: TunnelSession, except: TunnelSession | undefined): boolean {
    for (const subaccount of candidate.subaccounts) {
      for (const other of this.routes.get(key(subaccount, candidate.locationId)) ?? []) {
        if (other !== candidate && other !== except && live(other) && isActive(other)) return true;
      }
    }
    return false;
  }

  private promoteWhereNeeded(gone: TunnelSession): void {
    for (const subaccount of gone.subaccounts) {
      const list = this.routes.get(key(subaccount, gone.locationId));
      if (list && !this.activeOf(list.filter((s) => s !== gone))) this.promote(list, gone);
    }
  }

  private activate(session: TunnelSession, reason: 'claim' | 'promoted', planned: boolean): TunnelSession[] {
    if (session.ha) session.ha.active = true;
    this.claimed.set(session, ++this.claims);
    const superseded: TunnelSession[] = [];
    const seen = new Set<TunnelSession>([session]);
    for (const subaccount of session.subaccounts) {
      for (const other of this.routes.get(key(subaccount, session.locationId)) ?? []) {
        if (seen.has(other)) continue;
        seen.add(other);
        // A standalone session cannot be told to stand by; it stays active and simply loses on claim order.
        if (!live(other) || !other.ha?.active) continue;
        if (!planned) this.conflicts++;
        other.ha.active = false;
        other.ha.notify?.({ type: 'routing', routed: false, reason: 'superseded', by: session.connectorId, planned });
        superseded.push(other);
      }
    }
    session.ha?.notify?.({ type: 'routing', routed: true, reason, ...(planned ? { planned } : {}) });
    this.observer?.activated(session, { reason, planned, superseded });
    return superseded;
  }

  /** The newest session of this connector id, live or not yet removed. */
  current(connectorId: string): TunnelSession | undefined {
    return this.byConnector.get(connectorId);
  }

  list(): TunnelSession[] {
    return [...this.byConnector.values()];
  }
}
