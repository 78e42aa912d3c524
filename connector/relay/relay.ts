// The relay process: proxy port for cloud apps, tunnel port for connectors.
import type { Server as HttpServer } from 'node:http';
import type { Server as TlsServer } from 'node:tls';
import { openAuditEmitter } from '../../common/audit/open-emitter.js';
import { splitHostPort } from '../../common/config/schema-parts.js';
import type { Logger } from '../../common/log.js';
import { readTlsFiles } from '../tunnel/tls-files.js';
import { createCallTracer } from '../../common/tracing/create-tracer.js';
import type { RelayConfig } from './config-schema.js';
import { startProxyServer } from './proxy-server.js';
import { SessionRegistry } from './session-registry.js';
import { startTunnelListener } from './tunnel-listener.js';
import { TokenStore } from './token-store.js';

export interface RunningRelay {
  readonly registry: SessionRegistry;
  readonly proxyPort: number;
  readonly tunnelPort: number;
  close(): Promise<void>;
}

export async function startRelay(config: RelayConfig, configFile: string, log: Logger): Promise<RunningRelay> {
  const tlsMaterial = readTlsFiles(configFile, 'tunnel.tls', config.tunnel.tls);
  const audit = openAuditEmitter({ emitter: 'relay', emitterId: config.relay.id, audit: config.audit, configFile, log: log.child({ component: 'relay.audit' }) });
  const registry = new SessionRegistry();
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
    log,
  });
  const proxyAddr = splitHostPort(config.proxy.listen);
  const proxy: HttpServer = await startProxyServer(
    {
      inflight: new WeakMap(),
      relayId: config.relay.id,
      tracer,
      tokens: new TokenStore(config.tokens),
      registry,
      audit,
      log: log.child({ component: 'relay.proxy' }),
      callTimeoutMs: config.proxy.call_timeout_ms,
      secretQueryParams: config.audit.secret_query_params,
    },
    { host: proxyAddr.host, port: proxyAddr.port, maxHeaderBytes: config.proxy.max_header_bytes, keepAliveTimeoutMs: config.proxy.keep_alive_timeout_ms },
  );
  log.info({ proxy: config.proxy.listen, tunnel: config.tunnel.listen, relay_id: config.relay.id }, 'relay listening');

  return {
    registry,
    proxyPort: (proxy.address() as { port: number }).port,
    tunnelPort: (tunnel.address() as { port: number }).port,
    async close() {
      for (const s of registry.list()) s.h2.destroy();
      proxy.closeAllConnections();
      await Promise.all([new Promise((r) => proxy.close(r)), new Promise((r) => tunnel.close(r))]);
      await audit.close();
      await tracer.shutdown();
    },
  };
}
