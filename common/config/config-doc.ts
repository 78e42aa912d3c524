// The generated part of docs/configuration.md: one table per config file.
import { CollectorConfigSchema } from '../../collector/config-schema.js';
import { ConnectorConfigSchema } from '../../connector/agent/config-schema.js';
import { RelayConfigSchema } from '../../connector/relay/config-schema.js';
import { configReference } from './config-reference.js';

export const CONFIG_DOC_MARKERS = ['<!-- config-reference:start -->', '<!-- config-reference:end -->'] as const;

export function generatedConfigReference(): string {
  return [configReference('relay.yaml', RelayConfigSchema), configReference('connector.yaml', ConnectorConfigSchema), configReference('collector.yaml', CollectorConfigSchema)].join('\n');
}
