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
import { startExportService, type ExportService } from './export/export-service.js';
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
  close(): Promise<void>;
}

export async function startCollector(config: CollectorConfig, configFile: string, log: Logger): Promise<RunningCollector> {
  const tls = config.collector.tls;
  const https = tls ? { cert: readConfiguredFile(configFile, 'collector.tls.cert', tls.cert), key: readConfiguredFile(configFile, 'collector.tls.key', tls.key) } : undefined;
  if (config.collector.ingest_tokens.length === 0) log.warn('collector.ingest_tokens is empty: every ingest request will get 401');

  const store = await openConfiguredStore(config, configFile, log);
  const metrics = createMetricsRegistry();
  // Exporters read what the store holds; built before listening, so a bad entry stops the start-up.
  let exporters: ExportService | undefined;
  if (config.exporters.length > 0) {
    try {
      exporters = await startExportService({
        store,
        entries: config.exporters as readonly ExporterEntryConfig[],
        settings: config.export,
        configFile,
        log,
        registry: metrics,
      });
    } catch (err) {
      await store.close();
      throw err;
    }
  }
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
  const queue = new IngestQueue(
    { maxRows: config.queue.max_rows, maxBytes: config.queue.max_bytes, retryAfterS: config.queue.retry_after_s, storeRetryAfterS: config.queue.store_retry_after_s },
    ingest,
    log.child({ component: 'collector.ingest' }),
  );
  const app = await buildApp({
    store: ingest,
    queue,
    tokens: new IngestTokens(config.collector.ingest_tokens),
    maxBodyBytes: config.collector.max_body_bytes,
    log: log.child({ component: 'collector.http' }),
    ...(https ? { https } : {}),
    checks: collectorCheckIngest(store, log.child({ component: 'collector.checks' })),
    ops: opsIngest,
    onRules: async (snapshot) => {
      const diff = await recordRuleChange(store, adminTrail, snapshot);
      if (diff) log.info({ connector_id: snapshot.connector_id, added: diff.added, removed: diff.removed, changed: diff.changed }, 'connector rules changed: recorded as an admin event');
    },
  });
  await app.register(async (scope) => metricsRoute(scope, metrics));
  const { host, port } = splitHostPort(config.collector.listen);
  try {
    await app.listen({ host, port });
  } catch (err) {
    await exporters?.close();
    await store.close();
    throw err;
  }
  const bound = (app.server.address() as { port: number }).port;
  log.info({ listen: `${host}:${bound}`, tls: Boolean(https), store: config.store.url ? 'clickhouse' : 'embedded' }, 'collector listening');
  let dashboard: RunningDashboard | undefined;
  if (config.dashboard) {
    try {
      dashboard = await startDashboard(config.dashboard, store, configFile, log, exporters ? { exporters: exporters.health } : {});
    } catch (err) {
      await exporters?.close();
      await app.close();
      await store.close();
      throw err;
    }
  }

  // Detection reads the store the collector writes: in this process on the embedded engine.
  const { enabled, ...live } = liveOptionsFromConfig(config.detection);
  const detection = enabled ? createLiveDetector({ store, ...live, log: log.child({ component: 'collector.detect' }) }) : undefined;
  detection?.start();
  const stuck = exporters ? startStuckAlerts({ health: exporters.health, ingest: opsIngest, stuckAfterS: config.export.stuck_after_s, log }) : undefined;

  return {
    port: bound,
    app,
    store,
    queue,
    dashboard,
    detection,
    exporters,
    metrics,
    async close() {
      await stuck?.stop();
      await detection?.stop();
      await dashboard?.close();
      // Before the store closes: each runner saves the cursor of what it delivered.
      await exporters?.close();
      // app.close() lets requests in flight finish, i.e. their commits: nothing acknowledged is lost.
      await app.close();
      queue.close();
      await store.close();
    },
  };
}
