// Tunnel down and failover alerts, as the relay sees them (docs/alerts.md). The relay is the one place that
// knows when a connector's tunnel is gone: its session ended and no new session of that connector id
// registered within alerts.tunnel_down_grace_ms (a reconnect after a relay or network blip is not worth
// waking anyone). It resolves when a session of the connector registers again. A failover is an HA
// standby session that became active on a route another connector served before: the relay promoting it
// because the active session dropped, or its own claim (takeover after its watchdog gave up on the peer,
// or a planned switch-over, which is low).
//
// It listens to the session registry through its observer hook and never changes routing.
import type { Logger } from '../../common/log.js';
import type { OpsEvent } from '../../common/ops/ops-events.js';
import { isActive, type SessionObserver, type SessionRegistry, type TunnelSession } from './session-registry.js';

export interface TunnelAlertsOptions {
  readonly relayId: string;
  readonly registry: SessionRegistry;
  readonly graceMs: number;
  readonly report: (event: OpsEvent) => void;
  /** The last error seen on this connector's sessions (SessionStats), for the alert's detail. */
  readonly lastError?: (session: TunnelSession) => string;
  readonly now?: () => Date;
  readonly log?: Logger;
}

interface Down {
  readonly since: Date;
  readonly session: TunnelSession;
  readonly lastError: string;
  timer: NodeJS.Timeout | undefined;
  fired: boolean;
}

function routeKey(subaccount: string, locationId: string): string {
  return `${subaccount}\u0000${locationId}`;
}

function live(s: TunnelSession): boolean {
  return !s.h2.closed && !s.h2.destroyed;
}

export class TunnelAlerts implements SessionObserver {
  private readonly down = new Map<string, Down>();
  /** Connector ids registered since the relay started: the first registration clears what an earlier run left open. */
  private readonly seen = new Set<string>();
  /** The connector last active on each route, to tell a failover from a (re)start. */
  private readonly lastActive = new Map<string, string>();
  private stopped = false;
  private readonly now: () => Date;

  constructor(private readonly o: TunnelAlertsOptions) {
    this.now = o.now ?? (() => new Date());
  }

  added(session: TunnelSession): void {
    if (this.stopped) return;
    const id = session.connectorId;
    const pending = this.down.get(id);
    const at = this.now();
    if (pending) {
      if (pending.timer) clearTimeout(pending.timer);
      this.down.delete(id);
      if (pending.fired) {
        this.o.report({
          type: 'tunnel_down', state: 'resolved', at: at.toISOString(), subject: id, episode: pending.since.toISOString(), since: pending.since.toISOString(),
          detail: { ...this.describe(session), down_ms: at.getTime() - pending.since.getTime() },
        });
      }
    } else if (!this.seen.has(id)) {
      this.o.report({ type: 'tunnel_down', state: 'resolved', at: at.toISOString(), subject: id, detail: this.describe(session) });
    }
    this.seen.add(id);
  }

  removed(session: TunnelSession): void {
    if (this.stopped) return;
    const id = session.connectorId;
    // Replaced by a newer session of the same connector (a reconnect): not down.
    if (this.o.registry.current(id) || this.down.has(id)) return;
    const entry: Down = { since: this.now(), session, lastError: this.o.lastError?.(session) ?? '', timer: undefined, fired: false };
    entry.timer = setTimeout(() => this.fire(id, entry), this.o.graceMs);
    entry.timer.unref();
    this.down.set(id, entry);
  }

  activated(session: TunnelSession, how: { reason: 'claim' | 'promoted'; planned: boolean; superseded: readonly TunnelSession[] }): void {
    if (this.stopped) return;
    const from = new Set(how.superseded.map((s) => s.connectorId));
    for (const subaccount of session.subaccounts) {
      const k = routeKey(subaccount, session.locationId);
      const before = this.lastActive.get(k);
      if (before !== undefined && before !== session.connectorId) from.add(before);
      this.lastActive.set(k, session.connectorId);
    }
    from.delete(session.connectorId);
    // Standalone connectors of one route simply take turns by registration order: no failover to report.
    if (!session.ha || from.size === 0) return;
    const at = this.now().toISOString();
    const why = how.planned
      ? 'planned switch-over (tunnelwatch connector switch-roles)'
      : how.reason === 'promoted'
        ? 'the relay promoted the standby because the active session was gone'
        : how.superseded.length > 0
          ? 'the standby claimed the routes while the active session was still connected (its HA watchdog had no answer from the peer)'
          : 'the standby claimed the routes after the active session was gone';
    this.o.report({
      type: 'failover', state: 'firing', at, since: at, subject: session.connectorId, episode: `${at}/${session.connectorId}`, severity: how.planned ? 'low' : 'medium',
      detail: { ...this.describe(session), from: [...from].sort(), reason: how.reason, planned: how.planned, why, ha_role: session.ha.role },
    });
  }

  private fire(id: string, entry: Down): void {
    entry.timer = undefined;
    if (this.stopped || this.down.get(id) !== entry) return;
    const current = this.o.registry.current(id);
    if (current && live(current)) {
      this.down.delete(id);
      return;
    }
    entry.fired = true;
    const servedBy = this.servedBy(entry.session);
    const unserved = entry.session.subaccounts.filter((s) => !servedBy.has(s));
    this.o.report({
      type: 'tunnel_down', state: 'firing', at: this.now().toISOString(), subject: id, episode: entry.since.toISOString(), since: entry.since.toISOString(),
      // With every route served by another active session (an HA standby took over) no call fails now.
      severity: unserved.length === 0 ? 'medium' : 'high',
      detail: {
        ...this.describe(entry.session),
        grace_ms: this.o.graceMs,
        last_error: entry.lastError,
        connected_since: entry.session.connectedAt.toISOString(),
        unserved_subaccounts: unserved,
        served_by: [...new Set(servedBy.values())].sort(),
      },
    });
  }

  /** Subaccount -> the connector now active for it on the session's location, for those another one serves. */
  private servedBy(gone: TunnelSession): Map<string, string> {
    const out = new Map<string, string>();
    for (const s of this.o.registry.list()) {
      if (s.connectorId === gone.connectorId || s.locationId !== gone.locationId || !live(s) || !isActive(s)) continue;
      for (const sub of s.subaccounts) if (gone.subaccounts.includes(sub)) out.set(sub, s.connectorId);
    }
    return out;
  }

  private describe(s: TunnelSession): Record<string, string | readonly string[]> {
    return { relay_id: this.o.relayId, location_id: s.locationId, subaccounts: [...s.subaccounts], remote_address: s.remoteAddress };
  }

  /** Stops: pending grace timers are dropped (a relay shutting down closes every session, which is no outage). */
  stop(): void {
    this.stopped = true;
    for (const d of this.down.values()) if (d.timer) clearTimeout(d.timer);
    this.down.clear();
  }
}

/** Attaches the alerts to the registry (after any observer already there) and returns them. */
export function startTunnelAlerts(o: TunnelAlertsOptions): TunnelAlerts {
  const alerts = new TunnelAlerts(o);
  const before = o.registry.observer;
  o.registry.observer = before
    ? {
        added: (s) => (before.added(s), alerts.added(s)),
        removed: (s) => (before.removed(s), alerts.removed(s)),
        activated: (s, how) => (before.activated(s, how), alerts.activated(s, how)),
      }
    : alerts;
  o.log?.debug({ grace_ms: o.graceMs }, 'tunnel alerts on');
  return alerts;
}
