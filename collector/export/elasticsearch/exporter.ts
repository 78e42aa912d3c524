// The Elasticsearch exporter (docs/siem-elasticsearch.md): owns one client, rebuilt by start() so that
// credentials rotated in their file are read again after a failure, and hands each batch to sendBulk.
// start() also checks that `siem setup` has run, when the credentials may look (a writer-only API key
// may not, and is then trusted); a cluster that cannot be reached is left for send() to report, as a
// retryable answer rather than a failure.
import type { Client } from '@elastic/elasticsearch';
import { TunnelwatchError } from '../../../common/errors.js';
import type { Exporter, ExporterContext, ExportOutcome, ExportRecord } from '../types.js';
import { sendBulk, type BulkSettings } from './bulk.js';
import { classifyCallError } from './bulk-outcome.js';
import type { EsConfig } from './config.js';
import { createClient, describeConnection } from './connection.js';
import { createEcsRowWriter, type EcsRowWriter } from './ecs-rows.js';
import { guardRowWriter } from '../row-binary.js';
import { templatesInstalled } from './setup.js';

export function createEsExporter(config: EsConfig, context: ExporterContext, env: NodeJS.ProcessEnv = process.env): Exporter {
  const log = context.log.child({ component: 'export.elasticsearch', exporter: config.name });
  // Built at once so that unreadable credentials or CA files stop the collector at start-up.
  let client: Client | undefined = createClient(config, context.configFile, env);
  const writeRow: EcsRowWriter = guardRowWriter(createEcsRowWriter(config.namespace), undefined, (err) =>
    log.warn({ err }, 'elasticsearch: an audit row could not be written from its bytes; mapping such rows from the decoded event (logged once)'));
  const settings: BulkSettings = {
    namespace: config.namespace,
    writeRow,
    pipeline: config.pipeline,
    flushBytes: config.flush_bytes,
    // The batches are what runs side by side (maxInFlight below): a batch under flush_bytes is one
    // request, and one of several requests sends them one after another.
    concurrency: 1,
  };
  log.info({ target: describeConnection(config), namespace: config.namespace }, 'elasticsearch exporter configured');

  return {
    name: config.name,
    type: 'elasticsearch',
    streams: config.streams,
    batchSize: config.batch_size,
    // `concurrency` sends at once: the next batch is mapped and serialised while Elasticsearch indexes
    // the last one. send() keeps no state between calls, so overlapping calls are safe.
    maxInFlight: config.concurrency,
    async start() {
      await client?.close();
      client = undefined;
      const fresh = createClient(config, context.configFile, env);
      client = fresh;
      let missing: string[] | undefined;
      try {
        missing = await templatesInstalled(fresh, config.streams);
      } catch (err) {
        const c = classifyCallError(err);
        if (c.status === 'retryable') return;
        throw new TunnelwatchError(c.code, c.detail, { cause: err });
      }
      if (missing === undefined) log.debug('the credentials may not read index templates; not checking that siem setup ran');
      else if (missing.length > 0) throw new TunnelwatchError('TW_ERR_ES_NOT_SET_UP', `index templates missing: ${missing.join(', ')}`);
    },
    send(records: readonly ExportRecord[], signal: AbortSignal): Promise<ExportOutcome> {
      client ??= createClient(config, context.configFile, env);
      return sendBulk(client, records, settings, signal);
    },
    async close() {
      await client?.close();
      client = undefined;
    },
  };
}
