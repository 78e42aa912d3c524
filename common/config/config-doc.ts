// The generated part of docs/configuration.md: one table per config file, then one per exporter type
// (the keys an `exporters:` entry of that type adds to the common ones).
import { CollectorConfigSchema } from '../../collector/config-schema.js';
import { EXPORTER_TYPES } from '../../collector/export/registry.js';
import { ConnectorConfigSchema } from '../../connector/agent/config-schema.js';
import { RelayConfigSchema } from '../../connector/relay/config-schema.js';
import { configReference } from './config-reference.js';

export const CONFIG_DOC_MARKERS = ['<!-- config-reference:start -->', '<!-- config-reference:end -->'] as const;

export function generatedConfigReference(): string {
  return [
    configReference('relay.yaml', RelayConfigSchema),
    configReference('connector.yaml', ConnectorConfigSchema),
    configReference('collector.yaml', CollectorConfigSchema),
    ...EXPORTER_TYPES.map((f) => configReference(`collector.yaml: exporters[] of type ${f.type} (${f.summary}), besides the common keys`, f.configSchema)),
  ].join('\n');
}
