// The webhook exporter: POSTs records as a JSON batch, signed (signature.ts), and says what the answer
// means for delivery (docs/siem.md, "Webhook"):
//   2xx: delivered.
//   429, 503: retryable after Retry-After (seconds or an HTTP date) when given, else the runner's backoff.
//   408, 425, other 5xx, no answer, connection errors, timeouts: retryable.
//   401, 403, 404, 405, 407, 3xx: failure: the receiver refuses our signature, address or method, which
//     is configuration; nothing is dead-lettered, the runner waits and tries again.
//   other 4xx (400, 413, 422, ...): the receiver refuses this content: the batch goes to the dead letters.
import { createHash } from 'node:crypto';
import type { Exporter, ExportOutcome, ExportRecord, ExportStream } from '../types.js';
import type { PostResult } from './http-post.js';
import { IDEMPOTENCY_HEADER, sign, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './signature.js';

export const WEBHOOK_SCHEMA = 'tunnelwatch.webhook/1';
const FAILURE_STATUSES = new Set([401, 403, 404, 405, 407]);
const RETRYABLE_4XX = new Set([408, 425, 429]);
const MAX_RETRY_AFTER_MS = 3_600_000;

export interface WebhookParts {
  readonly name: string;
  readonly streams: readonly ExportStream[];
  readonly batchSize: number;
  readonly url: URL;
  secret(): Buffer;
  /** Re-reads the secret (after a failure: it may have been rotated). */
  reload(): void;
  post(body: Buffer, headers: Record<string, string>, signal: AbortSignal): Promise<PostResult>;
  close(): void;
}

/** Retry-After as ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const ms = /^\d+$/.test(value.trim()) ? Number(value.trim()) * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS) : undefined;
}

/** The same records give the same key, so a receiver can recognise a re-sent batch as a whole. */
export function batchKey(records: readonly ExportRecord[]): string {
  const hash = createHash('sha256');
  for (const r of records) hash.update(`${r.stream}\u0000${r.id}\n`);
  return hash.digest('hex');
}

function describe(answer: PostResult): string {
  const text = answer.body.replace(/\s+/g, ' ').trim().slice(0, 300);
  return `HTTP ${answer.status}${text ? `: ${text}` : ''}`;
}

export function classify(answer: PostResult, records: readonly ExportRecord[]): ExportOutcome {
  const { status } = answer;
  if (status >= 200 && status < 300) return { status: 'success' };
  if (status === 429 || status === 503) {
    const delayMs = retryAfterMs(answer.retryAfter);
    return { status: 'retryable', reason: describe(answer), ...(delayMs !== undefined ? { delayMs } : {}) };
  }
  if (status >= 500 || RETRYABLE_4XX.has(status)) return { status: 'retryable', reason: describe(answer) };
  if (FAILURE_STATUSES.has(status) || (status >= 300 && status < 400)) {
    return { status: 'failure', reason: `${describe(answer)} (check url and the secret the receiver expects)` };
  }
  const reason = `the receiver refused the batch: ${describe(answer)}`;
  return { status: 'success', dead: records.map((r) => ({ id: r.id, reason })) };
}

export function webhookExporter(parts: WebhookParts): Exporter {
  return {
    name: parts.name,
    type: 'webhook',
    streams: parts.streams,
    batchSize: parts.batchSize,
    async start() {
      parts.reload();
    },
    async send(records, signal) {
      const key = batchKey(records);
      const body = Buffer.from(JSON.stringify({ schema: WEBHOOK_SCHEMA, exporter: parts.name, batch_id: key, records }));
      const timestamp = Math.floor(Date.now() / 1000);
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'tunnelwatch-webhook/1',
        [TIMESTAMP_HEADER]: String(timestamp),
        [SIGNATURE_HEADER]: sign(parts.secret(), timestamp, body),
        [IDEMPOTENCY_HEADER]: key,
      };
      try {
        return classify(await parts.post(body, headers, signal), records);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        return { status: 'retryable', reason: `POST ${parts.url.origin}${parts.url.pathname}: ${e.code ?? e.name}: ${e.message}` };
      }
    },
    async close() {
      parts.close();
    },
  };
}
