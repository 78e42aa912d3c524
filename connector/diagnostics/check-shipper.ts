// Ships check reports (scheduled and on-demand) to the collector: POST <audit.collector.url>/v1/checks,
// a JSON CheckBatch (schema tunnelwatch.checks/1), with the ingest token and CA of the audit pipeline and
// the conventions of common/collector-post.ts (gzip above 16 KiB, 400/413/415 final, else retry with backoff or
// Retry-After). Reports wait in a bounded in-memory queue: when the collector is away for long, the
// oldest are dropped (counted, logged once per burst), since the newest say most about a backend now.
import type { BackoffOptions } from '../../common/backoff.js';
import { collectorEndpoint, collectorTargetOf, createBatchPoster } from '../../common/collector-post.js';
import type { Logger } from '../../common/log.js';
import type { ConnectorConfig } from '../agent/config-schema.js';
import type { CheckBatch, CheckReport } from './types.js';

export const CHECKS_SCHEMA = 'tunnelwatch.checks/1';
const GZIP_ABOVE_BYTES = 16 * 1024;
/** Reports per POST: one prober round of a large connector goes in a few requests. */
const DEFAULT_MAX_BATCH = 200;
/** A report waits this long for others to join its batch (a prober round finishes within it). */
const DEFAULT_FLUSH_DELAY_MS = 250;

export interface CheckShipperOptions {
  /** Collector base URL (audit.collector.url). */
  readonly url: string;
  /** File with the ingest token; read before every attempt. */
  readonly tokenFile: string;
  readonly ca?: Buffer;
  readonly connectorId: string;
  readonly requestTimeoutMs: number;
  /** Most reports held; then the oldest are dropped. */
  readonly maxQueued: number;
  readonly maxBatch?: number;
  readonly flushDelayMs?: number;
  readonly backoff?: Partial<BackoffOptions>;
  readonly log: Logger;
}

export interface CheckShipper {
  /** Queues a report; returns at once. */
  enqueue(report: CheckReport): void;
  /** Reports waiting (not counting a batch in flight). */
  readonly queued: number;
  /** Reports dropped because the queue was full, since start. */
  readonly dropped: number;
  /** Reports the collector accepted, since start. */
  readonly shipped: number;
  /** Reports the collector refused for good (400/413/415), since start. */
  readonly rejected: number;
  close(): void;
}

/** With audit.collector: a shipper to the same collector, with the same token and CA. Else undefined. */
export function checkShipperOf(config: ConnectorConfig, configFile: string, log: Logger): CheckShipper | undefined {
  const target = collectorTargetOf(config.audit, configFile);
  if (!target) return undefined;
  return createCheckShipper({
    ...target,
    connectorId: config.connector.id,
    maxQueued: config.diagnostics.queue_max_reports,
    log: log.child({ component: 'connector.checks' }),
  });
}

export function createCheckShipper(o: CheckShipperOptions): CheckShipper {
  const fields = { endpoint: collectorEndpoint(o.url, 'checks').href };
  const poster = createBatchPoster<CheckReport>({
    target: o,
    path: 'checks',
    body: (reports): CheckBatch => ({ schema: CHECKS_SCHEMA, connector_id: o.connectorId, reports }),
    maxQueued: o.maxQueued,
    maxBatch: o.maxBatch ?? DEFAULT_MAX_BATCH,
    flushDelayMs: o.flushDelayMs ?? DEFAULT_FLUSH_DELAY_MS,
    post: { gzipAboveBytes: GZIP_ABOVE_BYTES, okStatuses: [200, 202] },
    ...(o.backoff ? { backoff: o.backoff } : {}),
    closeReason: 'connector stopping',
    onEvent(e) {
      switch (e.kind) {
        case 'dropped':
          // Once per burst: the line after the next delivery says how many went.
          if (e.firstOfBurst) o.log.warn({ ...fields, max_reports: o.maxQueued }, 'check report queue full: dropping the oldest reports until the collector takes them again');
          return;
        case 'delivered':
          if (e.failures > 0) o.log.info({ ...fields, failures: e.failures }, 'check reports delivered to the collector again');
          if (e.burstDropped > 0) o.log.warn({ ...fields, dropped: e.burstDropped, dropped_total: e.droppedTotal }, 'check reports were dropped while the queue was full');
          return;
        case 'rejected':
          o.log.error({ ...fields, reason: e.reason, reports: e.items }, 'the collector refused a batch of check reports');
          return;
        case 'retrying':
          if (e.failures === 0) o.log.warn({ ...fields, reason: e.reason, retry_in_ms: e.retryInMs }, 'check reports not delivered; retrying with backoff');
          else o.log.debug({ ...fields, reason: e.reason, retry_in_ms: e.retryInMs, failures: e.failures }, 'check reports still not delivered');
          return;
        case 'unsent':
          // In memory only, by design: the next round of checks says the same thing afresh.
          o.log.debug({ ...fields, reports: e.items }, 'check reports not delivered before stop');
      }
    },
  });
  return {
    enqueue: (report) => poster.enqueue(report),
    get queued() { return poster.queued; },
    get dropped() { return poster.dropped; },
    get shipped() { return poster.delivered; },
    get rejected() { return poster.rejected; },
    close: () => poster.close(),
  };
}
