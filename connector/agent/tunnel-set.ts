// One tunnel per configured relay (relay.address, or each of relay.addresses), all kept up at the same time,
// as cloudflared does. Relays share no state: each routes the calls that reach it to its own session with
// this connector, so every tunnel serves calls, and the calls of all of them go to the same handlers (one
// rule set, one audit emitter, one backend pool). With one relay the set is that relay's tunnel, unchanged.
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { Gauge, type Registry } from 'prom-client';
import type { RelayEndpoint } from './config-schema.js';
import { TunnelClient, type TunnelClientOptions, type TunnelState, type TunnelStatus } from './tunnel-client.js';

type Handler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, relay: string) => void;

export interface TunnelSetOptions extends Omit<TunnelClientOptions, 'host' | 'port' | 'serverName' | 'address' | 'onStream' | 'onCheck' | 'onRole' | 'onState'> {
  relays: readonly RelayEndpoint[];
  /** A call from any relay; `relay` is the address of the tunnel it came on. */
  onStream: Handler;
  onCheck?: Handler;
  onRole?: Handler;
  /** Told each change of one tunnel's state. */
  onState?: (state: TunnelState, relay: string) => void;
}

/** One relay's tunnel, as /healthz and `ha-status` show it. */
export interface RelayTunnelView {
  address: string;
  tunnel: TunnelState;
  since: string;
  subaccounts: string[];
  connects: number;
  last_error: string;
}

export class TunnelSet {
  /** By relay address, in configuration order. */
  readonly tunnels: ReadonlyMap<string, TunnelClient>;
  private readonly aggregate: TunnelStatus = { state: 'waiting', accepted: [], rejected: [], connects: 0, lastError: '', since: new Date() };
  private registeredWaiters: (() => void)[] = [];

  constructor(options: TunnelSetOptions) {
    const { relays, onStream, onCheck, onRole, onState, ...common } = options;
    const tunnels = new Map<string, TunnelClient>();
    for (const r of relays) {
      const address = r.address;
      tunnels.set(address, new TunnelClient({
        ...common,
        host: r.host,
        port: r.port,
        address,
        ...(r.serverName ? { serverName: r.serverName } : {}),
        onStream: (stream, headers) => onStream(stream, headers, address),
        ...(onCheck ? { onCheck: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => onCheck(stream, headers, address) } : {}),
        ...(onRole ? { onRole: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => onRole(stream, headers, address) } : {}),
        onState: (state) => {
          this.refresh();
          onState?.(state, address);
        },
      }));
    }
    this.tunnels = tunnels;
  }

  /** How many relays this connector dials. */
  get size(): number {
    return this.tunnels.size;
  }

  /**
   * The whole set's status: registered while at least one tunnel is (calls can reach this connector),
   * else connecting while one is connecting, else waiting. With one relay, that tunnel's own status.
   */
  get status(): TunnelStatus {
    const only = this.single();
    if (only) return only.status;
    const all = [...this.tunnels.values()];
    const registered = all.filter((t) => t.status.state === 'registered');
    const a = this.aggregate;
    a.accepted = [...new Set(registered.flatMap((t) => t.status.accepted))].sort();
    a.rejected = registered.flatMap((t) => t.status.rejected);
    a.connects = all.reduce((n, t) => n + t.status.connects, 0);
    a.lastError = all.filter((t) => t.status.state !== 'registered' && t.status.lastError).map((t) => `${t.address}: ${t.status.lastError}`).join('; ');
    return a;
  }

  /** Each relay's tunnel. */
  relays(): RelayTunnelView[] {
    return [...this.tunnels.values()].map((t) => ({
      address: t.address,
      tunnel: t.status.state,
      since: t.status.since.toISOString(),
      subaccounts: t.status.accepted,
      connects: t.status.connects,
      last_error: t.status.lastError,
    }));
  }

  /** The relays whose tunnel is registered now. */
  registered(): string[] {
    return [...this.tunnels.values()].filter((t) => t.status.state === 'registered').map((t) => t.address);
  }

  start(): void {
    for (const t of this.tunnels.values()) t.start();
  }

  /** Resolves once at least one tunnel is registered. */
  whenRegistered(): Promise<void> {
    if (this.status.state === 'registered') return Promise.resolve();
    return new Promise((resolve) => this.registeredWaiters.push(resolve));
  }

  /** Registers again on every registered tunnel (or only on `relay`): see TunnelClient.renew(). */
  renew(relay?: string): void {
    for (const t of this.tunnels.values()) if (relay === undefined || t.address === relay) t.renew();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.tunnels.values()].map((t) => t.stop()));
  }

  /** Stops every tunnel, letting calls in flight finish first (at most graceMs): see TunnelClient.close(). */
  async close(graceMs: number): Promise<void> {
    await Promise.all([...this.tunnels.values()].map((t) => t.close(graceMs)));
  }

  private single(): TunnelClient | undefined {
    return this.tunnels.size === 1 ? this.tunnels.values().next().value : undefined;
  }

  private refresh(): void {
    if (this.single()) {
      if (this.status.state === 'registered') this.wake();
      return;
    }
    const states = [...this.tunnels.values()].map((t) => t.status.state);
    const state: TunnelState = states.includes('registered') ? 'registered' : states.includes('connecting') ? 'connecting' : 'waiting';
    if (state !== this.aggregate.state) {
      this.aggregate.state = state;
      this.aggregate.since = new Date();
    }
    if (state === 'registered') this.wake();
  }

  private wake(): void {
    const waiters = this.registeredWaiters;
    this.registeredWaiters = [];
    for (const w of waiters) w();
  }
}

/**
 * Per relay, what /readyz says: the reason when no tunnel is registered, and the relays whose tunnel is not
 * (a connector is ready while at least one relay can route calls to it).
 */
export function relayReadiness(relays: readonly RelayTunnelView[]): { reason: string; notRegistered: string[] } {
  const down = relays.filter((r) => r.tunnel !== 'registered');
  const notRegistered = down.map((r) => `${r.address} (${r.tunnel}${r.last_error ? `: ${r.last_error}` : ''})`);
  if (relays.length === 1) return { reason: `the tunnel to the relay is ${relays[0]?.tunnel ?? 'waiting'}`, notRegistered };
  return { reason: `no tunnel to any relay is registered: ${notRegistered.join('; ')}`, notRegistered };
}

/**
 * With several relays, tunnelwatch_tunnel_relay_state{relay, state}: 1 for the state each relay's tunnel is
 * in. The relay label holds configured addresses only (at most 16), so it stays bounded. With one relay
 * there is no such series: tunnelwatch_tunnel_sessions{state} (common/ops/tunnel-metrics.ts), which counts
 * the tunnels by state, says it all, and the series stay free of addresses as before.
 */
export function registerRelayMetrics(registry: Registry, set: TunnelSet): void {
  if (set.size < 2) return;
  new Gauge({
    name: 'tunnelwatch_tunnel_relay_state',
    help: 'This connector\'s tunnel to each configured relay, by state (1 = in that state)',
    labelNames: ['relay', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const r of set.relays()) this.set({ relay: r.address, state: r.tunnel }, 1);
    },
  });
}
