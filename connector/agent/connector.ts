// The connector process: keeps the tunnel up and turns each incoming stream into a decided,
// forwarded and audited call.
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { AuditEmitter } from '../../common/audit/emitter.js';
import { Registry } from 'prom-client';
import { openAuditPipeline } from '../../common/audit/open-emitter.js';
import { healthRoute, metricsRoute, readyRoute } from '../../common/ops/ops-routes.js';
import { callMetricsSink, mirroredCounter, registerShipperMetrics, registerTunnelMetrics } from '../../common/ops/tunnel-metrics.js';
import { startAdminServer, type RunningAdminServer } from '../relay/admin-server.js';
import { resolveFrom } from '../../common/config/load-config.js';
import { splitHostPort } from '../../common/config/schema-parts.js';
import type { Logger } from '../../common/log.js';
import { decide, type AccessDecision } from '../acl/decide.js';
import { InFlightLimiter } from '../acl/limits.js';
import { compilePolicy, type CompiledPolicy } from '../acl/policy.js';
import { readTlsFiles } from '../tunnel/tls-files.js';
import { BackendPool } from './backend-pool.js';
import { relayEndpoints, type ConnectorConfig } from './config-schema.js';
import { ConnectorCall } from './connector-call.js';
import { OpenCalls } from './open-calls.js';
import { forwardHttp, type BackendTimeouts } from './forward-http.js';
import { forwardTcp } from './forward-tcp.js';
import { ruleReporterOf } from './rule-report.js';
import { registerRelayMetrics, relayReadiness, TunnelSet, type RelayTunnelView } from './tunnel-set.js';
import { createCallTracer } from '../../common/tracing/create-tracer.js';
import type { CallTracer } from '../../common/tracing/call-span.js';
import { checkShipperOf } from '../diagnostics/check-shipper.js';
import { createControlHandler, indexMappings } from '../diagnostics/control.js';
import { probeTargets, startProber } from '../diagnostics/prober.js';
import { runCheck } from '../diagnostics/run-check.js';
import type { CheckReport } from '../diagnostics/types.js';
import { startHa } from '../ha/ha-runtime.js';
import { startEmitterAlerts } from '../../common/ops/ops-reporter.js';
import { hostname } from 'node:os';
import type { ReloadResult, ReloadSource } from '../../common/service.js';
import { reloadConnector, type ReloadTarget } from './reload.js';
import type { RuleChangeSource } from './rule-report.js';

/** How long a standalone connector that stops lets its calls in flight finish (an HA one: ha.drain_timeout_ms). */
export const STOP_GRACE_MS = 10_000;

export interface RunningConnector {
  /** The tunnel to each configured relay (one with relay.address). */
  readonly tunnel: TunnelSet;
  /**
   * Reports a policy's rules to the collector (with audit.collector; otherwise nothing). Called at start;
   * whatever swaps the policy at run time must call it with the new one.
   */
  reportRules(policy: CompiledPolicy): void;
  /** Reloads connector.yaml's rules (SIGHUP): applied atomically, or refused whole (connector/agent/reload.ts). */
  reload(load: () => ConnectorConfig, source: ReloadSource): Promise<ReloadResult>;
  close(): Promise<void>;
}

export async function startConnector(config: ConnectorConfig, configFile: string, log: Logger): Promise<RunningConnector> {
  // The rules in force; an HA shadow swaps in the rules it pulls from its master (docs/ha.md).
  const relays = relayEndpoints(config);
  const current = { policy: compilePolicy(config.subaccounts), subaccounts: config.subaccounts };
  const tlsMaterial = readTlsFiles(configFile, 'relay.tls', config.relay.tls);
  const metrics = new Registry();
  const pipeline = openAuditPipeline({ emitter: 'connector', emitterId: config.connector.id, audit: config.audit, configFile, log: log.child({ component: 'connector.audit' }), extraSinks: [callMetricsSink(metrics, 'connector')] });
  const audit = pipeline.emitter;
  registerShipperMetrics(metrics, () => pipeline.shipper?.metrics);
  // Operational alerts (docs/alerts.md): the spool and the certificates this connector presents and trusts.
  const alerts = startEmitterAlerts({
    emitter: 'connector', emitterId: config.connector.id, audit: config.audit, alerts: config.alerts, configFile, shipper: () => pipeline.shipper?.metrics, log,
    certs: [{ name: 'relay.tls.cert', file: config.relay.tls.cert, loaded: tlsMaterial.cert }, { name: 'relay.tls.ca', file: config.relay.tls.ca, loaded: tlsMaterial.ca },
      ...(config.ha ? [{ name: 'ha.tls.cert', file: config.ha.tls.cert }] : [])],
  });
  const openCalls = { n: 0 };
  const pool = new BackendPool({ maxIdleSockets: config.backend.max_idle_sockets, resolvePath: (p) => resolveFrom(configFile, p) });
  const timeouts: BackendTimeouts = { connectTimeoutMs: config.backend.connect_timeout_ms, responseTimeoutMs: config.backend.response_timeout_ms };
  const callLog = log.child({ component: 'connector.call' });
  // Open tunnels (CONNECT, Upgrade), judged again by every new set of rules (open-calls.ts).
  const allowed = new OpenCalls(callLog);
  const limiter = new InFlightLimiter();
  const tracer = createCallTracer({ serviceName: 'tunnelwatch-connector', instanceId: config.connector.id, config: config.tracing, configFile, log });
  const secretQueryParams = config.audit.secret_query_params;
  const rules = ruleReporterOf(config, configFile, log);
  const reportRules = (p: CompiledPolicy, change?: RuleChangeSource): void => rules?.report(p, change);
  reportRules(current.policy, { via: 'start', actor: `connector ${config.connector.id} starting on ${hostname()}` });

  // Backend diagnostics: checks the relay asks for (control channel) and scheduled ones (prober), all
  // shipped to the collector when there is one.
  const resolvePath = (p: string): string => resolveFrom(configFile, p);
  const checks = checkShipperOf(config, configFile, log);
  const diagnostics = {
    connectorId: config.connector.id,
    locationId: config.connector.location_id,
    diagnostics: config.diagnostics,
    resolvePath,
    run: runCheck,
    log,
    ...(checks ? { onReport: (r: CheckReport) => checks.enqueue(r) } : {}),
  };
  let control = createControlHandler({ ...diagnostics, mappings: indexMappings(current.subaccounts) });
  const prober = startProber({ ...diagnostics, targets: () => probeTargets(current.subaccounts) });

  // Master/shadow high availability (docs/ha.md): the HA listener, the check of the peer, the role channel.
  const haConfig = config.ha;
  const ha = haConfig
    ? await startHa({
        config: { ...config, ha: haConfig },
        configFile,
        rules: () => current.subaccounts,
        log,
        onRules: (subaccounts, policy) => {
          current.subaccounts = subaccounts;
          current.policy = policy;
          allowed.recheck(policy);
          control = createControlHandler({ ...diagnostics, mappings: indexMappings(subaccounts) });
          reportRules(policy, { via: 'ha_sync', actor: `HA shadow ${config.connector.id}, rules of its master ${haConfig.peer_id}` });
        },
      }).catch(async (err: unknown) => {
        rules?.close();
        await prober?.stop();
        checks?.close();
        throw err;
      })
    : undefined;

  const onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void => {
    openCalls.n++;
    stream.once('close', () => openCalls.n--);
    ha?.trackCall(stream);
    handleCall(stream, headers, { policy: current.policy, allowed, limiter, tracer, audit, pool, timeouts, log: callLog, secretQueryParams });
  };
  // One tunnel per relay; calls from every relay meet the same rules, audit emitter and backend pool.
  const tunnel = new TunnelSet({
    relays,
    tls: tlsMaterial,
    pingIntervalMs: config.relay.ping_interval_ms,
    backoff: {
      initialDelayMs: config.relay.reconnect.initial_delay_ms,
      maxDelayMs: config.relay.reconnect.max_delay_ms,
      jitter: config.relay.reconnect.jitter,
    },
    hello: () => ({
      connector_id: config.connector.id,
      location_id: config.connector.location_id,
      subaccounts: Object.keys(current.subaccounts),
      protocol: 1,
      version: '0.1.0',
      ...(ha ? { ha: ha.hello() } : {}),
    }),
    onStream,
    onCheck: (stream, headers) => control.handle(stream, headers),
    ...(ha ? { onRole: (stream, headers, relay) => ha.onRoleStream(stream, headers, relay), onState: (state, relay) => ha.onTunnelState(state, relay) } : {}),
    log,
  });
  // An HA shadow that has no rules yet dials once its master's rules arrive.
  if (ha) ha.attachTunnel(tunnel);
  else tunnel.start();
  registerTunnelMetrics(metrics, 'connector', {
    // One per relay, by state (with one relay: 1 in its state, as before).
    sessions: () => {
      const byState = new Map<string, number>();
      for (const t of tunnel.tunnels.values()) byState.set(t.status.state, (byState.get(t.status.state) ?? 0) + 1);
      return [...byState].map(([state, value]) => ({ labels: { state }, value }));
    },
    streams: () => openCalls.n,
    connects: () => tunnel.status.connects,
  });
  registerRelayMetrics(metrics, tunnel);
  mirroredCounter(metrics, 'tunnelwatch_calls_cut_by_rules_total', 'Open CONNECT tunnels and websockets cut because new access rules refuse them or send them to another backend', () => allowed.cutTotal);
  let stopping = false;
  const ops = await startOps(config, metrics, () => ({
    role: 'connector',
    connector_id: config.connector.id,
    tunnel: tunnel.status.state,
    relays: tunnel.relays(),
    stopping,
    since: tunnel.status.since.toISOString(),
    subaccounts: tunnel.status.accepted,
    last_error: tunnel.status.lastError,
    audit_healthy: audit.healthy,
    ...(audit.healthy ? {} : { audit_unhealthy_reason: audit.unhealthyReason }),
    // Master/shadow (docs/ha.md): the configured role, and whether the relay routes to this connector now.
    ha: ha ? { role: haConfig?.role ?? 'master', active: ha.node.active, routed: ha.node.routed, ready: ha.node.ready, peer_answering: ha.node.misses === 0 } : { role: 'standalone', active: true },
  }), log).catch(async (err: unknown) => {
    await ha?.close();
    await tunnel.stop();
    throw err;
  });
  log.info({ relay: relays.map((r) => r.address).join(','), connector_id: config.connector.id, location_id: config.connector.location_id, subaccounts: Object.keys(current.subaccounts), ha_role: config.ha?.role ?? 'standalone' }, 'connector started');
  const reloadTarget: ReloadTarget = {
    started: config,
    current: () => current.subaccounts,
    refusal: () => (haConfig?.role === 'shadow' ? `this connector is an HA shadow: it enforces the rules of its master ${haConfig.peer_id}; reload the master` : undefined),
    apply: (subaccounts, policy, source) => {
      const announced = Object.keys(current.subaccounts).sort().join(',');
      current.subaccounts = subaccounts;
      current.policy = policy;
      allowed.recheck(policy);
      control = createControlHandler({ ...diagnostics, mappings: indexMappings(subaccounts) });
      reportRules(policy, { via: 'reload', actor: source.actor });
      // A changed set of subaccounts must be announced to the relay: a new tunnel session, no call lost.
      if (Object.keys(subaccounts).sort().join(',') !== announced) tunnel.renew();
    },
  };
  return {
    tunnel,
    reportRules,
    reload: async (load, source) => reloadConnector(reloadTarget, load, source),
    async close() {
      stopping = true;
      alerts.stop();
      // An active HA connector hands its routes to a ready peer first; then every tunnel closes gracefully:
      // the relays open no new stream on it, and the calls in flight finish (docs/ha.md).
      const handover = await ha?.handOver();
      // After a hand-over whose drain ran out, what is still in flight has had its drain_timeout_ms.
      const grace = !haConfig ? STOP_GRACE_MS : handover?.handedOver && !handover.drained ? 0 : haConfig.drain_timeout_ms;
      const closing = tunnel.close(grace);
      await ha?.close();
      await closing;
      await ops?.close();
      rules?.close();
      await prober?.stop();
      checks?.close();
      pool.close();
      await audit.close();
      await tracer.shutdown();
    },
  };
}

/** The ops listener (ops.listen): /metrics, /healthz, /readyz; none without ops. */
async function startOps(config: ConnectorConfig, metrics: Registry, view: () => { role: string; tunnel: string; audit_healthy: boolean; [k: string]: unknown }, log: Logger): Promise<RunningAdminServer | undefined> {
  if (!config.ops) return undefined;
  const addr = splitHostPort(config.ops.listen);
  return startAdminServer({
    host: addr.host,
    port: addr.port,
    tokens: [],
    maxBodyBytes: 1024,
    routes: [
      healthRoute(view),
      readyRoute(() => {
        const v = view();
        if (v.stopping === true) return { ready: false, reason: 'the connector is stopping', ...v };
        const relays = relayReadiness(v.relays as RelayTunnelView[]);
        if (v.tunnel !== 'registered') return { ready: false, reason: relays.reason, ...v };
        if (!v.audit_healthy) return { ready: false, reason: `the connector cannot keep audit events (${String(v.audit_unhealthy_reason ?? 'disk error, or the delivery spool is full')}): calls are refused`, ...v };
        return { ready: true, reason: '', ...v, ...(relays.notRegistered.length > 0 ? { relays_not_registered: relays.notRegistered } : {}) };
      }),
      metricsRoute(metrics),
    ],
    log: log.child({ component: 'connector.ops' }),
  });
}

interface CallContext {
  policy: CompiledPolicy;
  allowed: OpenCalls;
  limiter: InFlightLimiter;
  tracer: CallTracer;
  audit: AuditEmitter;
  pool: BackendPool;
  timeouts: BackendTimeouts;
  log: Logger;
  secretQueryParams: readonly string[];
}

function handleCall(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, ctx: CallContext): void {
  const call = new ConnectorCall(stream, headers, ctx.audit, ctx.log, ctx.tracer);
  stream.once('close', () => call.finish());
  stream.on('error', (err) => ctx.log.debug({ err: err.message, trace_id: call.record.trace_id }, 'call stream error'));
  if (!ctx.audit.healthy) {
    call.failBackend({ errorType: 'internal', code: 'TW_ERR_AUDIT_UNAVAILABLE', detail: `the connector cannot keep audit events: ${ctx.audit.unhealthyReason ?? 'disk error, or the delivery spool is full'}` });
    return;
  }
  const decision = decide(ctx.policy, call.accessRequest());
  call.applyDecision(decision, ctx.secretQueryParams);
  if (decision.decision === 'deny' || !decision.mapping) {
    call.deny(decision);
    return;
  }
  const mapping = decision.mapping;
  // Concurrent call limits (connector/acl/limits.ts): checked once the rules allow the call.
  const sub = ctx.policy.subaccounts.get(call.record.subaccount);
  if (sub !== undefined) {
    const admission = ctx.limiter.admit(sub, call.record.cloud_app);
    if (!admission.ok) {
      const limited: AccessDecision = { ...decision, decision: 'deny', denyReason: 'rate_limited', ruleId: '', detail: admission.detail };
      call.applyDecision(limited, ctx.secretQueryParams);
      call.deny(limited);
      return;
    }
    stream.once('close', admission.release);
  }
  if (call.kind !== 'http') ctx.allowed.add(call, mapping);
  if (call.kind === 'connect') forwardTcp(call, mapping, ctx.pool, ctx.timeouts);
  else forwardHttp(call, mapping, decision.query ? `${decision.path}?${decision.query}` : decision.path, ctx.pool, ctx.timeouts);
}
