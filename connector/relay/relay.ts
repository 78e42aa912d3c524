// The relay process: proxy port for cloud apps, tunnel port for connectors.
import type { Server as HttpServer } from 'node:http';
import type { Server as TlsServer } from 'node:tls';
import { Registry } from 'prom-client';
import { openAuditPipeline } from '../../common/audit/open-emitter.js';
import { healthRoute, metricsRoute, readyRoute } from '../../common/ops/ops-routes.js';
import { createCallMetrics, mirroredCounter, registerShipperMetrics, registerTunnelMetrics } from '../../common/ops/tunnel-metrics.js';
import { splitHostPort } from '../../common/config/schema-parts.js';
import type { Logger } from '../../common/log.js';
import { readTlsFiles } from '../tunnel/tls-files.js';
import { createCallTracer } from '../../common/tracing/create-tracer.js';
import { RelayConfigSchema, type RelayConfig } from './config-schema.js';
import { startProxyServer } from './proxy-server.js';
import { SessionRegistry } from './session-registry.js';
import { startTunnelListener } from './tunnel-listener.js';
import { tokenListProblems, TokenStore } from './token-store.js';
import { AdmittedCalls, watchTokenExpiry } from './admitted-calls.js';
import { cidrProblems, proxyProtocolRefusals } from './proxy-protocol.js';
import { ConfigError, loadConfigFile, readConfiguredFile } from '../../common/config/load-config.js';
import type { ReloadResult, ReloadSource, ServiceHooks } from '../../common/service.js';
import { configReporterOf, configSnapshot, reloadRelay, reloadRoute, startActor, type RelayInForce } from './reload.js';
import { startAdminServer, type RunningAdminServer } from './admin-server.js';
import { checkRoute } from './admin-check.js';
import { connectorsRoute, openStreams, SessionStats } from './session-stats.js';
import { startEmitterAlerts } from '../../common/ops/ops-reporter.js';
import { startTunnelAlerts } from './tunnel-alerts.js';

export interface RunningRelay {
  readonly registry: SessionRegistry;
  readonly proxyPort: number;
  readonly tunnelPort: number;
  /** The admin listener's port, when admin is configured. */
  readonly adminPort: number | undefined;
  /** Reloads relay.yaml (SIGHUP; POST /admin/v1/reload): applied whole or refused whole (reload.ts). */
  reload(load: () => RelayConfig, source: ReloadSource): Promise<ReloadResult>;
  close(): Promise<void>;
}

export async function startRelay(config: RelayConfig, configFile: string, log: Logger, hooks?: ServiceHooks<RelayConfig>): Promise<RunningRelay> {
  const problems = [...tokenListProblems(config.tokens), ...cidrProblems(config.proxy.proxy_protocol_from)];
  if (problems.length > 0) throw new ConfigError(configFile, problems);
  const tlsMaterial = readTlsFiles(configFile, 'tunnel.tls', config.tunnel.tls);
  const metrics = new Registry();
  const pipeline = openAuditPipeline({ emitter: 'relay', emitterId: config.relay.id, audit: config.audit, configFile, log: log.child({ component: 'relay.audit' }) });
  const callMetrics = createCallMetrics(metrics, 'relay');
  const audit = pipeline.emitter;
  registerShipperMetrics(metrics, () => pipeline.shipper?.metrics);
  // Read before anything listens, so a missing file stops the relay before it serves.
  const adminTls = config.admin?.tls ? { cert: readConfiguredFile(configFile, 'admin.tls.cert', config.admin.tls.cert), key: readConfiguredFile(configFile, 'admin.tls.key', config.admin.tls.key) } : undefined;
  // What a reload swaps; the certificate watch reads what is presented now through it.
  let inForce: RelayInForce = { config, tunnelTls: tlsMaterial, adminTls };
  const registry = new SessionRegistry();
  const stats = new SessionStats();
  // Operational alerts (docs/alerts.md): tunnel down and failover from the registry, the spool, the certificates.
  const alerts = startEmitterAlerts({
    emitter: 'relay', emitterId: config.relay.id, audit: config.audit, alerts: config.alerts, configFile, shipper: () => pipeline.shipper?.metrics, log,
    certs: [{ name: 'tunnel.tls.cert', file: config.tunnel.tls.cert, loaded: () => inForce.tunnelTls.cert }, { name: 'tunnel.tls.ca', file: config.tunnel.tls.ca, loaded: () => inForce.tunnelTls.ca },
      ...(config.admin?.tls && adminTls ? [{ name: 'admin.tls.cert', file: config.admin.tls.cert, loaded: () => inForce.adminTls?.cert ?? adminTls.cert }] : [])],
  });
  const tunnelAlerts = startTunnelAlerts({ relayId: config.relay.id, registry, graceMs: config.alerts.tunnel_down_grace_ms, report: alerts.report, lastError: (s) => stats.view(s).last_error, log });
  registerTunnelMetrics(metrics, 'relay', {
    sessions: () => sessionCounts(registry),
    streams: () => registry.list().reduce((n, s) => n + openStreams(s.h2), 0),
    connects: () => stats.opened,
  });
  const tracer = createCallTracer({ serviceName: 'tunnelwatch-relay', instanceId: config.relay.id, config: config.tracing, configFile, log });
  const authorised = new Map<string, ReadonlySet<string>>();
  for (const c of config.tunnel.connectors) authorised.set(c.cn, new Set([...(authorised.get(c.cn) ?? []), ...c.subaccounts]));

  const tunnelAddr = splitHostPort(config.tunnel.listen);
  const tunnel: TlsServer = await startTunnelListener({
    relayId: config.relay.id,
    host: tunnelAddr.host,
    port: tunnelAddr.port,
    tls: tlsMaterial,
    pingIntervalMs: config.tunnel.ping_interval_ms,
    authorised,
    registry,
    stats,
    log,
  });
  const tokens = new TokenStore(config.tokens);
  const admitted = new AdmittedCalls(log.child({ component: 'relay.proxy' }));
  const expiry = watchTokenExpiry(tokens, admitted, metrics, log.child({ component: 'relay.tokens' }));
  mirroredCounter(metrics, 'tunnelwatch_calls_cut_by_rules_total', 'Open CONNECT tunnels and websockets cut because the token that admitted them was removed or moved by a reload, or expired', () => admitted.cutTotal);
  const proxyAddr = splitHostPort(config.proxy.listen);
  const proxy: HttpServer = await startProxyServer(
    {
      inflight: new WeakMap(),
      relayId: config.relay.id,
      tracer,
      tokens,
      admitted,
      registry,
      audit,
      log: log.child({ component: 'relay.proxy' }),
      callTimeoutMs: config.proxy.call_timeout_ms,
      secretQueryParams: config.audit.secret_query_params,
      observe: callMetrics.observe,
    },
    {
      host: proxyAddr.host,
      port: proxyAddr.port,
      maxHeaderBytes: config.proxy.max_header_bytes,
      keepAliveTimeoutMs: config.proxy.keep_alive_timeout_ms,
      headTimeoutMs: config.proxy.head_timeout_ms,
      proxyProtocolFrom: config.proxy.proxy_protocol_from,
      onProxyProtocolRefused: proxyProtocolRefusals(metrics, log.child({ component: 'relay.proxy' })),
    },
  );
  const configReport = configReporterOf(config, configFile, log);
  const reloadTarget = {
    started: config,
    configFile,
    current: () => inForce,
    apply(next: RelayInForce, what: { tokens: boolean; adminTokens: boolean; tunnelTls: boolean; adminTls: boolean }, source: ReloadSource) {
      // All synchronous: no request is judged between two of these steps.
      if (what.tokens) {
        tokens.replace(next.config.tokens);
        admitted.recheck(tokens);
        expiry.warnSoon();
      }
      if (what.adminTokens && next.config.admin) admin?.setTokens(next.config.admin.tokens);
      if (what.tunnelTls) tunnel.setSecureContext({ cert: next.tunnelTls.cert, key: next.tunnelTls.key, ca: next.tunnelTls.ca, minVersion: 'TLSv1.2' });
      if (what.adminTls && next.adminTls) admin?.setTls(next.adminTls);
      inForce = next;
      configReport?.report(configSnapshot(next, source.via, { actor: source.actor, actorRole: source.actorRole ?? 'config-file', clientIp: source.clientIp ?? '' }));
    },
  };
  const reload = async (load: () => RelayConfig, source: ReloadSource): Promise<ReloadResult> => {
    const result = reloadRelay(reloadTarget, load, source);
    if (result.applied && (result.changed?.length ?? 0) > 0) log.info({ changed: result.changed, via: source.via, actor: source.actor }, 'relay configuration changed');
    return result;
  };
  const loadAgain = hooks?.load ?? ((): RelayConfig => loadConfigFile(RelayConfigSchema, configFile) as RelayConfig);
  configReport?.report(configSnapshot(inForce, 'start', startActor()));
  let admin: RunningAdminServer | undefined;
  if (config.admin) {
    const a = config.admin;
    const adminAddr = splitHostPort(a.listen);
    const adminLog = log.child({ component: 'relay.admin' });
    try {
      admin = await startAdminServer({
        host: adminAddr.host,
        port: adminAddr.port,
        tokens: a.tokens,
        maxBodyBytes: a.max_body_bytes,
        ...(adminTls ? { tls: adminTls } : {}),
        // One entry per endpoint; /metrics and /readyz join this list.
        routes: [
          healthRoute(() => ({ role: 'relay', relay_id: config.relay.id, sessions: registry.list().length })),
          readyRoute(() => (audit.healthy
            ? { ready: true, reason: '', role: 'relay' }
            : { ready: false, reason: `the relay cannot keep audit events (${audit.unhealthyReason ?? 'disk error, or the delivery spool is full'}): calls are refused`, role: 'relay' })),
          metricsRoute(metrics),
          connectorsRoute(registry, stats),
          checkRoute({ registry, checkTimeoutMs: a.check_timeout_ms, log: adminLog }),
          reloadRoute((source) => {
            // Synchronous through and through (files read with readFileSync): two reloads cannot interleave.
            const result = reloadRelay(reloadTarget, loadAgain, source);
            if (result.applied) adminLog.info({ restart_needed: result.restartNeeded ?? [], changed: result.changed ?? [], actor: source.actor }, `configuration reloaded: ${result.message}`);
            else adminLog.error({ actor: source.actor }, `configuration reload refused, nothing changed: ${result.message}`);
            return result;
          }),
        ],
        log,
      });
    } catch (err) {
      proxy.close();
      tunnel.close();
      throw err;
    }
    if (!a.tls && !isLoopback(adminAddr.host)) adminLog.warn({ listen: a.listen }, 'the admin API listens off loopback without tls: its bearer tokens cross the network in clear text');
  }
  log.info({ proxy: config.proxy.listen, tunnel: config.tunnel.listen, admin: config.admin?.listen ?? '', relay_id: config.relay.id }, 'relay listening');

  return {
    registry,
    proxyPort: (proxy.address() as { port: number }).port,
    tunnelPort: (tunnel.address() as { port: number }).port,
    adminPort: admin?.port,
    reload,
    async close() {
      expiry.stop();
      configReport?.close();
      // Before the sessions close: a relay shutting down is no tunnel outage.
      tunnelAlerts.stop();
      alerts.stop();
      for (const s of registry.list()) s.h2.destroy();
      proxy.closeAllConnections();
      await Promise.all([new Promise((r) => proxy.close(r)), new Promise((r) => tunnel.close(r)), admin?.close()]);
      await audit.close();
      await tracer.shutdown();
    },
  };
}

/** Sessions by HA role (standalone without HA) and whether the relay routes calls to them. */
function sessionCounts(registry: SessionRegistry): { labels: Record<string, string>; value: number }[] {
  const counts = new Map<string, { labels: Record<string, string>; value: number }>();
  for (const s of registry.list()) {
    const labels = { ha_role: s.ha?.role ?? 'standalone', active: String(s.ha?.active ?? true) };
    const key = `${labels.ha_role}/${labels.active}`;
    const entry = counts.get(key) ?? { labels, value: 0 };
    entry.value++;
    counts.set(key, entry);
  }
  return [...counts.values()];
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}
