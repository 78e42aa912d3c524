// Nothing lost, nothing twice at the receiver: a real `tunnelwatch collector` exports its audit events to
// the Elasticsearch wire stand-in (test/helpers/es-standin.ts; no real Elasticsearch can be installed
// here) and is killed -9 in the middle of the export. After a restart it resumes from its saved cursor:
// every event is indexed, each exactly once by _id; what was re-sent after the crash came back as 409s.
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import { stringify } from 'yaml';
import { setUpElasticsearch } from '../../collector/export/elasticsearch/setup.js';
import { trafficEvents } from '../helpers/audit-traffic.js';
import { queryStore } from '../helpers/collector-process.js';
import { startEsStandin, type EsStandin } from '../helpers/es-standin.js';
import { freePort } from '../helpers/ports.js';
import { startProcess, waitFor, type StartedProcess } from '../helpers/processes.js';
import { CLI, sha256 } from '../helpers/tunnel-stack.js';

const EVENTS = Number(process.env.TW_EXPORT_CRASH_EVENTS ?? 20_000);
const TOKEN = 'tw_export-crash-token-0123456789';
const AUDIT = 'logs-tunnelwatch.audit-default';

let es: EsStandin;
let dir: string;
let port: number;

async function startCollector(): Promise<StartedProcess> {
  return startProcess(process.execPath, [CLI, 'collector', '--config', join(dir, 'collector.yaml')], { readyWhen: /"msg":"collector listening"/, timeoutMs: 30_000 });
}

/** POSTs events to /v1/audit as NDJSON, 2000 per request. */
async function ingest(events: readonly object[]): Promise<void> {
  for (let i = 0; i < events.length; i += 2000) {
    const body = events.slice(i, i + 2000).map((e) => JSON.stringify(e)).join('\n');
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/v1/audit', method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-ndjson' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(status, 200);
  }
}

describe(`export through a collector crash (${EVENTS} events, Elasticsearch stand-in)`, () => {
  before(async () => {
    es = await startEsStandin();
    const admin = new Client({ node: es.url, maxRetries: 0 });
    await setUpElasticsearch(admin, { namespace: 'default', streams: ['audit'] });
    await admin.close();
    dir = await mkdtemp(join(tmpdir(), 'tw-export-crash-'));
    port = await freePort();
    await writeFile(join(dir, 'collector.yaml'), stringify({
      collector: { listen: `127.0.0.1:${port}`, ingest_tokens: [{ name: 'test', sha256: sha256(TOKEN) }] },
      store: { data_dir: './store' },
      detection: { enabled: false },
      export: { settle_ms: 1000, poll_interval_ms: 200, cursor_save_interval_ms: 1000, retry_max_delay_ms: 2000 },
      exporters: [{ name: 'siem', type: 'elasticsearch', nodes: [es.url], streams: ['audit'], batch_size: 500 }],
      log: { level: 'info' },
    }));
  });
  after(async () => {
    await es?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('kill -9 during the export: after restart every event is indexed exactly once', async (t) => {
    const events = trafficEvents({ count: EVENTS, from: new Date(Date.now() - 3_600_000), to: new Date(), seed: 42 });
    // Slow answers keep the export going long enough to be cut in the middle.
    es.delayBulk(60);
    let collector = await startCollector();
    try {
      await ingest(events);
      await waitFor(() => es.documents(AUDIT).size >= EVENTS * 0.3, { timeoutMs: 120_000, message: 'the export under way' });
      await collector.kill9();
      const atCrash = es.documents(AUDIT).size;
      assert.ok(atCrash < EVENTS, `killed during the export (${atCrash} of ${EVENTS} indexed)`);
      es.delayBulk(0);

      collector = await startCollector();
      await waitFor(() => es.documents(AUDIT).size >= EVENTS, { timeoutMs: 120_000, message: `all ${EVENTS} events indexed` });
      // Give a duplicate or a straggler the time to show up before counting.
      await new Promise((r) => setTimeout(r, 3000));
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /^tunnelwatch_export_lag_records\{exporter="siem",stream="audit"\} 0$/m, 'GET /metrics: caught up');
      assert.match(metrics, /^tunnelwatch_export_records_sent_total\{exporter="siem",stream="audit"\} \d+$/m);
      await collector.stop('SIGTERM', 15_000);

      const counts = es.idCounts();
      const missing = events.filter((e) => !counts.has(e.event_id));
      assert.deepEqual(missing.map((e) => e.event_id), [], 'no gap');
      assert.deepEqual([...counts.values()].filter((n) => n !== 1), [], 'each _id once');
      assert.equal(es.documents(AUDIT).size, EVENTS);
      const raw = events.reduce((n, e) => n + es.attempts(e.event_id), 0);
      const resent = es.stats.itemStatuses[409] ?? 0;
      t.diagnostic(`indexed at the crash: ${atCrash}; raw deliveries: ${raw}; re-sent after the restart and collapsed by _id (409): ${resent}`);
      assert.equal(raw, EVENTS + resent, 'every delivery beyond the first of an _id was answered 409');

      // The cursor the restarted collector saved on its way down stands at the end.
      const [cursor] = await queryStore<{ position: string }>(join(dir, 'store'), [{ sql: "SELECT position FROM export_cursors WHERE exporter = 'siem' AND stream = 'audit' ORDER BY version DESC LIMIT 1" }]);
      assert.ok(cursor?.[0]?.position, 'a cursor was saved');
    } finally {
      await collector.stop('SIGTERM', 15_000).catch(() => {});
    }
  });
});
