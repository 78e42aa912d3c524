// The collector's HTTP ingest in the benchmark: the real fastify app (buildApp) with its bounded queue in
// front of the store, fed over keep-alive loopback connections with gzip NDJSON bodies as the shippers send
// them. The bodies are built and compressed before the clock starts, so the phase measures the collector:
// gunzip, one JSON.parse per line, validation, the store's batches and the engine.
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { buildApp } from '../../collector/app.js';
import { IngestTokens } from '../../collector/ingest-auth.js';
import { hashToken } from '../../connector/relay/token-store.js';
import { IngestQueue } from '../../collector/ingest-queue.js';
import { ingestStoreOf } from '../../collector/store-adapter.js';
import type { Store } from '../../collector/store/store.js';
import { generateEvents } from './ingest-events.js';
import { emptyTables, measure, type PhaseResult } from './ingest-phases.js';

const TOKEN = 'tw_bench_ingest_http_token_0123456789';

function post(agent: http.Agent, port: number, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/v1/audit',
      agent,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip', 'content-length': body.length },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function httpPhase(store: Store, rows: number, callRows: number, callers: number): Promise<PhaseResult> {
  await emptyTables(store.client);
  const bodies: Buffer[] = [];
  for (let start = 0; start < rows; start += callRows) {
    const events = generateEvents(Math.min(callRows, rows - start), { startSeq: start + 1, spanMs: 50 });
    bodies.push(gzipSync(events.map((e) => JSON.stringify(e)).join('\n'), { level: 1 }));
  }
  const log = pino({ level: 'silent' });
  const ingest = ingestStoreOf(store);
  const queue = new IngestQueue({ maxRows: 400_000, maxBytes: 1 << 30, retryAfterS: 1, storeRetryAfterS: 5 }, ingest, log);
  const app = await buildApp({ store: ingest, queue, tokens: new IngestTokens([{ name: 'bench', sha256: hashToken(TOKEN) }]), maxBodyBytes: 64 << 20, log });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const agent = new http.Agent({ keepAlive: true, maxSockets: callers });
  let next = 0;
  let refused = 0;
  try {
    const result = await measure('http', `collector HTTP ingest: ${callers} senders × ${callRows.toLocaleString('en-US')} events (gzip NDJSON)`, rows, async () => {
      await Promise.all(
        Array.from({ length: callers }, async () => {
          while (next < bodies.length) {
            const body = bodies[next++] as Buffer;
            // A 429/503 is the collector asking to slow down: wait as a shipper would, then send again.
            for (let status = await post(agent, port, body); status !== 200; status = await post(agent, port, body)) {
              if (status !== 429 && status !== 503) throw new Error(`collector answered ${status}`);
              refused++;
              await new Promise((r) => setTimeout(r, 200));
            }
          }
        }),
      );
    });
    const [{ c = '0', d = '0' } = {}] = await store.query<{ c: string; d: string }>('SELECT count() AS c, uniqExact(event_id) AS d FROM audit_events');
    return { ...result, note: `count() ${c}, distinct ids ${d}; ${refused} requests refused with 429/503 and sent again` };
  } finally {
    agent.destroy();
    await app.close();
    queue.close();
  }
}
