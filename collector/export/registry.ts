// Every exporter type the collector knows. A new type is one folder with an ExporterFactory and one line
// here; the `exporters:` config section (config-schema.ts) and the configuration reference are built
// from this list.
import { elasticsearchExporter } from './elasticsearch/index.js';
import { syslogExporter } from './syslog/index.js';
import type { ExporterFactory } from './types.js';
import { webhookExporter } from './webhook/index.js';

export const EXPORTER_TYPES: readonly ExporterFactory[] = [
  elasticsearchExporter as ExporterFactory,
  syslogExporter as ExporterFactory,
  webhookExporter as ExporterFactory,
];

export function exporterFactory(type: string): ExporterFactory | undefined {
  return EXPORTER_TYPES.find((f) => f.type === type);
}
