// The connector's prober in a real connector process: every mapping is checked on a short interval and
// the reports reach a recording collector as CheckBatch POSTs; a backend stopped mid-way turns down. A
// check asked for through the relay admin API is shipped as well.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { CheckBatch, CheckReport } from '../../connector/diagnostics/types.js';
import { waitFor } from '../helpers/processes.js';
import { startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

const INGEST_TOKEN = 'tw_ingest_token_connector_1_0123456789';
const ADMIN_TOKEN = 'tw_admin_token_prober_test_0123456789';

let dir: string;
let stack: TunnelStack;
let collector: Server;
const batches: { auth: string; batch: CheckBatch }[] = [];
let web: Server;
let doomed: Server;
const doomedSockets = new Set<net.Socket>();
let tcp: net.Server;

const reports = (): CheckReport[] => batches.flatMap((b) => b.batch.reports);
const port = (s: net.Server): number => (s.address() as net.AddressInfo).port;

/** A collector that records /v1/checks and accepts everything else (audit, rules) without looking. */
async function startRecordingCollector(): Promise<Server> {
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/checks') {
        const raw = Buffer.concat(chunks);
        const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString();
        batches.push({ auth: req.headers.authorization ?? '', batch: JSON.parse(text) as CheckBatch });
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"accepted":0,"duplicates":0}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

describe('connector prober', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tw-prober-'));
    await writeFile(join(dir, 'ingest.token'), `${INGEST_TOKEN}\n`);
    collector = await startRecordingCollector();
    web = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    doomed = createServer((_req, res) => res.end('ok'));
    doomed.on('connection', (s) => {
      doomedSockets.add(s);
      s.on('error', () => {});
      s.on('close', () => doomedSockets.delete(s));
    });
    await new Promise<void>((r) => doomed.listen(0, '127.0.0.1', r));
    tcp = net.createServer((s) => {
      // The check may hang up first: a reset is not this test's concern.
      s.on('error', () => {});
      s.end('220 ready\r\n');
    });
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    stack = await startTunnelStack({
      tokens: [],
      relayAdmin: { tokens: [{ name: 'dashboard', token: ADMIN_TOKEN }] },
      connectors: [{
        id: 'connector-1',
        subaccounts: {
          acme: {
            mappings: [
              { virtual: 'web.virtual:80', internal: `127.0.0.1:${port(web)}`, protocol: 'http', resources: [] },
              { virtual: 'doomed.virtual:81', internal: `127.0.0.1:${port(doomed)}`, protocol: 'http', resources: [] },
            ],
          },
          globex: {
            mappings: [{ virtual: 'mail.virtual:25', internal: `127.0.0.1:${port(tcp)}`, protocol: 'tcp' }],
          },
        },
        extra: {
          diagnostics: { interval_ms: 400, timeout_ms: 1000, concurrency: 2 },
          audit: { dir: 'audit/connector-1', collector: { url: `http://127.0.0.1:${port(collector)}`, token_file: join(dir, 'ingest.token') } },
        },
      }],
    });
  });
  after(async () => {
    await stack?.stop();
    for (const s of doomedSockets) s.destroy();
    await Promise.all([collector, web, doomed, tcp].map((s) => new Promise((r) => s?.close(r))));
    await rm(dir, { recursive: true, force: true });
  });

  test('ships a scheduled report for every mapping, every round, as CheckBatch with the ingest token', async () => {
    await waitFor(() => {
      const seen = new Set(reports().filter((r) => r.trigger === 'schedule').map((r) => `${r.subaccount} ${r.virtual_host}`));
      return seen.size === 3;
    }, { timeoutMs: 15_000, message: 'scheduled reports for all three mappings' });
    const first = batches[0];
    assert.equal(first?.auth, `Bearer ${INGEST_TOKEN}`);
    assert.equal(first?.batch.schema, 'tunnelwatch.checks/1');
    assert.equal(first?.batch.connector_id, 'connector-1');
    const latest = new Map(reports().map((r) => [r.virtual_host, r]));
    assert.equal(latest.get('web.virtual:80')?.state, 'up');
    assert.equal(latest.get('doomed.virtual:81')?.state, 'up');
    assert.equal(latest.get('mail.virtual:25')?.state, 'up');
    assert.equal(latest.get('mail.virtual:25')?.subaccount, 'globex');
    assert.ok(reports().every((r) => r.connector_id === 'connector-1' && r.requested_by === ''));
    // A few rounds, not one: the schedule repeats.
    await waitFor(() => reports().filter((r) => r.virtual_host === 'web.virtual:80').length >= 3, { timeoutMs: 10_000, message: 'three rounds' });
  });

  test('a backend stopped mid-way is reported down (tcp_refused) while the others stay up', async () => {
    const stoppedAt = Date.now();
    await new Promise<void>((r) => {
      doomed.close(() => r());
      for (const s of doomedSockets) s.destroy();
    });
    const down = await waitFor(() => reports().find((r) => r.virtual_host === 'doomed.virtual:81' && r.state === 'down' && Date.parse(r.started_at) >= stoppedAt), { timeoutMs: 10_000, message: 'a down report' });
    assert.equal(down.classification, 'tcp_refused');
    assert.equal(down.trigger, 'schedule');
    const after = reports().filter((r) => Date.parse(r.started_at) >= stoppedAt);
    assert.ok(after.some((r) => r.virtual_host === 'web.virtual:80' && r.state === 'up'));
    assert.match(stack.connector('connector-1')?.stderr() ?? '', /"virtual_host":"doomed.virtual:81".*"state":"down","previous":"up".*"msg":"backend state changed"/);
  });

  test('ships a check asked for through the relay admin API with trigger dashboard', async () => {
    const res = await fetch(`http://127.0.0.1:${stack.adminPort}/admin/v1/check`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ subaccount: 'globex', virtual_host: 'mail.virtual:25', requested_by: 'bob@globex' }),
    });
    assert.equal(res.status, 200);
    const report = (await res.json()) as CheckReport;
    const shipped = await waitFor(() => reports().find((r) => r.check_id === report.check_id), { timeoutMs: 10_000, message: 'the dashboard check at the collector' });
    assert.equal(shipped.trigger, 'dashboard');
    assert.equal(shipped.requested_by, 'bob@globex');
  });
});
