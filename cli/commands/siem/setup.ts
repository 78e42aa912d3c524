// `tunnelwatch siem setup elasticsearch`: installs the index templates and data streams an Elasticsearch
// exporter writes into, with that exporter's connection settings from collector.yaml
// (docs/siem-elasticsearch.md, "Setup"). Safe to run again: it says what it created, updated or found.
import { loadConfigFile } from '../../../common/config/load-config.js';
import { ERRORS, TunnelwatchError } from '../../../common/errors.js';
import { CollectorConfigSchema, type CollectorConfig } from '../../../collector/config-schema.js';
import type { ExporterEntryConfig } from '../../../collector/export/config-schema.js';
import { classifyCallError } from '../../../collector/export/elasticsearch/bulk-outcome.js';
import type { EsConfig } from '../../../collector/export/elasticsearch/config.js';
import { createClient, describeConnection } from '../../../collector/export/elasticsearch/connection.js';
import { setUpElasticsearch } from '../../../collector/export/elasticsearch/setup.js';
import { parseOptions, UsageError } from '../../command.js';
import type { SiemSubcommand } from '../siem.js';

const HELP = `Usage:
  tunnelwatch siem setup elasticsearch --config collector.yaml [--exporter NAME]

Installs, on the cluster of each elasticsearch exporter of collector.yaml (or only of --exporter NAME):
  - component template tunnelwatch@mappings (the ECS mappings, docs/ecs-mapping.md),
  - index templates logs-tunnelwatch.audit and logs-tunnelwatch.finding (data streams, priority 200),
  - the data streams logs-tunnelwatch.audit-<namespace> and logs-tunnelwatch.finding-<namespace> of the
    streams the exporter sends.
It connects with the exporter's nodes, auth and tls; those credentials need the manage_index_templates
cluster privilege and create_index on logs-tunnelwatch.*-*. Run it again at will: what is up to date is
left alone. Exit code 0 when all is in place, 1 when the cluster refused or could not be reached, or a
data stream predates the templates (the output says how to fix it), 2 for a usage or config error.
See docs/siem-elasticsearch.md.`;

function esEntries(config: CollectorConfig, name: string | undefined): EsConfig[] {
  const entries = config.exporters as readonly ExporterEntryConfig[];
  if (name !== undefined) {
    const entry = entries.find((e) => e.name === name);
    if (!entry) throw new TunnelwatchError('TW_ERR_EXPORT_UNKNOWN_EXPORTER', `${name} (configured: ${entries.map((e) => e.name).join(', ') || 'none'})`);
    if (entry.type !== 'elasticsearch') throw new UsageError(`exporter ${name} is of type ${entry.type}, not elasticsearch`);
    return [entry as unknown as EsConfig];
  }
  const es = entries.filter((e) => e.type === 'elasticsearch');
  if (es.length === 0) throw new UsageError('collector.yaml has no exporter of type elasticsearch');
  return es as unknown as EsConfig[];
}

async function setUpOne(entry: EsConfig, configFile: string): Promise<boolean> {
  console.log(`exporter ${entry.name}: ${describeConnection(entry)}`);
  const client = createClient(entry, configFile);
  try {
    const report = await setUpElasticsearch(client, { namespace: entry.namespace, streams: entry.streams });
    console.log(`  Elasticsearch ${report.version}`);
    for (const step of report.steps) {
      console.log(`  ${step.kind} ${step.name}: ${step.result}${step.detail ? ` (${step.detail})` : ''}`);
    }
    return report.steps.every((s) => s.result !== 'exists with another template');
  } catch (err) {
    const c = classifyCallError(err);
    console.error(`  ${c.code}: ${ERRORS[c.code].message} (${c.detail})`);
    return false;
  } finally {
    await client.close();
  }
}

export const setupSubcommand: SiemSubcommand = {
  name: 'setup',
  summary: 'install Elasticsearch index templates and data streams (tunnelwatch siem setup elasticsearch)',
  async run(args) {
    if (args.includes('--help') || args.includes('-h')) {
      console.log(HELP);
      return 0;
    }
    const { values, positionals } = parseOptions(args, { config: { type: 'string', short: 'c' }, exporter: { type: 'string' } }, true);
    if (positionals[0] !== 'elasticsearch' || positionals.length > 1) {
      throw new UsageError('siem setup takes one target: elasticsearch (syslog and webhook receivers need no setup)');
    }
    if (!values.config) throw new UsageError('--config FILE is required');
    const config = loadConfigFile(CollectorConfigSchema, values.config);
    let ok = true;
    for (const entry of esEntries(config, values.exporter)) ok = (await setUpOne(entry, values.config)) && ok;
    return ok ? 0 : 1;
  },
};
