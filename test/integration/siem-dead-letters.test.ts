// `tunnelwatch siem dead-letters list|replay` as a user runs it: records a receiver refused are listed,
// replayed through the exporter once the receiver takes them, and marked replayed; those refused again
// stay, with the new reason; a store held by another process gets a clear error.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { validateConfig } from '../../common/config/load-config.js';
import { ExportConfigSchema, type ExporterEntryConfig } from '../../collector/export/config-schema.js';
import { storeDeadLetters, type StoredDeadLetter } from '../../collector/export/dead-letters.js';
import { startExportService } from '../../collector/export/export-service.js';
import { openStore } from '../../collector/store/open-store.js';
import { trafficEvents } from '../helpers/audit-traffic.js';
import { run } from '../helpers/processes.js';
import { CLI } from '../helpers/tunnel-stack.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

const SECRET = 'cli-replay-secret-0123456789';
let dir: string;
let configFile: string;
let receiver: WebhookReceiver;
const events = trafficEvents({ count: 600, from: new Date(Date.now() - 3_600_000), to: new Date(), seed: 21 });
/** The receiver refuses every batch holding one of these (at first). */
const poison = new Set(events.filter((e) => e.subaccount === 'globex').map((e) => e.event_id));

const cli = (...args: string[]) => run(process.execPath, [CLI, 'siem', 'dead-letters', ...args, '--config', configFile], { timeoutMs: 60_000 });

async function withStore<T>(f: (store: Awaited<ReturnType<typeof openStore>>) => Promise<T>): Promise<T> {
  const store = await openStore({ dataDir: join(dir, 'store') });
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

describe('tunnelwatch siem dead-letters', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tw-siem-cli-'));
    configFile = join(dir, 'collector.yaml');
    receiver = await startWebhookReceiver(SECRET);
    writeFileSync(join(dir, 'hook.secret'), SECRET);
    const raw = {
      collector: { listen: '127.0.0.1:4318' },
      store: { data_dir: './store' },
      export: { settle_ms: 100, poll_interval_ms: 50, cursor_save_interval_ms: 0 },
      exporters: [{ name: 'hook', type: 'webhook', url: receiver.url, secret_file: 'hook.secret', streams: ['audit'], batch_size: 50 }],
    };
    writeFileSync(configFile, stringify(raw));
    receiver.decide = (ids) => (ids.some((id) => poison.has(id)) ? { status: 400, body: 'globex events are not welcome here' } : { status: 200 });
    const config = validateConfig(ExportConfigSchema, { export: raw.export, exporters: raw.exporters }, configFile, { env: {} });
    await withStore(async (store) => {
      await store.insertAuditEvents(events);
      const service = await startExportService({ store, entries: config.exporters as readonly ExporterEntryConfig[], settings: config.export, configFile, log: pino({ level: 'silent' }) });
      const letters = storeDeadLetters(store);
      for (let i = 0; i < 400; i++) {
        const h = (await service.health.snapshot())[0];
        if (h && h.streams[0]?.lag_records === 0 && h.dead_letters > 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await service.close();
      assert.ok((await letters.list({ exporter: 'hook' })).length > 0);
    });
  });
  after(async () => {
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the dead letters with the receiver\'s reason, as a table and as JSON', async () => {
    const delivered = new Set(receiver.accepted.keys());
    const expected = events.filter((e) => !delivered.has(e.event_id)).map((e) => e.event_id).sort();
    assert.ok(expected.length >= poison.size);
    const json = await cli('list', '--json');
    assert.equal(json.code, 0, json.stderr);
    const rows = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as StoredDeadLetter);
    assert.deepEqual(rows.map((r) => r.record_id).sort(), expected, 'every record of a refused batch, nothing else');
    assert.ok(rows.every((r) => r.exporter === 'hook' && r.state === 'dead' && r.attempts === 1 && r.reason.includes('globex events are not welcome here')));
    assert.ok(rows.every((r) => r.record.stream === 'audit' && r.record.id === r.record_id));
    const table = await cli('list', '--exporter', 'hook');
    assert.match(table.stdout, /^exporter\s+stream\s+record id\s+attempts\s+failed at\s+reason$/m);
    assert.match(table.stdout, new RegExp(`\\(${expected.length} dead letters\\)`));
    const unknown = await cli('list', '--exporter', 'nope');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /TW_ERR_EXPORT_UNKNOWN_EXPORTER.*nope \(configured: hook\)/);
  });

  it('replays chosen ids, then the rest: delivered ones are marked replayed, refused ones stay dead with attempts + 1', async () => {
    const dead = (await withStore((s) => storeDeadLetters(s).list({ exporter: 'hook' }))).map((d) => d.record_id);
    const clean = dead.filter((id) => !poison.has(id));
    const globex = dead.filter((id) => poison.has(id));
    receiver.decide = (ids) => (ids.some((id) => poison.has(id)) ? { status: 400, body: 'still no globex' } : { status: 200 });

    // Only the clean ones, by id: all delivered.
    const first = await cli('replay', '--exporter', 'hook', ...clean.flatMap((id) => ['--id', id]));
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`hook: ${clean.length} replayed, 0 refused again, 0 not delivered`));
    assert.ok(clean.every((id) => receiver.accepted.get(id) === 1));

    // The rest: refused again.
    const second = await cli('replay', '--exporter', 'hook');
    assert.equal(second.code, 1);
    assert.match(second.stderr, /TW_ERR_EXPORT_REPLAY_INCOMPLETE.*still no globex/);
    const after = await withStore((s) => storeDeadLetters(s).list({ exporter: 'hook', state: 'any' }));
    assert.deepEqual(after.filter((d) => d.state === 'replayed').map((d) => d.record_id).sort(), [...clean].sort());
    assert.ok(after.filter((d) => d.state === 'dead').every((d) => d.attempts === 2 && d.reason.includes('still no globex')));
    assert.equal(after.filter((d) => d.state === 'dead').length, globex.length);

    // The receiver is fixed: everything left goes through, nothing is listed any more.
    receiver.decide = () => ({ status: 200 });
    const third = await cli('replay', '--exporter', 'hook');
    assert.equal(third.code, 0, third.stderr);
    assert.ok(events.every((e) => receiver.accepted.get(e.event_id) === 1), 'every event at the receiver once');
    const empty = await cli('list');
    assert.match(empty.stdout, /\(no dead letters\)/);
    const replayed = await cli('list', '--replayed', '--json');
    assert.equal(replayed.stdout.trim().split('\n').length, dead.length);
  });

  it('says plainly that the running collector holds the embedded store', async () => {
    await withStore(async () => {
      const res = await cli('list');
      assert.equal(res.code, 2);
      assert.match(res.stderr, /TW_ERR_STORE_LOCKED: one process per chDB data directory.*is in use by process \d+.*\. A running collector holds its embedded store: stop it, run siem dead-letters, then start it again/);
    });
  });
});
