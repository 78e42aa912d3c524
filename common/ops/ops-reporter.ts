// Delivers operational alerts (ops-events.ts) from a relay or connector to the collector: POST
// <audit.collector.url>/v1/ops with the audit pipeline's ingest token and CA. report() never blocks and
// never throws: alerts wait in a bounded in-memory queue (the oldest dropped when full, counted) and are
// sent in batches, retried with backoff or the collector's Retry-After; 400/413/415 are final. Every alert
// is also logged, so without a collector (or while it is away) the log still has it.
import { readFileSync } from 'node:fs';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parseRetryAfter, readBody, readTokenFile } from '../audit/collector-client.js';
import { Backoff, type BackoffOptions } from '../backoff.js';
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

type Outcome = { kind: 'ok' } | { kind: 'rejected'; reason: string } | { kind: 'retry'; reason: string; retryAfterMs: number | undefined };

/** The reporter of a relay or connector, to the collector of its audit section (if any). */
export function opsReporterOf(audit: AuditConfig, configFile: string, o: Omit<OpsReporterOptions, 'collector'>): OpsReporter {
  const c = audit.collector;
  return createOpsReporter({
    ...o,
    ...(c
      ? { collector: { url: c.url, tokenFile: resolveFrom(configFile, c.token_file), requestTimeoutMs: c.request_timeout_ms, ...(c.ca_file ? { ca: readFileSync(resolveFrom(configFile, c.ca_file)) } : {}) } }
      : {}),
  });
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
  const stats: OpsReporterStats = { reported: 0, sent: 0, dropped: 0, rejected: 0, queued: 0 };
  const c = o.collector;
  if (!c) {
    return {
      report(event) {
        stats.reported++;
        logAlert(log, event);
      },
      stats,
      close() {},
    };
  }
  const base = new URL(c.url);
  const endpoint = new URL(`${base.pathname.replace(/\/+$/, '')}/v1/ops`, base);
  const backoff = new Backoff({ initialDelayMs: 500, maxDelayMs: 60_000, jitter: 0.5, ...o.backoff });
  const fields = { endpoint: endpoint.href };
  let queue: OpsEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  let inflight: ClientRequest | undefined;
  let sending = false;
  let closed = false;
  let failures = 0;

  const trim = (): void => {
    const over = queue.length - o.maxQueued;
    if (over <= 0) return;
    queue = queue.slice(over);
    stats.dropped += over;
    log.warn({ ...fields, code: 'TW_ERR_OPS_UNDELIVERED', dropped: over, dropped_total: stats.dropped, max_events: o.maxQueued }, 'alert queue full: the oldest alerts were dropped (they are in this log)');
  };

  const schedule = (delayMs: number): void => {
    if (closed || sending || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void attempt();
    }, delayMs);
    timer.unref();
  };

  const attempt = async (): Promise<void> => {
    if (closed || queue.length === 0) return;
    sending = true;
    const batch = queue.splice(0, MAX_BATCH);
    stats.queued = queue.length;
    const outcome = await send(batch).catch((err: unknown): Outcome => ({ kind: 'retry', reason: (err as Error).message, retryAfterMs: undefined }));
    sending = false;
    if (closed) return;
    if (outcome.kind === 'ok') {
      stats.sent += batch.length;
      if (failures > 0) log.info({ ...fields, failures }, 'alerts delivered to the collector again');
      failures = 0;
      backoff.reset();
    } else if (outcome.kind === 'rejected') {
      stats.rejected += batch.length;
      log.error({ ...fields, code: 'TW_ERR_OPS_UNDELIVERED', reason: outcome.reason, events: batch.length }, 'the collector refused a batch of alerts');
    } else {
      queue = [...batch, ...queue];
      trim();
      const delay = outcome.retryAfterMs ?? backoff.next();
      if (failures === 0) log.warn({ ...fields, code: 'TW_ERR_OPS_UNDELIVERED', reason: outcome.reason, retry_in_ms: delay }, 'alerts not delivered to the collector; retrying with backoff');
      else log.debug({ ...fields, reason: outcome.reason, retry_in_ms: delay, failures }, 'alerts still not delivered');
      failures++;
      stats.queued = queue.length;
      schedule(delay);
      return;
    }
    stats.queued = queue.length;
    if (queue.length > 0) schedule(0);
  };

  const send = async (events: OpsEvent[]): Promise<Outcome> => {
    let token: string;
    try {
      token = readTokenFile(c.tokenFile);
    } catch (err) {
      return { kind: 'retry', reason: (err as Error).message, retryAfterMs: undefined };
    }
    const batch: OpsBatch = { schema: OPS_SCHEMA, emitter: o.emitter, emitter_id: o.emitterId, events };
    const body = Buffer.from(JSON.stringify(batch));
    const request = endpoint.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Outcome>((resolve) => {
      const req = request(endpoint, {
        method: 'POST',
        ...(c.ca ? { ca: c.ca } : {}),
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': body.length },
      });
      inflight = req;
      let settled = false;
      const settle = (outcome: Outcome): void => {
        if (settled) return;
        settled = true;
        if (inflight === req) inflight = undefined;
        resolve(outcome);
      };
      req.setTimeout(c.requestTimeoutMs, () => req.destroy(new Error(`no answer within ${c.requestTimeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => settle({ kind: 'retry', reason: err.code ? `${err.code}: ${err.message}` : err.message, retryAfterMs: undefined }));
      req.on('response', (res) => void readBody(res, 16 * 1024).then((text) => settle(interpret(res, text))));
      req.end(body);
    });
  };

  return {
    report(event) {
      stats.reported++;
      logAlert(log, event);
      if (closed) return;
      queue.push(event);
      trim();
      stats.queued = queue.length;
      schedule(o.flushDelayMs ?? FLUSH_DELAY_MS);
    },
    stats,
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      inflight?.destroy(new Error('stopping'));
      // In memory only: what is still true at the next start is reported again then (a clear or a firing).
      if (queue.length > 0) log.warn({ ...fields, code: 'TW_ERR_OPS_UNDELIVERED', events: queue.length }, 'alerts not delivered before stop (they are in this log)');
    },
  };
}

function interpret(res: IncomingMessage, text: string): Outcome {
  const status = res.statusCode ?? 0;
  if (status === 200) return { kind: 'ok' };
  let said = text.slice(0, 300);
  try {
    const error = ((JSON.parse(text) as { error?: { reason?: unknown; message?: unknown } }).error ?? {});
    if (typeof error.reason === 'string') said = error.reason;
    else if (typeof error.message === 'string') said = error.message;
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  const reason = `HTTP ${status}${said ? `: ${said}` : ''}`;
  // 404 (a collector older than /v1/ops) is retried, ever more slowly, until it is upgraded.
  if (status === 400 || status === 413 || status === 415) return { kind: 'rejected', reason };
  const retryAfter = res.headers['retry-after'];
  return { kind: 'retry', reason, retryAfterMs: status === 429 || status === 503 ? parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter) : undefined };
}
