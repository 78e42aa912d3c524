// The HA state machine of one connector of a master/shadow pair (docs/ha.md). It knows what this connector
// claims at the relay (active or standby), what the relay answered (routed or not), and what it last heard
// from the peer. Timers, the peer link, the relay channel and the rules are injected, so that the unit tests
// drive it with a fake clock. One tick = one check of the peer; the runtime (ha-runtime.ts) calls tick() every
// check_interval_ms.
import { TunnelwatchError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { HaRole, HelloHa, RoleClaim, RoutingNotice } from '../tunnel/protocol.js';
import type { Rules } from './rules.js';

/** GET /ha/v1/state: what a connector of the pair says about itself. */
export interface HaState {
  connector_id: string;
  role: HaRole;
  /** Claims the routes at the relay. */
  active: boolean;
  /** The relay confirmed it routes to this connector. */
  routed: boolean;
  ready: boolean;
  /** The tunnel's state: registered, connecting or waiting. */
  tunnel: string;
  rules_hash: string;
  /** The rules in force; left out when the caller already has rules_hash (?have=) or asks without (?rules=0). */
  rules?: Rules;
  /** Calls in flight on this connector. */
  inflight: number;
  switching: boolean;
  /** When active last changed, RFC 3339. */
  since: string;
  peer: { id: string; answered: boolean; last_answer_at: string; misses: number; active: boolean | null };
  /** With several relays: each relay's tunnel, and whether that relay routes to this connector. */
  relays?: { address: string; tunnel: string; routed: boolean }[];
}

/** One relay this connector dials, as the HA node sees it. */
export interface HaRelay {
  address: string;
  /** registered, connecting or waiting. */
  tunnel: string;
}

export interface HaPeer {
  /** The peer's state; rejects when the peer does not answer healthily (refused, timeout, not 200, another id). */
  state(have: string): Promise<HaState>;
  /** Asks the peer to claim the routes (planned) and to answer once the relay confirmed. */
  activate(): Promise<{ routed: boolean }>;
  /** Asks the peer to wait until the relay stopped routing to it and its calls in flight are done. */
  drain(): Promise<{ drained: boolean; inflight: number }>;
}

export interface HaNodeOptions {
  connectorId: string;
  peerId: string;
  role: HaRole;
  takeoverDelayMs: number;
  drainTimeoutMs: number;
  /** How long an activation waits for the relay to confirm the new route. */
  ackTimeoutMs: number;
  peer: HaPeer;
  /** The rules in force and their hash. */
  rules(): { rules: Rules; hash: string };
  /** shadow: validates, compiles and swaps in rules pulled from the master; returns the refusal reason, or undefined when applied. */
  applyRules(raw: unknown, masterHash: string): string | undefined;
  /** Holds rules it may enforce from the start: the master always, a shadow with a usable rules cache. */
  ready: boolean;
  /**
   * Sends a claim on every open role channel (none while the tunnel is down: the next hello carries it), or
   * on all but the channel of relay `except`.
   */
  sendClaim(claim: RoleClaim, except?: string): void;
  /** The whole tunnel's state: registered while at least one relay's tunnel is. */
  tunnelState(): string;
  /**
   * The relays this connector dials (relay.addresses), each with its tunnel's state. Absent: one relay, whose
   * routing notices come without an address.
   */
  relays?(): HaRelay[];
  inflight(): number;
  now(): number;
  log: Logger;
}

export class HaNode {
  active = false;
  ready: boolean;
  switching = false;
  misses = 0;
  private lastAnswerAt: number;
  private sinceMs: number;
  private peerState: HaState | undefined;
  private bothStandbySince: number | undefined;
  private refusedHash = '';
  /**
   * Set when the peer superseded this connector without a plan while the HA link did not reach it: the peer
   * is alive and connected to the relay, only the link between the two is broken. Taking the routes back
   * after every takeover delay would make the pair flap; the relay still promotes this connector at once
   * if the peer's tunnel drops. Cleared by the next healthy answer over the link.
   */
  private watchdogHeld = false;
  private waiters = new Set<() => void>();
  private readonly log: Logger;
  /** What each relay last said about routing to this connector (forgotten when its tunnel drops). */
  private readonly routedBy = new Map<string, boolean>();

  constructor(private readonly o: HaNodeOptions) {
    this.ready = o.ready;
    this.lastAnswerAt = o.now();
    this.sinceMs = o.now();
    this.log = o.log;
  }

  /**
   * The relays confirmed that they route to this connector: every relay with a registered tunnel (a relay
   * that is down, or that this connector cannot reach, does not hold up a takeover through the others).
   */
  get routed(): boolean {
    const relays = this.o.relays ? this.o.relays().filter((r) => r.tunnel === 'registered').map((r) => r.address) : [...this.routedBy.keys()];
    return relays.length > 0 && relays.every((r) => this.routedBy.get(r) === true);
  }

  /** Some relay still routes calls to this connector (a drain waits until none does). */
  private routedAnywhere(): boolean {
    return [...this.routedBy.values()].some(Boolean);
  }

  private several(): boolean {
    return (this.o.relays?.().length ?? 1) > 1;
  }

  /** What the hello tells the relay. */
  hello(): HelloHa {
    return { role: this.o.role, active: this.active, ready: this.ready };
  }

  claim(reason: string, planned = false): RoleClaim {
    return { type: 'claim', role: this.o.role, active: this.active, ready: this.ready, planned, reason };
  }

  /**
   * The first decision. A master starts active unless the peer answers that it is active (the shadow took
   * over while this master was down: no automatic failback). A shadow starts standby and pulls the rules.
   */
  async start(): Promise<void> {
    const peer = await this.ask();
    if (this.o.role === 'master') {
      const peerServes = peer?.active === true && peer.tunnel === 'registered';
      this.setActive(!peerServes, peerServes ? 'the peer is active: this master stands by' : 'master start');
    } else {
      if (peer?.role === 'master') this.syncRules(peer);
      this.setActive(false, 'shadow start');
    }
  }

  /** One check of the peer: rules (shadow), then whether to take over. */
  async tick(): Promise<void> {
    const peer = await this.ask();
    const now = this.o.now();
    if (peer) {
      if (this.o.role === 'shadow' && peer.role === 'master') this.syncRules(peer);
      // Both standby (e.g. after the relay restarted): the master takes the routes after the takeover delay.
      if (!this.active && !peer.active && this.o.role === 'master' && !this.switching) {
        this.bothStandbySince ??= now;
        if (now - this.bothStandbySince >= this.o.takeoverDelayMs && this.canServe()) this.takeOver(`neither connector of the pair was active for ${now - this.bothStandbySince} ms`);
      } else {
        this.bothStandbySince = undefined;
      }
      return;
    }
    this.bothStandbySince = undefined;
    const silentMs = now - this.lastAnswerAt;
    if (!this.active && !this.switching && !this.watchdogHeld && silentMs >= this.o.takeoverDelayMs && this.canServe()) {
      this.takeOver(`no healthy answer from the peer ${this.o.peerId} for ${silentMs} ms (${this.misses} checks missed)`);
    }
  }

  /**
   * A relay's word on routing (role channel of relay `relay`). The relay decides; this connector follows.
   * With several relays only a relay's own decisions move it (a promotion, a supersession), and it tells the
   * other relays at once, so that one connector of the pair serves on every relay; the echoes of its own
   * claims (registered, claim, released) may lag behind a newer claim and change nothing.
   */
  onRouting(notice: RoutingNotice, relay = ''): void {
    const was = this.active;
    this.routedBy.set(relay, notice.routed);
    if (!notice.routed && notice.reason === 'superseded' && !notice.planned && !this.peerAnswered()) {
      this.watchdogHeld = true;
      this.log.warn({ by: notice.by ?? '' }, 'superseded by the peer while the HA link does not reach it: no takeover from it until the link answers again (the relay still promotes this connector if the peer\'s tunnel drops)');
    }
    const several = this.several();
    const decides = !several || notice.reason === 'promoted' || notice.reason === 'superseded';
    if (decides && notice.routed !== this.active) {
      this.active = notice.routed;
      this.sinceMs = this.o.now();
      if (several) this.o.sendClaim(this.claim(`relay ${relay}: ${notice.reason}${notice.by ? ` by ${notice.by}` : ''}`), relay);
    }
    if (was !== this.active || notice.reason !== 'registered') {
      this.log.info({ routed: notice.routed, reason: notice.reason, by: notice.by ?? '', planned: notice.planned ?? false, ...(relay ? { relay } : {}) }, notice.routed ? 'the relay routes to this connector (active)' : 'the relay no longer routes to this connector (standby)');
    }
    this.changed();
  }

  /** The tunnel dropped: the relay promotes the peer at once if it is ready, so come back as standby then. */
  onTunnelDown(relay = ''): void {
    this.routedBy.delete(relay);
    // One tunnel of several: that relay (or the way to it) failed; the others still route here.
    if (this.several() && this.o.tunnelState() === 'registered') {
      this.changed();
      return;
    }
    const p = this.peerState;
    if (this.active && p && this.peerAnswered() && p.ready && p.tunnel === 'registered') {
      this.setActive(false, 'the tunnel dropped while the peer was ready: the relay hands the routes to it');
    }
    this.changed();
  }

  /** Calls in flight changed (the drain waits on it). */
  changed(): void {
    for (const w of [...this.waiters]) w();
  }

  state(have: string | null, withRules: boolean): HaState {
    const { rules, hash } = this.o.rules();
    const p = this.peerState;
    return {
      connector_id: this.o.connectorId,
      role: this.o.role,
      active: this.active,
      routed: this.routed,
      ready: this.ready,
      tunnel: this.o.tunnelState(),
      rules_hash: hash,
      ...(withRules && have !== hash ? { rules } : {}),
      inflight: this.o.inflight(),
      switching: this.switching,
      since: new Date(this.sinceMs).toISOString(),
      peer: { id: this.o.peerId, answered: this.peerAnswered(), last_answer_at: p ? new Date(this.lastAnswerAt).toISOString() : '', misses: this.misses, active: p ? p.active : null },
      ...(this.several() ? { relays: (this.o.relays?.() ?? []).map((r) => ({ ...r, routed: this.routedBy.get(r.address) === true })) } : {}),
    };
  }

  /** Claims the routes on purpose (switch-over) and waits for the relay to confirm. */
  async activate(planned: boolean): Promise<boolean> {
    if (!this.active) this.setActive(true, planned ? 'switch-over' : 'activate', planned);
    else if (!this.routed) this.o.sendClaim(this.claim('activate (not yet confirmed)', planned));
    return this.waitUntil(() => this.routed, this.o.ackTimeoutMs);
  }

  /** Waits until the relay no longer routes here and the calls in flight are done (or drain_timeout_ms). */
  async drain(): Promise<{ drained: boolean; inflight: number }> {
    const drained = await this.waitUntil(() => !this.routedAnywhere() && this.o.inflight() === 0, this.o.drainTimeoutMs);
    return { drained, inflight: this.o.inflight() };
  }

  /**
   * Planned switch-over: the standby side is made active at the relay first (new calls go there), then the
   * old active side drains its calls in flight. Nothing is cut, so no call fails.
   */
  async switchRoles(): Promise<{ from: string; to: string; drained: boolean; inflight_left: number; ms: number }> {
    if (this.switching) throw new TunnelwatchError('TW_ERR_HA_SWITCH_REFUSED', 'a switch-over is already in progress');
    const started = this.o.now();
    let peer: HaState;
    try {
      peer = await this.o.peer.state('-');
    } catch (err) {
      throw new TunnelwatchError('TW_ERR_HA_PEER_UNREACHABLE', (err as Error).message);
    }
    if (peer.switching) throw new TunnelwatchError('TW_ERR_HA_SWITCH_REFUSED', `the peer ${peer.connector_id} is already switching`);
    if (this.active === peer.active) throw new TunnelwatchError('TW_ERR_HA_SWITCH_REFUSED', `${this.o.connectorId} is ${this.active ? 'active' : 'standby'} and so is ${peer.connector_id}`);
    this.switching = true;
    try {
      if (this.active) {
        this.log.info({ to: peer.connector_id }, 'switch-over: handing the routes to the peer');
        const r = await this.o.peer.activate().catch((err: unknown) => {
          throw new TunnelwatchError('TW_ERR_HA_PEER_UNREACHABLE', (err as Error).message);
        });
        if (!r.routed) throw new TunnelwatchError('TW_ERR_HA_NO_ACK', `the peer ${peer.connector_id} claimed the routes but the relay did not confirm within ${this.o.ackTimeoutMs} ms`);
        const d = await this.drain();
        this.log.info({ drained: d.drained, inflight: d.inflight }, 'switch-over done: this connector is standby');
        return { from: this.o.connectorId, to: peer.connector_id, drained: d.drained, inflight_left: d.inflight, ms: this.o.now() - started };
      }
      this.log.info({ from: peer.connector_id }, 'switch-over: taking the routes from the peer');
      if (!(await this.activate(true))) throw new TunnelwatchError('TW_ERR_HA_NO_ACK', `the relay did not confirm within ${this.o.ackTimeoutMs} ms`);
      const d = await this.o.peer.drain().catch((err: unknown) => {
        throw new TunnelwatchError('TW_ERR_HA_PEER_UNREACHABLE', `the routes moved here, but the peer did not answer the drain: ${(err as Error).message}`);
      });
      this.log.info({ drained: d.drained, inflight: d.inflight }, 'switch-over done: this connector is active');
      return { from: peer.connector_id, to: this.o.connectorId, drained: d.drained, inflight_left: d.inflight, ms: this.o.now() - started };
    } finally {
      this.switching = false;
    }
  }

  /**
   * Stopping (SIGTERM) while active: hands the routes to the peer as a switch-over does (the peer claims and
   * the relays confirm, then this connector drains its calls in flight), if the peer is there to take them:
   * answering, ready and registered. Otherwise says why not; the caller then drains what it can. Never throws.
   */
  async handOver(): Promise<{ to?: string; reason: string; drained: boolean; inflight: number; ms: number }> {
    const started = this.o.now();
    const without = (reason: string): { reason: string; drained: boolean; inflight: number; ms: number } => ({ reason, drained: false, inflight: this.o.inflight(), ms: this.o.now() - started });
    if (!this.active) return { reason: 'this connector is standby', drained: true, inflight: this.o.inflight(), ms: 0 };
    let peer: HaState;
    try {
      peer = await this.o.peer.state('-');
    } catch (err) {
      return without(`the peer ${this.o.peerId} does not answer (${(err as Error).message})`);
    }
    if (!peer.ready) return without(`the peer ${peer.connector_id} is not ready (it holds no rules of the master)`);
    if (peer.tunnel !== 'registered') return without(`the peer ${peer.connector_id} has no registered tunnel (${peer.tunnel})`);
    try {
      const r = await this.switchRoles();
      return { to: r.to, reason: '', drained: r.drained, inflight: r.inflight_left, ms: r.ms };
    } catch (err) {
      return without(`the switch-over failed: ${(err as Error).message}`);
    }
  }

  private async ask(): Promise<HaState | undefined> {
    try {
      const have = this.o.role === 'shadow' ? this.o.rules().hash : '-';
      const peer = await this.o.peer.state(have);
      this.peerState = peer;
      this.misses = 0;
      this.watchdogHeld = false;
      this.lastAnswerAt = this.o.now();
      return peer;
    } catch (err) {
      this.misses++;
      if (this.misses === 1) this.log.warn({ peer: this.o.peerId, err: (err as Error).message }, 'the HA peer did not answer');
      return undefined;
    }
  }

  private peerAnswered(): boolean {
    return this.peerState !== undefined && this.misses === 0;
  }

  private syncRules(peer: HaState): void {
    if (peer.rules_hash === this.o.rules().hash) {
      if (!this.ready) this.setReady(true, 'rules in step with the master');
      return;
    }
    if (peer.rules === undefined || peer.rules_hash === this.refusedHash) return;
    const refused = this.o.applyRules(peer.rules, peer.rules_hash);
    if (refused !== undefined) {
      this.refusedHash = peer.rules_hash;
      this.log.error({ code: 'TW_ERR_HA_RULES_REFUSED', master: peer.connector_id, hash: peer.rules_hash, reason: refused }, 'refused the rules pulled from the master; the rules in force stay');
      return;
    }
    this.refusedHash = '';
    this.log.info({ master: peer.connector_id, hash: peer.rules_hash, subaccounts: Object.keys(peer.rules) }, 'applied the rules pulled from the master');
    if (!this.ready) this.setReady(true, 'rules pulled from the master');
  }

  /** Taking over needs a registered tunnel (the claim travels on it) and rules to enforce. */
  private canServe(): boolean {
    if (this.o.tunnelState() !== 'registered') return false;
    return Object.keys(this.o.rules().rules).length > 0;
  }

  private takeOver(reason: string): void {
    if (!this.ready) this.log.warn({ reason }, 'taking over without rules from the master (never pulled): enforcing this connector\'s own rules');
    this.log.warn({ reason }, 'HA takeover: claiming the routes at the relay');
    this.setActive(true, `takeover: ${reason}`);
  }

  private setActive(active: boolean, reason: string, planned = false): void {
    if (this.active !== active) this.sinceMs = this.o.now();
    this.active = active;
    this.o.sendClaim(this.claim(reason, planned));
  }

  private setReady(ready: boolean, reason: string): void {
    this.ready = ready;
    this.o.sendClaim(this.claim(reason));
  }

  private waitUntil(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    if (predicate()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        clearInterval(poll);
        this.waiters.delete(check);
        resolve(ok);
      };
      const check = (): void => {
        if (predicate()) done(true);
      };
      const timer = setTimeout(() => done(predicate()), timeoutMs);
      // Calls end on their own streams; a slow poll backs up the change notifications.
      const poll = setInterval(check, 50);
      this.waiters.add(check);
    });
  }
}
