// A webhook receiver for the exporter tests: a plain node http server that checks every request's
// signature, counts each record id it accepted (and every raw delivery), and answers what the test
// scripts: 500, 429 with Retry-After, 400, 401, or a dropped connection.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { IDEMPOTENCY_HEADER, verify } from '../../collector/export/webhook/signature.js';
import type { ExportRecord } from '../../collector/export/types.js';

export interface Answer {
  readonly status: number;
  readonly retryAfter?: string;
  readonly body?: string;
  /** Close the connection without an answer. */
  readonly drop?: boolean;
}

export interface ReceivedRequest {
  readonly at: number;
  readonly status: number;
  readonly ids: readonly string[];
  readonly verified: boolean;
  readonly idempotencyKey: string;
  readonly batchId: string;
}

export interface WebhookReceiver {
  readonly url: string;
  /** Accepted (2xx) deliveries per record id. */
  readonly accepted: Map<string, number>;
  /** Accepted records, by id, as received. */
  readonly records: Map<string, ExportRecord>;
  readonly requests: ReceivedRequest[];
  /** Answers for the next requests, in order; afterwards `decide` (default 200). */
  script(...answers: Answer[]): void;
  decide: (ids: readonly string[]) => Answer;
  /** Records delivered in 2xx answers, repeats included. */
  rawAccepted(): number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(secret: string, port = 0): Promise<WebhookReceiver> {
  const queue: Answer[] = [];
  const accepted = new Map<string, number>();
  const records = new Map<string, ExportRecord>();
  const requests: ReceivedRequest[] = [];
  let raw = 0;
  const receiver: WebhookReceiver = {
    url: '',
    accepted,
    records,
    requests,
    script: (...answers) => void queue.push(...answers),
    decide: () => ({ status: 200 }),
    rawAccepted: () => raw,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const parsed = JSON.parse(body.toString('utf8')) as { batch_id: string; records: ExportRecord[] };
      const ids = parsed.records.map((r) => r.id);
      const verified = verify(secret, req.headers, body);
      const answer = !verified ? { status: 401, body: 'bad signature' } : queue.shift() ?? receiver.decide(ids);
      requests.push({ at: Date.now(), status: answer.drop ? 0 : answer.status, ids, verified, idempotencyKey: String(req.headers[IDEMPOTENCY_HEADER]), batchId: parsed.batch_id });
      if (answer.drop) {
        req.socket.destroy();
        return;
      }
      if (answer.status >= 200 && answer.status < 300) {
        for (const r of parsed.records) {
          accepted.set(r.id, (accepted.get(r.id) ?? 0) + 1);
          records.set(r.id, r);
        }
        raw += ids.length;
      }
      res.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.retryAfter ? { 'retry-after': answer.retryAfter } : {}) });
      res.end(answer.body ?? JSON.stringify({ received: ids.length }));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  (receiver as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}
