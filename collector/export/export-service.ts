// The exporters of one collector: built from the `exporters:` entries through the registry, one runner
// each, their health and metrics. Started after the store opens, closed before it closes, so the cursors
// of what was delivered are saved on the way down.
import type { Registry } from 'prom-client';
import { TunnelwatchError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { Store } from '../store/store.js';
import { checkExporterEntries, runnerSettings, type ExporterEntryConfig, type ExportSettings } from './config-schema.js';
import { storeCursors } from './cursor.js';
import { storeDeadLetters } from './dead-letters.js';
import { healthSource, HealthTracker, type ExporterHealthSource } from './health.js';
import { exportMetrics, type ExportMetrics } from './metrics.js';
import { exporterFactory } from './registry.js';
import { ExportRunner } from './runner.js';
import { createExportSource } from './source.js';
import type { Exporter } from './types.js';

export interface ExportService {
  readonly health: ExporterHealthSource;
  /** Stops every runner (saving its cursors) and closes the exporters. */
  close(): Promise<void>;
}

/** Builds one exporter from its validated entry (the collector, and the CLI's replay). */
export function buildExporter(entry: ExporterEntryConfig, configFile: string, log: Logger): Exporter {
  const factory = exporterFactory(entry.type);
  if (!factory) throw new TunnelwatchError('TW_ERR_EXPORT_CONFIG', `exporters: ${entry.name}: unknown type ${entry.type}`);
  return factory.create(entry, { configFile, log: log.child({ component: `export.${entry.type}`, exporter: entry.name }) });
}

export async function startExportService(options: {
  store: Store;
  entries: readonly ExporterEntryConfig[];
  settings: ExportSettings;
  configFile: string;
  /** The process's logger; each part binds its own component. */
  log: Logger;
  registry?: Registry;
  /** Counters shared by several services on one registry (a collector that restarts exporters on reload); else made from `registry`. */
  metrics?: ExportMetrics;
}): Promise<ExportService> {
  const { store, entries, log } = options;
  checkExporterEntries(entries);
  const settings = runnerSettings(options.settings);
  const source = createExportSource(store, { settleMs: settings.settleMs });
  const cursors = storeCursors(store);
  const deadLetters = storeDeadLetters(store);
  const trackers = entries.map((e) => new HealthTracker(e.name, e.type, e.streams, e.enabled));
  const health = healthSource(trackers, source, deadLetters);
  const metrics = options.metrics ?? (options.registry ? exportMetrics(options.registry, health) : undefined);

  // Build them all before starting any, so a bad entry stops the start-up with nothing half running.
  const exporters = entries.map((e) => (e.enabled ? buildExporter(e, options.configFile, log) : undefined));
  const runners: ExportRunner[] = [];
  for (const [i, exporter] of exporters.entries()) {
    const tracker = trackers[i] as HealthTracker;
    if (!exporter) {
      // A disabled exporter still shows how far behind its saved cursors are.
      for (const s of tracker.streams) tracker.position(s, await cursors.load(tracker.name, s));
      continue;
    }
    const runner = new ExportRunner(exporter, {
      source, cursors, deadLetters, health: tracker, ...(metrics ? { metrics } : {}),
      log: log.child({ component: 'export.runner', exporter: exporter.name }),
    }, settings);
    runner.start();
    runners.push(runner);
  }
  log.child({ component: 'collector.export' }).info({ exporters: entries.map((e) => `${e.name} (${e.type}${e.enabled ? '' : ', disabled'})`) }, 'exporters started');
  return {
    health,
    async close() {
      await Promise.all(runners.map((r) => r.close()));
    },
  };
}
