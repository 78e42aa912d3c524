// A stand-in for the collector's audit ingest, for the shipper's tests: a real HTTP server on 127.0.0.1
// that follows the ingest contract (gzip NDJSON, bearer token, 200 only for a whole good batch, 400
// naming the first bad line), records what it got, and can be told to answer otherwise or be down.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface ReceivedRequest {
  readonly at: number;
  readonly headers: IncomingHttpHeaders;
  /** The body as it came over the wire. */
  readonly raw: Buffer;
  /** The NDJSON after gunzip. */
  readonly ndjson: string;
  readonly status: number;
  /** event_ids of the lines, when the batch was accepted. */
  readonly ids: readonly string[];
}

export interface Answer {
  status: number;
  retryAfter?: string;
  body?: unknown;
}

export class FakeCollector {
  readonly token: string;
  readonly requests: ReceivedRequest[] = [];
  /** event_id -> how many accepted batches held it. */
  readonly stored = new Map<string, number>();
  /** Answers to give, in order, before any other check (then the contract applies again). */
  readonly forced: Answer[] = [];
  /** Lines whose path is this are rejected as the collector would reject a malformed line. */
  poisonPath = '/poison';
  /** Delay before answering an accepted batch, to give a crash a window with a request in flight. */
  commitDelayMs = 0;
  private server: Server | undefined;
  private port = 0;

  constructor(token = 'test-ingest-token') {
    this.token = token;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens on `port` (0: any); again on the same port after stop() when called without one. */
  async start(port = this.port): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const answer = (status: number, body: unknown, ids: string[] = [], ndjson = '', headers: Record<string, string> = {}) => {
          this.requests.push({ at: Date.now(), headers: req.headers, raw, ndjson, status, ids });
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(JSON.stringify(body));
        };
        const forced = this.forced.shift();
        if (forced) {
          answer(forced.status, forced.body ?? { error: { code: 'FORCED', reason: 'forced by the test' } }, [], '', forced.retryAfter ? { 'retry-after': forced.retryAfter } : {});
          return;
        }
        if (req.method !== 'POST' || req.url !== '/v1/audit') return answer(404, { error: { reason: 'not found' } });
        if (req.headers.authorization !== `Bearer ${this.token}`) return answer(401, { error: { code: 'UNAUTHENTICATED', reason: 'unknown token' } });
        let ndjson: string;
        try {
          ndjson = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
        } catch {
          return answer(400, { error: { reason: 'body is not gzip' } });
        }
        const lines = ndjson.split('\n');
        if (lines.at(-1) === '') lines.pop();
        const ids: string[] = [];
        for (let i = 0; i < lines.length; i++) {
          let event: { event_id?: unknown; path?: unknown } | undefined;
          try {
            event = JSON.parse(lines[i] as string) as typeof event;
          } catch {
            event = undefined;
          }
          if (!event || typeof event.event_id !== 'string' || event.path === this.poisonPath) {
            return answer(400, { error: { code: 'MALFORMED', line: i + 1, reason: event ? 'not an audit event' : 'not JSON' } }, [], ndjson);
          }
          ids.push(event.event_id);
        }
        setTimeout(() => {
          let duplicates = 0;
          for (const id of ids) {
            const n = this.stored.get(id) ?? 0;
            if (n > 0) duplicates++;
            this.stored.set(id, n + 1);
          }
          answer(200, { accepted: ids.length - duplicates, duplicates }, ids, ndjson);
        }, this.commitDelayMs);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Down: closes the listener and every connection (the shipper sees refused connections). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Sets the port a stopped collector will come back on (to start "down" on a known port). */
  usePort(port: number): void {
    this.port = port;
  }

  accepted(): ReceivedRequest[] {
    return this.requests.filter((r) => r.status === 200);
  }
}
