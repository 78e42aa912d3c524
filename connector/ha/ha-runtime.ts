// Wires a connector's HA state machine (ha-node.ts) to the world: the HA listener and the link to the peer,
// the role channel(s) the relay opens on the tunnel, the count of calls in flight, the rules the connector
// enforces, and the check loop. connector/agent/connector.ts starts it when connector.yaml has `ha:`.
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { resolveFrom } from '../../common/config/load-config.js';
import { TunnelwatchError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { CompiledPolicy } from '../acl/policy.js';
import type { ConnectorConfig, HaConfig } from '../agent/config-schema.js';
import type { TunnelState } from '../agent/tunnel-client.js';
import type { TunnelSet } from '../agent/tunnel-set.js';
import type { HelloHa, RoleClaim, RoutingNotice } from '../tunnel/protocol.js';
import { HaClient, readHaTls } from './ha-link.js';
import { HaNode, type HaPeer, type HaState } from './ha-node.js';
import { startHaServer, type RunningHaServer } from './ha-server.js';
import { ndjsonLine, readNdjson } from './ndjson.js';
import { checkRules, loadRulesCache, rulesHash, saveRulesCache, type Rules } from './rules.js';

/** How long an activation waits for the relay to confirm that it routes to the new active connector. */
export const ACK_TIMEOUT_MS = 5_000;
const RENEW_SPACING_MS = 5_000;

export interface HaRuntimeOptions {
  config: ConnectorConfig & { ha: HaConfig };
  configFile: string;
  /** The rules in force now (connector.yaml's subaccounts, or what onRules swapped in, or a reload's). */
  rules(): Rules;
  /** Swaps in rules pulled from the master (already validated and compiled). */
  onRules(rules: Rules, policy: CompiledPolicy): void;
  log: Logger;
}

export interface HaRuntime {
  readonly node: HaNode;
  readonly port: number;
  hello(): HelloHa;
  /** The role channel the relay at `relay` (its configured address) opened on its tunnel. */
  onRoleStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, relay?: string): void;
  onTunnelState(state: TunnelState, relay?: string): void;
  /** Counts a call stream in flight until it closes (a switch-over drains them). */
  trackCall(stream: ServerHttp2Stream): void;
  /** Starts the tunnels once there are rules to announce (a shadow that never reached its master has none). */
  attachTunnel(tunnel: TunnelSet): void;
  /**
   * Stopping: an active connector hands the routes to a ready peer first (docs/ha.md, "Stopping the active
   * connector"); says whether it did. Standby: nothing to do.
   */
  handOver(): Promise<{ handedOver: boolean; drained: boolean; reason: string }>;
  /** Ends the check loop, the role channels and the HA listener. */
  close(): Promise<void>;
}

export async function startHa(options: HaRuntimeOptions): Promise<HaRuntime> {
  const { config, configFile } = options;
  const ha = config.ha;
  const id = config.connector.id;
  const log = options.log.child({ component: 'connector.ha', role: ha.role });
  if (ha.takeover_delay_ms < ha.check_interval_ms) {
    throw new TunnelwatchError('TW_ERR_CONFIG_INVALID', `ha.takeover_delay_ms (${ha.takeover_delay_ms}) must be at least ha.check_interval_ms (${ha.check_interval_ms})`);
  }
  if (ha.peer_id === id) throw new TunnelwatchError('TW_ERR_CONFIG_INVALID', `ha.peer_id must name the other connector, not this one (${id})`);
  const tls = readHaTls(configFile, ha, id);
  const client = new HaClient({ address: ha.peer, expectId: ha.peer_id, tls });
  const checkTimeoutMs = Math.min(Math.max(ha.check_interval_ms, 250), 5_000);

  // The rules in force and their hash. The hash of rules the shadow applied is the master's own (equal by
  // construction, kept verbatim so that a master whose defaults differ cannot make it pull every check).
  let applied: { rules: Rules; hash: string } | undefined;
  let memo: { rules: Rules; hash: string } | undefined;
  const current = (): { rules: Rules; hash: string } => {
    const rules = options.rules();
    if (applied?.rules === rules) return applied;
    if (memo?.rules !== rules) memo = { rules, hash: rulesHash(rules) };
    return memo;
  };
  const subaccountList = (): string => Object.keys(current().rules).sort().join(',');
  let ready = ha.role === 'master';
  const cachePath = ha.rules_cache ? resolveFrom(configFile, ha.rules_cache) : undefined;
  if (ha.role === 'shadow' && cachePath) {
    const cached = loadRulesCache(cachePath);
    if (cached?.check.ok) {
      applied = { rules: cached.check.rules, hash: cached.check.hash };
      options.onRules(cached.check.rules, cached.check.policy);
      ready = true;
      log.info({ cache: cachePath, saved_at: cached.savedAt, hash: cached.check.hash }, 'enforcing the rules cached from the master until it answers');
    } else if (cached) {
      log.error({ cache: cachePath, reason: cached.check.ok ? '' : cached.check.reason }, 'the rules cache is unusable; waiting for the master');
    }
  }

  let tunnel: TunnelSet | undefined;
  let dial: (() => void) | undefined;
  // A registration takes a round trip or two; asking for another before it arrives would only dial twice.
  let renewedAt = 0;
  const renew = (relays?: readonly string[]): void => {
    if (!tunnel || Date.now() - renewedAt < RENEW_SPACING_MS) return;
    renewedAt = Date.now();
    if (relays) for (const r of relays) tunnel.renew(r);
    else tunnel.renew();
  };
  /** Each open role channel, with the address of the relay that opened it. */
  const roleStreams = new Map<ServerHttp2Stream, string>();
  let inflight = 0;

  const peer: HaPeer = {
    async state(have) {
      const query = have === '-' ? '?rules=0' : `?have=${encodeURIComponent(have)}`;
      const r = await client.request<HaState>('GET', `/ha/v1/state${query}`, undefined, checkTimeoutMs);
      if (r.status !== 200 || !r.body) throw new Error(`the HA listener answered ${r.status}`);
      if (r.body.connector_id !== ha.peer_id) throw new Error(`the HA listener is connector ${r.body.connector_id}, expected ${ha.peer_id}`);
      return r.body;
    },
    async activate() {
      const r = await client.request<{ routed?: boolean; message?: string }>('POST', '/ha/v1/activate', {}, ACK_TIMEOUT_MS + 2_000);
      if (r.status !== 200) throw new Error(`activate answered ${r.status}: ${r.body?.message ?? ''}`);
      return { routed: r.body?.routed === true };
    },
    async drain() {
      const r = await client.request<{ drained?: boolean; inflight?: number }>('POST', '/ha/v1/drain', {}, ha.drain_timeout_ms + 5_000);
      if (r.status !== 200) throw new Error(`drain answered ${r.status}`);
      return { drained: r.body?.drained === true, inflight: Number(r.body?.inflight ?? 0) };
    },
  };

  const sendClaim = (claim: RoleClaim, except?: string): void => {
    for (const [s, relay] of roleStreams) if (relay !== except && !s.destroyed && !s.writableEnded) s.write(ndjsonLine(claim));
  };

  const applyRules = (raw: unknown, masterHash: string): string | undefined => {
    const check = checkRules(raw, `rules of the master ${ha.peer_id}`);
    if (!check.ok) return check.reason;
    const before = subaccountList();
    applied = { rules: check.rules, hash: masterHash };
    options.onRules(check.rules, check.policy);
    if (cachePath) void saveRulesCache(cachePath, check.rules, masterHash, ha.peer_id).catch((err: unknown) => log.warn({ cache: cachePath, err: (err as Error).message }, 'cannot write the rules cache'));
    const rules = check.rules;
    if (Object.keys(rules).length > 0 && dial) {
      const start = dial;
      dial = undefined;
      start();
    } else if (tunnel && before !== subaccountList()) {
      // The relay routes by the subaccounts of the hello: announce the new set on a new registration.
      log.info({ subaccounts: Object.keys(rules) }, 'the subaccounts changed: registering again with the relay');
      renewedAt = 0;
      renew();
    }
    return undefined;
  };

  const node = new HaNode({
    connectorId: id,
    peerId: ha.peer_id,
    role: ha.role,
    takeoverDelayMs: ha.takeover_delay_ms,
    drainTimeoutMs: ha.drain_timeout_ms,
    ackTimeoutMs: ACK_TIMEOUT_MS,
    peer,
    rules: current,
    applyRules,
    ready,
    sendClaim,
    tunnelState: () => tunnel?.status.state ?? 'waiting',
    relays: () => tunnel?.relays().map((r) => ({ address: r.address, tunnel: r.tunnel })) ?? [],
    inflight: () => inflight,
    now: () => Date.now(),
    log,
  });

  const server: RunningHaServer = await startHaServer({
    listen: ha.listen,
    tls,
    allowed: new Set([ha.peer_id, id]),
    log,
    routes: [
      { method: 'GET', path: '/ha/v1/state', handle: async (req) => ({ status: 200, body: node.state(req.query.get('have'), req.query.get('rules') !== '0') }) },
      {
        method: 'POST',
        path: '/ha/v1/activate',
        handle: async (req) => {
          log.info({ caller: req.caller }, 'asked to claim the routes (switch-over)');
          if (!(await node.activate(true))) throw new TunnelwatchError('TW_ERR_HA_NO_ACK', `no confirmation within ${ACK_TIMEOUT_MS} ms`);
          return { status: 200, body: { routed: true } };
        },
      },
      { method: 'POST', path: '/ha/v1/drain', handle: async () => ({ status: 200, body: await node.drain() }) },
      { method: 'POST', path: '/ha/v1/switch-roles', handle: async () => ({ status: 200, body: await node.switchRoles() }) },
    ],
  });

  try {
    await node.start();
  } catch (err) {
    await server.close();
    throw err;
  }
  log.info({ listen: ha.listen, peer: ha.peer, peer_id: ha.peer_id, active: node.active, ready: node.ready, rules_hash: current().hash }, 'HA started');

  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  const loop = async (): Promise<void> => {
    while (!closed) {
      const started = Date.now();
      await node.tick().catch((err: unknown) => log.error({ err: (err as Error).message }, 'HA check failed'));
      renewIfStale();
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, Math.max(0, ha.check_interval_ms - (Date.now() - started)));
        timer.unref();
      });
    }
  };
  // A registration that does not match the rules (a renew that failed, rules changed while connecting) is redone.
  const renewIfStale = (): void => {
    if (!tunnel) return;
    const stale = [...tunnel.tunnels.values()].filter((t) => {
      if (t.status.state !== 'registered') return false;
      return [...t.status.accepted, ...t.status.rejected.map((r) => r.subaccount)].sort().join(',') !== subaccountList();
    });
    if (stale.length > 0) renew(stale.map((t) => t.address));
  };
  void loop();

  return {
    node,
    port: server.port,
    hello: () => node.hello(),
    onRoleStream(stream, _headers, relay = '') {
      stream.respond({ ':status': 200, 'content-type': 'application/x-ndjson' });
      roleStreams.set(stream, relay);
      stream.once('close', () => roleStreams.delete(stream));
      stream.on('error', () => {});
      // The first line: the current claim (it may have changed since the hello).
      stream.write(ndjsonLine(node.claim('role channel opened')));
      readNdjson(
        stream,
        (message) => {
          if (message.type === 'routing' && typeof message.routed === 'boolean') node.onRouting(message as unknown as RoutingNotice, relay);
        },
        (reason) => {
          log.warn({ reason }, 'malformed message on the HA role channel; closing it');
          stream.close();
        },
      );
    },
    onTunnelState(state, relay = '') {
      if (state === 'waiting') node.onTunnelDown(relay);
    },
    trackCall(stream) {
      inflight++;
      stream.once('close', () => {
        inflight--;
        node.changed();
      });
    },
    attachTunnel(t) {
      tunnel = t;
      if (Object.keys(current().rules).length > 0) t.start();
      else {
        log.warn('no rules yet (the master has not answered and there is no rules cache): the tunnel starts once the master\'s rules arrive');
        dial = () => t.start();
      }
    },
    async handOver() {
      if (!node.active) return { handedOver: false, drained: true, reason: 'standby' };
      log.info({ peer: ha.peer_id }, 'stopping while active: handing the routes to the peer first');
      const r = await node.handOver();
      if (r.to) {
        log.info({ to: r.to, ms: r.ms, drained: r.drained, inflight_left: r.inflight }, r.drained ? 'stopping: the peer serves now, and the calls in flight here finished' : 'stopping: the peer serves now; calls still in flight after ha.drain_timeout_ms are cut');
        return { handedOver: true, drained: r.drained, reason: '' };
      }
      log.warn({ reason: r.reason, inflight: r.inflight }, 'stopping while active without a handover: the calls in flight finish (at most ha.drain_timeout_ms); new calls go to a ready standby if the relay has one, else get 503 no_connector');
      return { handedOver: false, drained: false, reason: r.reason };
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      wake?.();
      // Long-lived streams hold a tunnel's graceful close open until its grace runs out.
      for (const s of roleStreams.keys()) if (!s.destroyed) s.close();
      client.close();
      await server.close();
    },
  };
}
