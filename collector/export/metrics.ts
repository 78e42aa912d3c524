// Prometheus metrics of the exporters (docs/siem.md, "Metrics"), labelled by exporter name and stream
// only, so the series stay few whatever the traffic. Counters move as the runners report attempts; the
// gauges are read from the health snapshot when scraped.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ExporterHealthSource } from './health.js';
import type { AttemptReport } from './retry.js';
import type { ExportStream } from './types.js';

export interface ExportMetrics {
  attempt(exporter: string, stream: ExportStream, report: AttemptReport): void;
}

const LABELS = ['exporter', 'stream'] as const;

export function exportMetrics(registry: Registry, health: ExporterHealthSource): ExportMetrics {
  const sent = new Counter({ name: 'tunnelwatch_export_records_sent_total', help: 'Records delivered to the receiver (an "already there" answer counts as delivered).', labelNames: LABELS, registers: [registry] });
  const failed = new Counter({ name: 'tunnelwatch_export_send_failures_total', help: 'send() attempts that did not deliver everything: retryable answers and failures.', labelNames: LABELS, registers: [registry] });
  const dead = new Counter({ name: 'tunnelwatch_export_dead_letters_total', help: 'Records written to the dead-letter table (export_dead_letters).', labelNames: LABELS, registers: [registry] });

  // One snapshot per scrape, shared by the three gauges.
  let scrape: { at: number; value: ReturnType<ExporterHealthSource['snapshot']> } | undefined;
  const snapshot = (): ReturnType<ExporterHealthSource['snapshot']> => {
    if (!scrape || Date.now() - scrape.at > 1000) scrape = { at: Date.now(), value: health.snapshot() };
    return scrape.value;
  };
  const gauge = (name: string, help: string, value: (s: Awaited<ReturnType<typeof snapshot>>[number]['streams'][number]) => number | undefined): Gauge<string> =>
    new Gauge({
      name, help, labelNames: LABELS, registers: [registry],
      async collect() {
        this.reset();
        for (const e of await snapshot()) {
          for (const s of e.streams) {
            const v = value(s);
            if (v !== undefined) this.set({ exporter: e.name, stream: s.stream }, v);
          }
        }
      },
    });
  gauge('tunnelwatch_export_lag_records', 'Records stored but not delivered yet.', (s) => s.lag_records);
  gauge('tunnelwatch_export_lag_seconds', 'Age of the oldest record not delivered yet (0 when none).', (s) => s.lag_seconds);
  gauge('tunnelwatch_export_last_success_timestamp_seconds', 'When the last batch was delivered (Unix time), since the collector started.', (s) => (s.last_success_at ? Date.parse(s.last_success_at) / 1000 : undefined));

  return {
    attempt(exporter, stream, report) {
      const labels = { exporter, stream };
      if (report.delivered > 0) sent.inc(labels, report.delivered);
      if (report.dead > 0) dead.inc(labels, report.dead);
      if (report.outcome.status !== 'success') failed.inc(labels);
    },
  };
}
