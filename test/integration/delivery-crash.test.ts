// Nothing lost: calls keep flowing while the collector is killed -9 (and restarted), or frozen for a
// while; afterwards the store holds exactly one audit event per call.
import assert from 'node:assert/strict';
import http from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startNginx, type Nginx } from '../helpers/nginx.js';
import { freePort } from '../helpers/ports.js';
import { queryStore, startCollectorProcess, type CollectorProcess } from '../helpers/collector-process.js';
import { startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

const TOKEN = 'tw_test_crash_token_0123456789';
const CALLS = Number(process.env.TW_CRASH_CALLS ?? 20_000);
const CONCURRENCY = 32;

let nginx: Nginx;

/** Sends `total` calls, `concurrency` at a time; calls `at(sent)` as it goes. Every 10th has a bad token (a relay event). */
async function load(port: number, total: number, at: (sent: number) => Promise<void> | void): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let sent = 0;
  let answered = 0;
  const one = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, agent, method: 'GET', path: 'http://erp.virtual:8000/api/orders/1', headers: { host: 'erp.virtual:8000', 'proxy-authorization': `Bearer ${i % 10 === 9 ? 'tw_wrong' : TOKEN}` } });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => {
          answered++;
          resolve();
        });
      });
      req.on('error', () => resolve());
      req.end();
    });
  const worker = async (): Promise<void> => {
    while (sent < total) {
      const i = sent++;
      await at(i);
      await one(i);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();
  return answered;
}

async function stackFor(collector: CollectorProcess): Promise<TunnelStack> {
  const tokenFile = join(collector.dir, 'ingest.token');
  await writeFile(tokenFile, collector.token);
  const audit = (id: string) => ({ audit: { dir: `audit/${id}`, collector: { url: collector.url, token_file: tokenFile, request_timeout_ms: 2000 } } });
  return startTunnelStack({
    tokens: [{ subaccount: 'acme', cloudApp: 'portal', token: TOKEN }],
    relayExtra: audit('relay-1'),
    connectors: [{
      id: 'connector-1',
      subaccounts: { acme: { mappings: [{ virtual: 'erp.virtual:8000', internal: `127.0.0.1:${nginx.port}`, protocol: 'http', resources: [{ path: '/api/orders' }] }] } },
      extra: audit('connector-1'),
    }],
  });
}

async function storedCounts(collector: CollectorProcess): Promise<{ rows: number; distinct: number; deduped: number }> {
  const [rows, final] = await queryStore<{ rows?: string; distinct?: string; n?: string }>(collector.dataDir, [
    { sql: 'SELECT count() AS rows, count(DISTINCT event_id) AS distinct FROM audit_events' },
    { sql: 'SELECT count() AS n FROM audit_events FINAL' },
  ]);
  const row = rows?.[0];
  const deduped = final?.[0]?.n;
  return { rows: Number(row?.rows), distinct: Number(row?.distinct), deduped: Number(deduped) };
}

describe(`delivery with nothing lost (${CALLS} calls)`, () => {
  before(async () => {
    nginx = await startNginx();
  });
  after(async () => {
    await nginx?.stop();
  });

  test('kill -9 of the collector during the load: after restart every call is stored exactly once', async () => {
    const port = await freePort();
    let collector = await startCollectorProcess({ port });
    const stack = await stackFor(collector);
    try {
      const answered = await load(stack.proxyPort, CALLS, async (i) => {
        if (i === Math.floor(CALLS * 0.4)) {
          await collector.process.kill9();
          // Calls go on while it is down; the shippers hold the events in the spool.
          setTimeout(() => void startCollectorProcess({ port, dir: collector.dir }).then((c) => (collector = c)), 1500).unref();
        }
      });
      assert.equal(answered, CALLS, 'every call was answered');
      const connectorEvents = await stack.waitForShipped('connector-1', 120_000);
      const relayEvents = await stack.waitForShipped('relay-1', 120_000);
      assert.equal(connectorEvents + relayEvents, CALLS, 'one audit event per call at the emitters');
      await stack.stop();
      await collector.stop();
      const counts = await storedCounts(collector);
      assert.deepEqual(counts, { rows: CALLS, distinct: CALLS, deduped: CALLS });
    } finally {
      await stack.stop().catch(() => {});
      await collector.stop().catch(() => {});
    }
  });

  test('a collector frozen for a while (SIGSTOP, then SIGCONT): every call is stored exactly once', async () => {
    const collector = await startCollectorProcess();
    const stack = await stackFor(collector);
    const calls = Math.max(2000, Math.floor(CALLS / 4));
    try {
      const answered = await load(stack.proxyPort, calls, async (i) => {
        if (i === Math.floor(calls * 0.3)) {
          process.kill(collector.process.pid, 'SIGSTOP');
          setTimeout(() => process.kill(collector.process.pid, 'SIGCONT'), 4000).unref();
        }
      });
      assert.equal(answered, calls);
      const n = (await stack.waitForShipped('connector-1', 120_000)) + (await stack.waitForShipped('relay-1', 120_000));
      assert.equal(n, calls);
      await stack.stop();
      await collector.stop();
      assert.deepEqual(await storedCounts(collector), { rows: calls, distinct: calls, deduped: calls });
    } finally {
      await stack.stop().catch(() => {});
      await collector.stop().catch(() => {});
    }
  });
});
