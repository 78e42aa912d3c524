// The collector process: opens the store, puts the bounded queue in front of it, and serves ingest.
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { readConfiguredFile } from '../common/config/load-config.js';
import { splitHostPort } from '../common/config/schema-parts.js';
import type { Logger } from '../common/log.js';
import { startDashboard, type RunningDashboard } from '../dashboard/dashboard.js';
import { buildApp } from './app.js';
import { collectorAdminTrail } from './admin-trail.js';
import { collectorCheckIngest } from './diagnostics/state-changes.js';
import { collectorOpsIngest } from './diagnostics/ops-findings.js';
import { startStuckAlerts } from './export/stuck-alerts.js';
import { recordRuleChange } from './rule-changes.js';
import { recordConfigAtStart } from './config-audit.js';
import { liveOptionsFromConfig } from './detect/config-schema.js';
import { createLiveDetector, type LiveDetector } from './detect/live.js';
import type { CollectorConfig } from './config-schema.js';
import type { ExporterEntryConfig } from './export/config-schema.js';
import type { ExportService } from './export/export-service.js';
import { ExporterSet } from './reload-exporters.js';
import { CollectorReloader } from './reload.js';
import { recordEmitterConfig } from './config-audit.js';
import { startCollectorCertAlerts } from './diagnostics/ops-findings.js';
import type { ReloadResult, ReloadSource, ServiceHooks } from '../common/service.js';
import { loadConfigFile } from '../common/config/load-config.js';
import { CollectorConfigSchema } from './config-schema.js';
import { IngestTokens } from './ingest-auth.js';
import { IngestQueue } from './ingest-queue.js';
import { createMetricsRegistry, metricsRoute } from './routes/metrics-route.js';
import { ingestStoreOf, openConfiguredStore } from './store-adapter.js';
import type { Store } from './store/store.js';

export interface RunningCollector {
  readonly port: number;
  readonly app: FastifyInstance;
  /** The store, for whatever shares this process (the dashboard on the embedded engine). */
  readonly store: Store;
  readonly queue: IngestQueue;
  /** The dashboard, when collector.yaml has a dashboard: section. */
  readonly dashboard: RunningDashboard | undefined;
  /** Live anomaly detection over the stored events (detection.enabled). */
  readonly detection: LiveDetector | undefined;
  /** The SIEM exporters (collector.yaml exporters:), when any are configured. */
  readonly exporters: ExportService | undefined;
  /** What GET /metrics serves; parts of the collector register their metrics on it. */
  readonly metrics: Registry;
  /** Reloads collector.yaml (SIGHUP; POST /api/v1/admin/reload): applied whole or refused whole (reload.ts). */
  reload(load: () => CollectorConfig, source: ReloadSource): Promise<ReloadResult>;
  close(): Promise<void>;
}

export async function startCollector(config: CollectorConfig, configFile: string, log: Logger, hooks?: ServiceHooks<CollectorConfig>): Promise<RunningCollector> {
  const tls = config.collector.tls;
  const https = tls ? { cert: readConfiguredFile(configFile, 'collector.tls.cert', tls.cert), key: readConfiguredFile(configFile, 'collector.tls.key', tls.key) } : undefined;
  if (config.collector.ingest_tokens.length === 0) log.warn('collector.ingest_tokens is empty: every ingest request will get 401');
  const unbound = config.collector.ingest_tokens.filter((t) => t.emitters === undefined).map((t) => t.name);
  if (unbound.length > 0) log.warn({ tokens: unbound }, 'ingest tokens without emitters: their holders may send records in any relay\'s or connector\'s name (bind each with collector.ingest_tokens[].emitters)');

  const store = await openConfiguredStore(config, configFile, log);
  const metrics = createMetricsRegistry();
  // Exporters read what the store holds; built before listening, so a bad entry stops the start-up. One set
  // even when empty: a reload may add exporters.
  let exporterSet: ExporterSet;
  try {
    exporterSet = await ExporterSet.start({ store, configFile, log, registry: metrics }, config.exporters as readonly ExporterEntryConfig[], config.export);
  } catch (err) {
    await store.close();
    throw err;
  }
  const exporters: ExportService | undefined = exporterSet.size > 0 ? exporterSet : undefined;
  const ingest = ingestStoreOf(store);
  const adminTrail = collectorAdminTrail(store, log);
  try {
    const changed = await recordConfigAtStart(store, adminTrail, config, configFile);
    if (changed.length > 0) log.info({ sections: changed }, 'configuration changes since the last start recorded as admin events');
  } catch (err) {
    // Not a reason to stay down (the store answered the migrations a moment ago); said loudly.
    log.error({ err: (err as Error).message }, 'could not record the configuration changes since the last start');
  }
  // Operational alerts (docs/alerts.md): from relays and connectors (POST /v1/ops), and stuck exporters.
  const opsIngest = collectorOpsIngest(store, log);
  const ingestTokens = new IngestTokens(config.collector.ingest_tokens);
  const queue = new IngestQueue(
    { maxRows: config.queue.max_rows, maxBytes: config.queue.max_bytes, retryAfterS: config.queue.retry_after_s, storeRetryAfterS: config.queue.store_retry_after_s },
    ingest,
    log.child({ component: 'collector.ingest' }),
  );
  const app = await buildApp({
    store: ingest,
    queue,
    tokens: ingestTokens,
    maxBodyBytes: config.collector.max_body_bytes,
    log: log.child({ component: 'collector.http' }),
    ...(https ? { https } : {}),
    checks: collectorCheckIngest(store, log.child({ component: 'collector.checks' })),
    ops: opsIngest,
    onRules: async (snapshot) => {
      const diff = await recordRuleChange(store, adminTrail, snapshot);
      if (diff) log.info({ connector_id: snapshot.connector_id, added: diff.added, removed: diff.removed, changed: diff.changed }, 'connector rules changed: recorded as an admin event');
    },
    onConfig: async (report) => {
      const recorded = await recordEmitterConfig(store, adminTrail, report);
      if (recorded.length > 0) log.info({ emitter_id: report.emitter_id, sections: recorded }, 'relay configuration changed: recorded as admin events');
      return recorded;
    },
  });
  await app.register(async (scope) => metricsRoute(scope, metrics));
  const { host, port } = splitHostPort(config.collector.listen);
  try {
    await app.listen({ host, port });
  } catch (err) {
    await exporterSet.close();
    await store.close();
    throw err;
  }
  const bound = (app.server.address() as { port: number }).port;
  log.info({ listen: `${host}:${bound}`, tls: Boolean(https), store: config.store.url ? 'clickhouse' : 'embedded' }, 'collector listening');
  // The dashboard's reload route calls the reloader, made below once everything it swaps exists.
  const reloading: { reloader?: CollectorReloader } = {};
  const loadAgain = hooks?.load ?? ((): CollectorConfig => loadConfigFile(CollectorConfigSchema, configFile) as CollectorConfig);
  const reloadFromApi = async (source: ReloadSource): Promise<ReloadResult> => {
    if (!reloading.reloader) return { applied: false, message: 'the collector is still starting' };
    return reloading.reloader.reload(loadAgain, source);
  };
  let dashboard: RunningDashboard | undefined;
  if (config.dashboard) {
    try {
      dashboard = await startDashboard(config.dashboard, store, configFile, log, { ...(exporters ? { exporters: exporters.health } : {}), reload: reloadFromApi });
    } catch (err) {
      await exporterSet.close();
      await app.close();
      await store.close();
      throw err;
    }
  }

  // Detection reads the store the collector writes: in this process on the embedded engine.
  const detectorOf = (section: CollectorConfig['detection']): LiveDetector | undefined => {
    const { enabled, ...live } = liveOptionsFromConfig(section);
    return enabled ? createLiveDetector({ store, ...live, log: log.child({ component: 'collector.detect' }) }) : undefined;
  };
  let detection = detectorOf(config.detection);
  detection?.start();
  const stuckOf = (stuckAfterS: number): ReturnType<typeof startStuckAlerts> => startStuckAlerts({ health: exporterSet.health, ingest: opsIngest, stuckAfterS, log });
  // Even with no exporter yet: a reload may add some.
  let stuck = stuckOf(config.export.stuck_after_s);
  // The collector's own certificate (collector.tls), watched like those of relays and connectors.
  const certAlerts = tls && https ? startCollectorCertAlerts({ ingest: opsIngest, file: tls.cert, loaded: https.cert, configFile, log }) : undefined;
  const reloader = new CollectorReloader({
    started: config,
    configFile,
    log,
    audit: adminTrail,
    ingestTokens,
    auth: dashboard?.auth,
    exporters: exporterSet,
    prepareDetection(next) {
      const fresh = detectorOf(next);
      return async () => {
        await detection?.stop();
        detection = fresh;
        detection?.start();
      };
    },
    async restartStuckAlerts(next) {
      await stuck.stop();
      stuck = stuckOf(next.stuck_after_s);
    },
  });
  reloading.reloader = reloader;

  return {
    port: bound,
    app,
    store,
    queue,
    dashboard,
    get detection() {
      return detection;
    },
    exporters,
    metrics,
    reload: (load, source) => reloader.reload(load, source),
    async close() {
      certAlerts?.stop();
      await stuck.stop();
      await detection?.stop();
      await dashboard?.close();
      // Before the store closes: each runner saves the cursor of what it delivered.
      await exporterSet.close();
      // app.close() lets requests in flight finish, i.e. their commits: nothing acknowledged is lost.
      await app.close();
      queue.close();
      await store.close();
    },
  };
}
