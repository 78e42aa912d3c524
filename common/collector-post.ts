// What the JSON reporters of relays and connectors (check reports, ops alerts, rule snapshots) share when
// they talk to the collector: one POST of a JSON body to <collector url>/v1/<path> with the ingest token, and
// what the answer means (ok; rejected for good; retry, maybe after Retry-After), and for the two that send
// many small items, a bounded in-memory queue that batches them and retries with backoff.
// The audit shipper (audit/collector-client.ts) keeps its own client: NDJSON, keep-alive, line-level refusals.
import { readFileSync } from 'node:fs';
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { parseRetryAfter, readBody, readTokenFile } from './audit/collector-client.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { resolveFrom } from './config/load-config.js';
import type { AuditConfig } from './config/schema-parts.js';

const gzipAsync = promisify(gzip);
const MAX_RESPONSE_BYTES = 16 * 1024;

export type PostOutcome =
  /** The collector took it; `body` is its JSON answer ({} when not JSON). */
  | { readonly kind: 'ok'; readonly body: Record<string, unknown> }
  /** 400/413/415: the same body would be refused again. */
  | { readonly kind: 'rejected'; readonly status: number; readonly reason: string }
  /** Network error, timeout, unreadable token, 401/403, 404 (an older collector), 429, 5xx. */
  | { readonly kind: 'retry'; readonly status: number; readonly reason: string; readonly retryAfterMs: number | undefined };

export interface CollectorTarget {
  /** Collector base URL (audit.collector.url). */
  readonly url: string;
  /** File with the ingest token; read before every attempt, so a fixed file (after a 401/403) takes effect at once. */
  readonly tokenFile: string;
  readonly ca?: Buffer;
  readonly requestTimeoutMs: number;
}

/** The collector of an audit section (same URL, token and CA as the audit pipeline); undefined without one. */
export function collectorTargetOf(audit: AuditConfig, configFile: string): CollectorTarget | undefined {
  const c = audit.collector;
  if (!c) return undefined;
  return {
    url: c.url,
    tokenFile: resolveFrom(configFile, c.token_file),
    // The audit pipeline has read the same file a moment before and refuses to start when it cannot.
    ...(c.ca_file ? { ca: readFileSync(resolveFrom(configFile, c.ca_file)) } : {}),
    requestTimeoutMs: c.request_timeout_ms,
  };
}

export interface PostOptions {
  /** Bodies above this many bytes go gzip-compressed; absent = never. */
  readonly gzipAboveBytes?: number;
  /** Statuses that mean accepted (default 200 only). */
  readonly okStatuses?: readonly number[];
}

export interface CollectorPoster {
  readonly endpoint: URL;
  /** Never rejects. */
  post(body: unknown): Promise<PostOutcome>;
  /** Abandons the request in flight (its post() resolves as a retry). */
  abort(why: string): void;
}

/** What a collector's answer means for the sender. */
export function classifyAnswer(status: number, headers: IncomingHttpHeaders, text: string, okStatuses: readonly number[] = [200]): PostOutcome {
  let body: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed !== null && typeof parsed === 'object') body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  if (okStatuses.includes(status)) return { kind: 'ok', body };
  const error = (body.error ?? {}) as Record<string, unknown>;
  const said = typeof error.reason === 'string' ? error.reason : typeof error.message === 'string' ? error.message : text.slice(0, 300);
  const reason = `HTTP ${status}${said ? `: ${said}` : ''}`;
  // 404: a collector older than the route; retried (ever more slowly, with the backoff) until it is upgraded.
  if (status === 400 || status === 413 || status === 415) return { kind: 'rejected', status, reason };
  const retryAfter = headers['retry-after'];
  return { kind: 'retry', status, reason, retryAfterMs: status === 429 || status === 503 ? parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter) : undefined };
}

/** <url>/v1/<path>, keeping a path prefix of the base URL (a collector behind a reverse proxy). */
export function collectorEndpoint(url: string, path: string): URL {
  const base = new URL(url);
  return new URL(`${base.pathname.replace(/\/+$/, '')}/v1/${path}`, base);
}

/** A sender of JSON bodies to <target.url>/v1/<path>, one request at a time. */
export function createCollectorPoster(target: CollectorTarget, path: string, options: PostOptions = {}): CollectorPoster {
  const endpoint = collectorEndpoint(target.url, path);
  const request = endpoint.protocol === 'https:' ? httpsRequest : httpRequest;
  let inflight: ClientRequest | undefined;

  const send = async (value: unknown): Promise<PostOutcome> => {
    let token: string;
    try {
      token = readTokenFile(target.tokenFile);
    } catch (err) {
      return { kind: 'retry', status: 0, reason: (err as Error).message, retryAfterMs: undefined };
    }
    const json = Buffer.from(JSON.stringify(value));
    const compress = options.gzipAboveBytes !== undefined && json.length > options.gzipAboveBytes;
    const body = compress ? await gzipAsync(json) : json;
    return new Promise<PostOutcome>((resolve) => {
      const req = request(endpoint, {
        method: 'POST',
        ...(target.ca ? { ca: target.ca } : {}),
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': body.length,
          ...(compress ? { 'content-encoding': 'gzip' } : {}),
        },
      });
      inflight = req;
      let settled = false;
      const settle = (outcome: PostOutcome): void => {
        if (settled) return;
        settled = true;
        if (inflight === req) inflight = undefined;
        resolve(outcome);
      };
      req.setTimeout(target.requestTimeoutMs, () => req.destroy(new Error(`no answer within ${target.requestTimeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => settle({ kind: 'retry', status: 0, reason: err.code ? `${err.code}: ${err.message}` : err.message, retryAfterMs: undefined }));
      req.on('response', (res) => void readBody(res, MAX_RESPONSE_BYTES).then((text) => settle(classifyAnswer(res.statusCode ?? 0, res.headers, text, options.okStatuses))));
      req.end(body);
    });
  };

  return {
    endpoint,
    post: (value) => send(value).catch((err: unknown): PostOutcome => ({ kind: 'retry', status: 0, reason: (err as Error).message, retryAfterMs: undefined })),
    abort(why) {
      inflight?.destroy(new Error(why));
    },
  };
}

/** What a batch poster went through, for its owner to log in its own words. */
export type BatchPosterEvent =
  /** The queue was full: `count` oldest items dropped; `firstOfBurst` since the last delivery. */
  | { readonly kind: 'dropped'; readonly count: number; readonly total: number; readonly firstOfBurst: boolean }
  /** A batch was accepted; `failures` before it, `burstDropped` items dropped since the last delivery. */
  | { readonly kind: 'delivered'; readonly items: number; readonly failures: number; readonly burstDropped: number; readonly droppedTotal: number }
  | { readonly kind: 'rejected'; readonly items: number; readonly reason: string }
  /** Not delivered; put back at the head of the queue. `failures` before this one. */
  | { readonly kind: 'retrying'; readonly reason: string; readonly retryInMs: number; readonly failures: number }
  /** close() with items still queued (in memory only: they are lost). */
  | { readonly kind: 'unsent'; readonly items: number };

export interface BatchPosterOptions<T> {
  readonly target: CollectorTarget;
  /** Route below /v1/. */
  readonly path: string;
  /** The JSON body of one batch. */
  body(items: T[]): unknown;
  /** Most items held; then the oldest are dropped, since the newest say most about now. */
  readonly maxQueued: number;
  readonly maxBatch: number;
  /** An item waits this long for others to join its batch. */
  readonly flushDelayMs: number;
  readonly post?: PostOptions;
  readonly backoff?: Partial<BackoffOptions>;
  /** Message for close() to abandon a request in flight with. */
  readonly closeReason: string;
  onEvent(event: BatchPosterEvent): void;
}

export interface BatchPoster<T> {
  readonly endpoint: URL;
  /** Queues an item; returns at once. */
  enqueue(item: T): void;
  /** Waiting (not counting a batch in flight). */
  readonly queued: number;
  readonly dropped: number;
  /** Items the collector accepted. */
  readonly delivered: number;
  /** Items the collector refused for good. */
  readonly rejected: number;
  close(): void;
}

export function createBatchPoster<T>(o: BatchPosterOptions<T>): BatchPoster<T> {
  const poster = createCollectorPoster(o.target, o.path, o.post);
  const backoff = new Backoff({ initialDelayMs: 500, maxDelayMs: 60_000, jitter: 0.5, ...o.backoff });
  let queue: T[] = [];
  let timer: NodeJS.Timeout | undefined;
  let sending = false;
  let closed = false;
  let failures = 0;
  let burstDrops = 0;
  const counts = { dropped: 0, delivered: 0, rejected: 0 };

  const trim = (): void => {
    const over = queue.length - o.maxQueued;
    if (over <= 0) return;
    queue = queue.slice(over);
    counts.dropped += over;
    o.onEvent({ kind: 'dropped', count: over, total: counts.dropped, firstOfBurst: burstDrops === 0 });
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
    const batch = queue.splice(0, o.maxBatch);
    const outcome = await poster.post(o.body(batch));
    sending = false;
    if (closed) return;
    if (outcome.kind === 'ok') {
      counts.delivered += batch.length;
      o.onEvent({ kind: 'delivered', items: batch.length, failures, burstDropped: burstDrops, droppedTotal: counts.dropped });
      failures = 0;
      burstDrops = 0;
      backoff.reset();
    } else if (outcome.kind === 'rejected') {
      // The same body would be refused again: give it up, keep the rest flowing.
      counts.rejected += batch.length;
      o.onEvent({ kind: 'rejected', items: batch.length, reason: outcome.reason });
    } else {
      queue = [...batch, ...queue];
      trim();
      const delay = outcome.retryAfterMs ?? backoff.next();
      o.onEvent({ kind: 'retrying', reason: outcome.reason, retryInMs: delay, failures });
      failures++;
      schedule(delay);
      return;
    }
    if (queue.length > 0) schedule(0);
  };

  return {
    endpoint: poster.endpoint,
    enqueue(item) {
      if (closed) return;
      queue.push(item);
      trim();
      schedule(o.flushDelayMs);
    },
    get queued() {
      return queue.length;
    },
    get dropped() {
      return counts.dropped;
    },
    get delivered() {
      return counts.delivered;
    },
    get rejected() {
      return counts.rejected;
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      poster.abort(o.closeReason);
      if (queue.length > 0) o.onEvent({ kind: 'unsent', items: queue.length });
    },
  };
}
