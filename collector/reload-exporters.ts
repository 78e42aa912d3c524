// The collector's SIEM exporters as one export service per `exporters:` entry, so that a config reload stops
// and restarts only the exporters whose entry changed (all of them when the shared `export:` settings did),
// and adds and removes the others, while the rest keep delivering. A restarted exporter's runner saves its
// cursors when it stops and the new one resumes from them (table export_cursors): nothing is lost, and what
// may be sent twice is what at-least-once delivery already allows (the receivers de-duplicate by id).
// Health and metrics span every service, so the dashboard and /metrics see one set of exporters.
import type { Registry } from 'prom-client';
import { canonicalJson } from '../common/audit/canonical-json.js';
import type { Logger } from '../common/log.js';
import { checkExporterEntries, type ExporterEntryConfig, type ExportSettings } from './export/config-schema.js';
import { buildExporter, startExportService, type ExportService } from './export/export-service.js';
import type { ExporterHealth, ExporterHealthSource } from './export/health.js';
import { exportMetrics, type ExportMetrics } from './export/metrics.js';
import type { Store } from './store/store.js';

export interface ExporterPlan {
  readonly entries: readonly ExporterEntryConfig[];
  readonly settings: ExportSettings;
  /** Names stopped (changed or removed) and started (changed or added). */
  readonly stop: readonly string[];
  readonly start: readonly string[];
}

export interface ExporterSetOptions {
  readonly store: Store;
  readonly configFile: string;
  readonly log: Logger;
  readonly registry?: Registry;
}

export class ExporterSet implements ExportService {
  private readonly services = new Map<string, { entry: ExporterEntryConfig; service: ExportService }>();
  private order: string[] = [];
  private settings: ExportSettings;
  private metrics: ExportMetrics | undefined;
  readonly health: ExporterHealthSource = {
    snapshot: async (): Promise<ExporterHealth[]> => {
      const parts = await Promise.all(this.order.map((n) => this.services.get(n)?.service.health.snapshot() ?? Promise.resolve([])));
      return parts.flat();
    },
  };

  private constructor(private readonly o: ExporterSetOptions, settings: ExportSettings) {
    this.settings = settings;
  }

  /** Starts every entry; a bad entry stops the start-up with nothing left running. */
  static async start(o: ExporterSetOptions, entries: readonly ExporterEntryConfig[], settings: ExportSettings): Promise<ExporterSet> {
    checkExporterEntries(entries);
    const set = new ExporterSet(o, settings);
    try {
      await set.apply({ entries, settings, stop: [], start: entries.map((e) => e.name) });
    } catch (err) {
      await set.close();
      throw err;
    }
    return set;
  }

  get size(): number {
    return this.services.size;
  }

  /**
   * What a reload to these entries would do; throws (changing nothing) when an entry is not valid: names
   * twice, an unknown type, or an exporter that cannot be built (a secret file missing, a bad CA).
   */
  plan(entries: readonly ExporterEntryConfig[], settings: ExportSettings): ExporterPlan {
    checkExporterEntries(entries);
    const all = canonicalJson(settings) !== canonicalJson(this.settings);
    const next = new Set(entries.map((e) => e.name));
    const stop = [...this.services.entries()].filter(([name, s]) => all || !next.has(name) || canonicalJson(s.entry) !== canonicalJson(entries.find((e) => e.name === name))).map(([name]) => name);
    const start = entries.filter((e) => !this.services.has(e.name) || stop.includes(e.name)).map((e) => e.name);
    for (const e of entries) {
      // Built once and closed, to find what only building finds; the real one is built when it starts.
      if (start.includes(e.name) && e.enabled) void buildExporter(e, this.o.configFile, this.o.log).close().catch(() => undefined);
    }
    return { entries, settings, stop, start };
  }

  /** Stops the exporters of the plan (saving their cursors), then starts the new ones. */
  async apply(plan: ExporterPlan): Promise<void> {
    for (const name of plan.stop) {
      const s = this.services.get(name);
      this.services.delete(name);
      await s?.service.close();
    }
    this.settings = plan.settings;
    if (!this.metrics && this.o.registry && plan.entries.length > 0) this.metrics = exportMetrics(this.o.registry, this.health);
    for (const entry of plan.entries.filter((e) => plan.start.includes(e.name))) {
      const service = await startExportService({
        store: this.o.store, entries: [entry], settings: plan.settings, configFile: this.o.configFile, log: this.o.log,
        ...(this.metrics ? { metrics: this.metrics } : {}),
      });
      this.services.set(entry.name, { entry, service });
    }
    this.order = plan.entries.map((e) => e.name);
  }

  async close(): Promise<void> {
    const all = [...this.services.values()];
    this.services.clear();
    await Promise.all(all.map((s) => s.service.close()));
  }
}
