// POSTs one batch of NDJSON audit lines to the collector (gzip) and says what its answer means for the
// shipper: delivered, rejected (a line that will never be accepted), or retry (maybe after a while).
import { readFileSync } from 'node:fs';
import { request as httpRequest, Agent as HttpAgent, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { constants, gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { TunnelwatchError } from '../errors.js';

const gzipAsync = promisify(gzip);

export type SendResult =
  /** The collector committed the batch (200). */
  | { readonly kind: 'ok'; readonly accepted: number; readonly duplicates: number }
  /** 400 (one malformed line: `line`, 1-based, when it says which) or 413 (too large): retrying as is cannot help. */
  | { readonly kind: 'rejected'; readonly status: number; readonly line: number | undefined; readonly reason: string }
  /** Anything else: network error, timeout, 401/403 (`auth`), 429/5xx (`retryAfterMs` when it said). */
  | { readonly kind: 'retry'; readonly status: number; readonly auth: boolean; readonly retryAfterMs: number | undefined; readonly reason: string };

export interface CollectorClientOptions {
  /** Base URL: batches go to <url>/v1/audit. */
  url: string;
  /** The ingest token; called per request, so a re-read file takes effect at once. */
  token: () => string;
  /** PEM CA bundle for https. */
  ca?: string | Buffer;
  timeoutMs: number;
}

export interface CollectorClient {
  readonly endpoint: string;
  send(ndjson: Buffer): Promise<SendResult>;
  /** Abandons the request in flight (its batch is sent again later: at-least-once). */
  abort(): void;
  close(): void;
}

/** The ingest token from audit.collector.token_file. Throws TW_ERR_SHIPPER_TOKEN; never puts the token in a message. */
export function readTokenFile(file: string): string {
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new TunnelwatchError('TW_ERR_SHIPPER_TOKEN', `${file}: ${(err as Error).message}`, { cause: err });
  }
  if (token === '' || /\s/.test(token)) throw new TunnelwatchError('TW_ERR_SHIPPER_TOKEN', `${file} must hold the token alone on one line`);
  return token;
}

const MAX_RESPONSE_BYTES = 64 * 1024;
/** A Retry-After longer than this is taken as this: an operator fixing the collector should not wait an hour. */
const MAX_RETRY_AFTER_MS = 5 * 60_000;

/** Retry-After as delay-seconds or an HTTP date, in ms; undefined if absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - now);
  }
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}

/** The body of a collector's answer as text, cut at `max` bytes (an error page can be large); never rejects. */
export async function readBody(res: IncomingMessage, max = MAX_RESPONSE_BYTES): Promise<string> {
  return (await readAnswer(res, max)).text;
}

/** readBody(), and whether the body arrived whole (its end, not an error or a close before it). */
function readAnswer(res: IncomingMessage, max = MAX_RESPONSE_BYTES): Promise<{ text: string; complete: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      if (size < max) chunks.push(chunk);
      size += chunk.length;
    });
    const done = (complete: boolean) => () => resolve({ text: Buffer.concat(chunks).toString('utf8').slice(0, max), complete });
    res.on('end', done(true));
    res.on('error', done(false));
    res.on('close', done(false));
  });
}

/** A count in an acknowledgement: a whole number >= 0. */
const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What an answer means. A 200 acknowledges the batch only as the collector answers it,
 * {"accepted": <the events sent>, "duplicates": d}: a 200 from anything else (a wrong URL, a proxy's
 * page) would otherwise move the cursor past events no store holds. A 200 whose body was cut is still
 * taken (the collector answers only after the commit).
 */
function interpret(status: number, headers: IncomingMessage['headers'], text: string, complete: boolean, sent: number): SendResult {
  const body = parseJson(text);
  if (status === 200) {
    const accepted = count(body?.accepted);
    const duplicates = count(body?.duplicates);
    // accepted counts every event of the batch (docs/collector.md); accepted + duplicates = sent is the
    // reading of a receiver that counts the new ones only. Either way, every event is accounted for.
    if (accepted !== undefined && duplicates !== undefined && (accepted === sent || accepted + duplicates === sent)) return { kind: 'ok', accepted, duplicates };
    if (!complete) return { kind: 'ok', accepted: sent, duplicates: duplicates ?? 0 };
    return {
      kind: 'retry',
      status,
      auth: false,
      retryAfterMs: undefined,
      reason: `HTTP 200 without the collector's acknowledgement of ${sent} events (got ${JSON.stringify(text.slice(0, 120))}): is collector.url the Tunnelwatch collector?`,
    };
  }
  const error = (body?.error ?? {}) as Record<string, unknown>;
  const said = typeof error.reason === 'string' ? error.reason : typeof error.message === 'string' ? error.message : text.slice(0, 300);
  const reason = `HTTP ${status}${said ? `: ${said}` : ''}`;
  if (status === 400 || status === 413) {
    const line = typeof error.line === 'number' && Number.isInteger(error.line) ? error.line : undefined;
    return { kind: 'rejected', status, line, reason };
  }
  const retryAfter = headers['retry-after'];
  return {
    kind: 'retry',
    status,
    auth: status === 401 || status === 403,
    retryAfterMs: status === 429 || status === 503 ? parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter) : undefined,
    reason,
  };
}

export function createCollectorClient(options: CollectorClientOptions): CollectorClient {
  const base = new URL(options.url);
  const endpoint = new URL(`${base.pathname.replace(/\/+$/, '')}/v1/audit`, base);
  const https = endpoint.protocol === 'https:';
  const agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 1, ca: options.ca }) : new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const request = https ? httpsRequest : httpRequest;
  let inflight: ClientRequest | undefined;

  return {
    endpoint: endpoint.href,
    async send(ndjson) {
      // Level 1: JSON lines still shrink several times, at a fraction of the CPU of the default level,
      // and the CPU is the relay's or connector's, shared with the calls they carry.
      const body = await gzipAsync(ndjson, { level: constants.Z_BEST_SPEED });
      // The events in the batch, one a line (each ends in a newline), as the collector counts them.
      let sent = 0;
      for (let at = ndjson.indexOf(0x0a); at !== -1; at = ndjson.indexOf(0x0a, at + 1)) sent++;
      if (ndjson.length > 0 && ndjson[ndjson.length - 1] !== 0x0a) sent++;
      return new Promise<SendResult>((resolve) => {
        const req = request(endpoint, {
          method: 'POST',
          agent,
          headers: {
            authorization: `Bearer ${options.token()}`,
            'content-type': 'application/x-ndjson',
            'content-encoding': 'gzip',
            'content-length': body.length,
          },
        });
        inflight = req;
        let settled = false;
        const settle = (result: SendResult) => {
          if (settled) return;
          settled = true;
          if (inflight === req) inflight = undefined;
          resolve(result);
        };
        req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
        req.on('error', (err: NodeJS.ErrnoException) => {
          settle({ kind: 'retry', status: 0, auth: false, retryAfterMs: undefined, reason: err.code ? `${err.code}: ${err.message}` : err.message });
        });
        req.on('response', (res) => {
          void readAnswer(res).then(({ text, complete }) => settle(interpret(res.statusCode ?? 0, res.headers, text, complete, sent)));
        });
        req.end(body);
      });
    },
    abort() {
      inflight?.destroy(new Error('shipper closing'));
    },
    close() {
      inflight?.destroy(new Error('shipper closing'));
      agent.destroy();
    },
  };
}
