// `tunnelwatch demo`: relay, connector, two sample backends and traffic, all in one process, on the
// quickstart configs in examples/quickstart/.
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Server } from 'node:net';
import { loadConfigFile, resolveFrom } from '../common/config/load-config.js';
import { createLogger } from '../common/log.js';
import { ConnectorConfigSchema } from '../connector/agent/config-schema.js';
import { startConnector } from '../connector/agent/connector.js';
import { initPki, PKI_FILES } from '../connector/pki/pki.js';
import { RelayConfigSchema } from '../connector/relay/config-schema.js';
import { startRelay } from '../connector/relay/relay.js';
import { splitHostPort } from '../common/config/schema-parts.js';
import { startSampleHttpApi } from './sample-http-api.js';
import { CollectorConfigSchema } from '../collector/config-schema.js';
import { startCollector } from '../collector/collector.js';
import type { Store } from '../collector/store/store.js';
import { startSampleTcpService } from './sample-tcp-service.js';
import { DEMO_TOKENS, startTraffic } from './traffic.js';

export interface DemoOptions {
  configDir: string;
  /** Stop after this many seconds; 0 runs until Ctrl-C. */
  durationS: number;
  ratePerSecond: number;
  logLevel: string;
}

export async function runDemo(options: DemoOptions): Promise<number> {
  const dir = resolve(options.configDir);
  const relayFile = join(dir, 'relay.yaml');
  const connectorFile = join(dir, 'connector.yaml');
  const collectorFile = join(dir, 'collector.yaml');
  const collectorConfig = loadConfigFile(CollectorConfigSchema, collectorFile);
  const relayConfig = loadConfigFile(RelayConfigSchema, relayFile);
  const connectorConfig = loadConfigFile(ConnectorConfigSchema, connectorFile);
  const log = createLogger({ name: 'demo', level: options.logLevel });
  const say = (line = ''): void => void process.stdout.write(`${line}\n`);

  const pkiDir = resolveFrom(relayFile, 'pki');
  if (!existsSync(join(pkiDir, PKI_FILES.caCert))) {
    say(`Creating a demo CA and certificates in ${relative(process.cwd(), pkiDir) || '.'} ...`);
    await initPki(pkiDir, { connectors: relayConfig.tunnel.connectors.map((c) => c.cn) });
  }

  const servers: Server[] = [];
  const erp = splitHostPort(connectorConfig.subaccounts.acme?.mappings[0]?.internal ?? '127.0.0.1:18081');
  const quotes = splitHostPort(connectorConfig.subaccounts.acme?.mappings[1]?.internal ?? '127.0.0.1:18082');
  servers.push(await startSampleHttpApi(erp.host, erp.port));
  servers.push(await startSampleTcpService(quotes.host, quotes.port));
  say('Opening the embedded store (chDB) and starting the collector ...');
  const collector = await startCollector(collectorConfig, collectorFile, log.child({ component: 'collector' }));
  const relay = await startRelay(relayConfig, relayFile, log.child({ component: 'relay' }));
  const connector = await startConnector(connectorConfig, connectorFile, log.child({ component: 'connector' }));
  const registered = await Promise.race([connector.tunnel.whenRegistered().then(() => true), sleep(10_000).then(() => false)]);
  if (!registered) say(`WARNING: the connector has not registered with the relay yet: ${connector.tunnel.status.lastError}`);

  const proxy = splitHostPort(relayConfig.proxy.listen);
  const traffic = options.ratePerSecond > 0 ? startTraffic(proxy, options.ratePerSecond) : undefined;
  const auditDir = (file: string, d: string) => relative(process.cwd(), resolveFrom(file, d)) || '.';
  say('');
  say('Tunnelwatch demo is running:');
  say(`  relay       proxy ${relayConfig.proxy.listen} (cloud apps), tunnel ${relayConfig.tunnel.listen} (connectors, mTLS)`);
  say(`  connector   ${connectorConfig.connector.id}, serving subaccounts ${Object.keys(connectorConfig.subaccounts).join(', ')}`);
  say(`  collector   ${collectorConfig.collector.listen} (OTLP/HTTP and audit ingest), embedded store in ${relative(process.cwd(), collector.store.dataDir) || '.'}`);
  say(`  backends    HTTP API on ${erp.host}:${erp.port} (as erp.virtual:8000), TCP quotes on ${quotes.host}:${quotes.port} (as quotes.virtual:7000)`);
  say(`  traffic     ${traffic ? `about ${options.ratePerSecond} calls/s from 4 cloud apps in acme, globex and initech, some denied` : 'off'}`);
  if (collector.dashboard) {
    say('');
    say(`Dashboard: ${collector.dashboard.url}`);
    say('  sign in as admin / demo-admin, analyst / demo-analyst, viewer / demo-viewer, or acme-viewer / demo-acme-viewer');
  }
  say('');
  say('Try a call through the tunnel:');
  say(`  curl -x http://${relayConfig.proxy.listen} --proxy-header "Proxy-Authorization: Bearer ${DEMO_TOKENS.acmeErpPortal}" http://erp.virtual:8000/api/orders`);
  say('and one the rules deny (403, x-tunnel-deny-reason: path_not_allowed):');
  say(`  curl -i -x http://${relayConfig.proxy.listen} --proxy-header "Proxy-Authorization: Bearer ${DEMO_TOKENS.acmeErpPortal}" http://erp.virtual:8000/admin/users`);
  say('');
  say('Audit events (NDJSON, hash-chained per emitter):');
  say(`  connector: ${auditDir(connectorFile, connectorConfig.audit.dir)}   relay: ${auditDir(relayFile, relayConfig.audit.dir)}`);
  say(`  check them: node bin/tunnelwatch.js audit verify ${auditDir(connectorFile, connectorConfig.audit.dir)}`);
  say('');
  say('Every call is also stored twice in ClickHouse, as its audit event and as its trace. After the demo stops:');
  say(`  npx tunnelwatch query --config ${relative(process.cwd(), collectorFile)} \\`);
  say('    "SELECT subaccount, decision, deny_reason, count() AS calls FROM audit_events FINAL GROUP BY ALL ORDER BY calls DESC"');
  say(`  npx tunnelwatch query --config ${relative(process.cwd(), collectorFile)} \\`);
  say('    "SELECT TraceId, SpanName, ServiceName, SpanKind, Duration FROM otel_traces ORDER BY Timestamp DESC LIMIT 6"');
  say('');
  say(options.durationS > 0 ? `Stopping after ${options.durationS} s.` : 'Press Ctrl-C to stop.');

  const report = setInterval(() => {
    if (!traffic) return;
    const s = traffic.stats;
    const statuses = [...s.byStatus.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}:${v}`).join(' ');
    void storedCounts(collector.store).then((stored) =>
      say(`[demo] ${s.calls} calls so far (status ${statuses}${s.failures ? `, ${s.failures} client errors` : ''}); tunnel ${connector.tunnel.status.state}; stored: ${stored}`),
    );
  }, 10_000);
  report.unref();

  await new Promise<void>((resolveStop) => {
    const stop = (): void => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (options.durationS > 0) setTimeout(stop, options.durationS * 1000).unref();
  });
  clearInterval(report);
  traffic?.stop();
  say('Stopping the demo ...');
  await connector.close();
  await relay.close();
  const stored = await storedCounts(collector.store);
  await collector.close();
  say(`Stored: ${stored}.`);
  for (const s of servers) await new Promise((r) => s.close(r));
  if (traffic) say(`Done: ${traffic.stats.calls} calls sent.`);
  return 0;
}

async function storedCounts(store: Store): Promise<string> {
  try {
    const [audit] = await store.query<{ n: string }>('SELECT count() AS n FROM audit_events FINAL');
    const [spans] = await store.query<{ n: string }>('SELECT count() AS n FROM otel_traces');
    return `${audit?.n ?? '?'} audit events, ${spans?.n ?? '?'} spans`;
  } catch (err) {
    return `(store not readable: ${(err as Error).message})`;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
