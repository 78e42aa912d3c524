// Ships check reports (scheduled and on-demand) to the collector: POST <audit.collector.url>/v1/checks,
// a JSON CheckBatch (schema tunnelwatch.checks/1), with the ingest token and CA of the audit pipeline and
// the conventions of rule-report.ts (gzip above 16 KiB, 400/413/415 final, else retry with backoff or
// Retry-After). Reports wait in a bounded in-memory queue: when the collector is away for long, the
// oldest are dropped (counted, logged once per burst), since the newest say most about a backend now.
import { readFileSync } from 'node:fs';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { parseRetryAfter, readBody, readTokenFile } from '../../common/audit/collector-client.js';
import { Backoff, type BackoffOptions } from '../../common/backoff.js';
import { resolveFrom } from '../../common/config/load-config.js';
import type { Logger } from '../../common/log.js';
import type { ConnectorConfig } from '../agent/config-schema.js';
import type { CheckBatch, CheckReport } from './types.js';

const gzipAsync = promisify(gzip);

export const CHECKS_SCHEMA = 'tunnelwatch.checks/1';
const GZIP_ABOVE_BYTES = 16 * 1024;
const MAX_RESPONSE_BYTES = 16 * 1024;
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

type Outcome =
  | { kind: 'ok' }
  | { kind: 'rejected'; reason: string }
  | { kind: 'retry'; reason: string; retryAfterMs: number | undefined };

/** With audit.collector: a shipper to the same collector, with the same token and CA. Else undefined. */
export function checkShipperOf(config: ConnectorConfig, configFile: string, log: Logger): CheckShipper | undefined {
  const collector = config.audit.collector;
  if (!collector) return undefined;
  return createCheckShipper({
    url: collector.url,
    tokenFile: resolveFrom(configFile, collector.token_file),
    ...(collector.ca_file ? { ca: readFileSync(resolveFrom(configFile, collector.ca_file)) } : {}),
    connectorId: config.connector.id,
    requestTimeoutMs: collector.request_timeout_ms,
    maxQueued: config.diagnostics.queue_max_reports,
    log: log.child({ component: 'connector.checks' }),
  });
}

export function createCheckShipper(o: CheckShipperOptions): CheckShipper {
  const base = new URL(o.url);
  const endpoint = new URL(`${base.pathname.replace(/\/+$/, '')}/v1/checks`, base);
  const backoff = new Backoff({ initialDelayMs: 500, maxDelayMs: 60_000, jitter: 0.5, ...o.backoff });
  const maxBatch = o.maxBatch ?? DEFAULT_MAX_BATCH;
  const flushDelayMs = o.flushDelayMs ?? DEFAULT_FLUSH_DELAY_MS;
  let queue: CheckReport[] = [];
  let timer: NodeJS.Timeout | undefined;
  let inflight: ClientRequest | undefined;
  let sending = false;
  let closed = false;
  let failures = 0;
  let burstDrops = 0;
  const counts = { dropped: 0, shipped: 0, rejected: 0 };
  const fields = { endpoint: endpoint.href };

  /** Drops the oldest reports beyond the bound. */
  const trim = (): void => {
    const over = queue.length - o.maxQueued;
    if (over <= 0) return;
    queue = queue.slice(over);
    counts.dropped += over;
    if (burstDrops === 0) o.log.warn({ ...fields, max_reports: o.maxQueued }, 'check report queue full: dropping the oldest reports until the collector takes them again');
    burstDrops += over;
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
    const batch = queue.splice(0, maxBatch);
    let outcome: Outcome;
    try {
      outcome = await send(batch);
    } catch (err) {
      outcome = { kind: 'retry', reason: (err as Error).message, retryAfterMs: undefined };
    }
    sending = false;
    if (closed) return;
    if (outcome.kind === 'ok') {
      counts.shipped += batch.length;
      if (failures > 0) o.log.info({ ...fields, failures }, 'check reports delivered to the collector again');
      if (burstDrops > 0) o.log.warn({ ...fields, dropped: burstDrops, dropped_total: counts.dropped }, 'check reports were dropped while the queue was full');
      failures = 0;
      burstDrops = 0;
      backoff.reset();
      if (queue.length > 0) schedule(0);
      return;
    }
    if (outcome.kind === 'rejected') {
      // The same body would be refused again: give it up, keep the rest flowing.
      counts.rejected += batch.length;
      o.log.error({ ...fields, reason: outcome.reason, reports: batch.length }, 'the collector refused a batch of check reports');
      if (queue.length > 0) schedule(0);
      return;
    }
    queue = [...batch, ...queue];
    trim();
    const delay = outcome.retryAfterMs ?? backoff.next();
    if (failures === 0) o.log.warn({ ...fields, reason: outcome.reason, retry_in_ms: delay }, 'check reports not delivered; retrying with backoff');
    else o.log.debug({ ...fields, reason: outcome.reason, retry_in_ms: delay, failures }, 'check reports still not delivered');
    failures++;
    schedule(delay);
  };

  const send = async (reports: CheckReport[]): Promise<Outcome> => {
    let token: string;
    try {
      token = readTokenFile(o.tokenFile);
    } catch (err) {
      return { kind: 'retry', reason: (err as Error).message, retryAfterMs: undefined };
    }
    const batch: CheckBatch = { schema: CHECKS_SCHEMA, connector_id: o.connectorId, reports };
    const json = Buffer.from(JSON.stringify(batch));
    const compress = json.length > GZIP_ABOVE_BYTES;
    const body = compress ? await gzipAsync(json) : json;
    const request = endpoint.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Outcome>((resolve) => {
      const req = request(endpoint, {
        method: 'POST',
        ...(o.ca ? { ca: o.ca } : {}),
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': body.length,
          ...(compress ? { 'content-encoding': 'gzip' } : {}),
        },
      });
      inflight = req;
      let settled = false;
      const settle = (outcome: Outcome): void => {
        if (settled) return;
        settled = true;
        if (inflight === req) inflight = undefined;
        resolve(outcome);
      };
      req.setTimeout(o.requestTimeoutMs, () => req.destroy(new Error(`no answer within ${o.requestTimeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => settle({ kind: 'retry', reason: err.code ? `${err.code}: ${err.message}` : err.message, retryAfterMs: undefined }));
      req.on('response', (res) => void readBody(res, MAX_RESPONSE_BYTES).then((text) => settle(interpret(res, text))));
      req.end(body);
    });
  };

  return {
    enqueue(report) {
      if (closed) return;
      queue.push(report);
      trim();
      schedule(flushDelayMs);
    },
    get queued() {
      return queue.length;
    },
    get dropped() {
      return counts.dropped;
    },
    get shipped() {
      return counts.shipped;
    },
    get rejected() {
      return counts.rejected;
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      inflight?.destroy(new Error('connector stopping'));
      // In memory only, by design: the next round of checks says the same thing afresh.
      if (queue.length > 0) o.log.debug({ ...fields, reports: queue.length }, 'check reports not delivered before stop');
    },
  };
}

function interpret(res: IncomingMessage, text: string): Outcome {
  const status = res.statusCode ?? 0;
  if (status === 200 || status === 202) return { kind: 'ok' };
  let body: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed !== null && typeof parsed === 'object') body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  const error = (body.error ?? {}) as Record<string, unknown>;
  const said = typeof error.reason === 'string' ? error.reason : typeof error.message === 'string' ? error.message : text.slice(0, 300);
  const reason = `HTTP ${status}${said ? `: ${said}` : ''}`;
  // 404: a collector older than /v1/checks; keep trying (ever more slowly) until it is upgraded.
  if (status === 400 || status === 413 || status === 415) return { kind: 'rejected', reason };
  const retryAfter = res.headers['retry-after'];
  return { kind: 'retry', reason, retryAfterMs: status === 429 || status === 503 ? parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter) : undefined };
}
