// Delivers operational alerts (ops-events.ts) from a relay or connector to the collector: POST
// <audit.collector.url>/v1/ops with the audit pipeline's ingest token and CA. report() never blocks and
// never throws: alerts wait in a bounded in-memory queue (the oldest dropped when full, counted) and are
// sent in batches, retried with backoff or the collector's Retry-After; 400/413/415 are final. Every alert
// is also logged, so without a collector (or while it is away) the log still has it.
import type { BackoffOptions } from '../backoff.js';
import { collectorEndpoint, collectorTargetOf, createBatchPoster } from '../collector-post.js';
import { resolveFrom } from '../config/load-config.js';
import type { AuditConfig } from '../config/schema-parts.js';
import type { Logger } from '../log.js';
import type { ShipperMetrics } from '../audit/shipper-metrics.js';
import { startCertAlerts, type CertSource } from './cert-alerts.js';
import { OPS_SCHEMA, type ConnectorAlertsConfig, type OpsBatch, type OpsEmitter, type OpsEvent } from './ops-events.js';
import { startSpoolAlerts } from './spool-alerts.js';

const MAX_BATCH = 200;
const FLUSH_DELAY_MS = 100;

export interface OpsReporterOptions {
  readonly emitter: Exclude<OpsEmitter, 'collector'>;
  readonly emitterId: string;
  /** The collector; absent = alerts are only logged. */
  readonly collector?: { readonly url: string; readonly tokenFile: string; readonly ca?: Buffer; readonly requestTimeoutMs: number };
  readonly maxQueued: number;
  readonly backoff?: Partial<BackoffOptions>;
  readonly flushDelayMs?: number;
  readonly log: Logger;
}

export interface OpsReporterStats {
  /** Alerts reported, since start. */
  reported: number;
  /** Accepted by the collector. */
  sent: number;
  /** Dropped from a full queue. */
  dropped: number;
  /** Refused for good by the collector (400/413/415). */
  rejected: number;
  /** Waiting (not counting a batch in flight). */
  queued: number;
}

export interface OpsReporter {
  report(event: OpsEvent): void;
  readonly stats: Readonly<OpsReporterStats>;
  close(): void;
}

/** The reporter of a relay or connector, to the collector of its audit section (if any). */
export function opsReporterOf(audit: AuditConfig, configFile: string, o: Omit<OpsReporterOptions, 'collector'>): OpsReporter {
  const collector = collectorTargetOf(audit, configFile);
  return createOpsReporter({ ...o, ...(collector ? { collector } : {}) });
}

export interface EmitterAlerts {
  readonly reporter: OpsReporter;
  readonly report: (event: OpsEvent) => void;
  stop(): void;
}

/**
 * What every relay and connector runs: the reporter, the spool watch and the certificate watch. `certs` are
 * config keys with the file (relative to the config file) and what the process loaded from it.
 */
export function startEmitterAlerts(o: {
  readonly emitter: Exclude<OpsEmitter, 'collector'>;
  readonly emitterId: string;
  readonly audit: AuditConfig;
  readonly alerts: ConnectorAlertsConfig;
  readonly configFile: string;
  readonly certs: readonly (Omit<CertSource, 'path'> & { readonly file: string })[];
  readonly shipper: () => ShipperMetrics | undefined;
  readonly log: Logger;
}): EmitterAlerts {
  const reporter = opsReporterOf(o.audit, o.configFile, { emitter: o.emitter, emitterId: o.emitterId, maxQueued: o.alerts.queue_max_events, log: o.log });
  const report = (e: OpsEvent): void => reporter.report(e);
  const spool = startSpoolAlerts({ subject: o.emitterId, metrics: o.shipper, report, intervalMs: o.alerts.spool_check_interval_ms });
  const certs = startCertAlerts({
    emitterId: o.emitterId,
    sources: o.certs.map(({ file, ...c }) => ({ ...c, path: resolveFrom(o.configFile, file) })),
    warnDays: o.alerts.cert_warn_days,
    highDays: o.alerts.cert_high_days,
    intervalMs: o.alerts.cert_check_interval_ms,
    report,
    log: o.log.child({ component: 'ops.certs' }),
  });
  return {
    reporter,
    report,
    stop() {
      spool.stop();
      certs.stop();
      reporter.close();
    },
  };
}

/** One line per alert: a firing one is a warning an operator must act on (docs/alerts.md). */
function logAlert(log: Logger, e: OpsEvent): void {
  const fields = { code: 'TW_ERR_OPS_ALERT', alert: `ops_${e.type}`, state: e.state, subject: e.subject, severity: e.severity, episode: e.episode, since: e.since, ...e.detail };
  if (e.state === 'firing') log.warn(fields, `alert ${e.type}: ${e.subject}`);
  // A clear (no episode) says only "nothing wrong": worth a line only when debugging.
  else if (e.episode === undefined) log.debug(fields, `alert ${e.type} clear: ${e.subject}`);
  else log.info(fields, `alert ${e.type} resolved: ${e.subject}`);
}

export function createOpsReporter(o: OpsReporterOptions): OpsReporter {
  const log = o.log.child({ component: 'ops.alerts' });
  const c = o.collector;
  if (!c) {
    const stats: OpsReporterStats = { reported: 0, sent: 0, dropped: 0, rejected: 0, queued: 0 };
    return {
      report(event) {
        stats.reported++;
        logAlert(log, event);
      },
      stats,
      close() {},
    };
  }
  let reported = 0;
  const fields = { endpoint: collectorEndpoint(c.url, 'ops').href };
  const poster = createBatchPoster<OpsEvent>({
    target: c,
    path: 'ops',
    body: (events): OpsBatch => ({ schema: OPS_SCHEMA, emitter: o.emitter, emitter_id: o.emitterId, events }),
    maxQueued: o.maxQueued,
    maxBatch: MAX_BATCH,
    flushDelayMs: o.flushDelayMs ?? FLUSH_DELAY_MS,
    ...(o.backoff ? { backoff: o.backoff } : {}),
    closeReason: 'stopping',
    onEvent(e) {
      switch (e.kind) {
        case 'dropped':
          log.warn({ ...fields, code: 'TW_ERR_OPS_UNDELIVERED', dropped: e.count, dropped_total: e.total, max_events: o.maxQueued }, 'alert queue full: the oldest alerts were dropped (they are in this log)');
          return;
        case 'delivered':
          if (e.failures > 0) log.info({ ...fields, failures: e.failures }, 'alerts delivered to the collector again');
          return;
        case 'rejected':
          log.error({ ...fields, code: 'TW_ERR_OPS_UNDELIVERED', reason: e.reason, events: e.items }, 'the collector refused a batch of alerts');
          return;
        case 'retrying':
          if (e.failures === 0) log.warn({ ...fields, code: 'TW_ERR_OPS_UNDELIVERED', reason: e.reason, retry_in_ms: e.retryInMs }, 'alerts not delivered to the collector; retrying with backoff');
          else log.debug({ ...fields, reason: e.reason, retry_in_ms: e.retryInMs, failures: e.failures }, 'alerts still not delivered');
          return;
        case 'unsent':
          // In memory only: what is still true at the next start is reported again then (a clear or a firing).
          log.warn({ ...fields, code: 'TW_ERR_OPS_UNDELIVERED', events: e.items }, 'alerts not delivered before stop (they are in this log)');
      }
    },
  });
  return {
    report(event) {
      reported++;
      logAlert(log, event);
      poster.enqueue(event);
    },
    stats: {
      get reported() { return reported; },
      get sent() { return poster.delivered; },
      get dropped() { return poster.dropped; },
      get rejected() { return poster.rejected; },
      get queued() { return poster.queued; },
    },
    close: () => poster.close(),
  };
}
