// The elasticsearch exporter type: ECS documents into the data streams logs-tunnelwatch.audit-<namespace>
// and logs-tunnelwatch.finding-<namespace>, `create` with _id = record id (docs/siem-elasticsearch.md).
import type { ExporterFactory } from '../types.js';
import { EsKeys, type EsConfig } from './config.js';
import { createEsExporter } from './exporter.js';

export const elasticsearchExporter: ExporterFactory<EsConfig> = {
  type: 'elasticsearch',
  summary: 'Elasticsearch 9: ECS documents in data streams logs-tunnelwatch.audit-* and logs-tunnelwatch.finding-*, at least once, de-duplicated by _id',
  configSchema: EsKeys,
  create: (config, context) => createEsExporter(config, context),
};
