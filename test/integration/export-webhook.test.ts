// The exporter framework end to end with no fakes: a real store, the real runner, retry wrapper, cursor
// and dead-letter tables, and the real webhook exporter POSTing to a local receiver that answers 500,
// 429 with Retry-After, 400 and 401 on demand.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { validateConfig } from '../../common/config/load-config.js';
import { ExportConfigSchema, type ExporterEntryConfig } from '../../collector/export/config-schema.js';
import { storeDeadLetters } from '../../collector/export/dead-letters.js';
import { startExportService, type ExportService } from '../../collector/export/export-service.js';
import type { ExporterHealth } from '../../collector/export/health.js';
import { trafficEvents } from '../helpers/audit-traffic.js';
import { openTestStore, type TestStore } from '../helpers/dashboard.js';
import { craftedFindings, storeFindings } from '../helpers/findings.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

const SECRET = 'webhook-test-secret-0123456789';
const EVENTS = 3000;
const log = pino({ level: 'silent' });

let ts: TestStore;
let receiver: WebhookReceiver;

function start(name: string, registry?: Registry): Promise<ExportService> {
  const configFile = join(ts.dir, 'collector.yaml');
  const config = validateConfig(ExportConfigSchema, {
    export: { settle_ms: 300, poll_interval_ms: 50, retry_initial_delay_ms: 50, retry_max_delay_ms: 400, cursor_save_interval_ms: 0 },
    exporters: [{ name, type: 'webhook', url: receiver.url, secret_file: 'hook.secret', streams: ['audit', 'findings'], batch_size: 250 }],
  }, configFile, { env: {} });
  return startExportService({ store: ts.store, entries: config.exporters as readonly ExporterEntryConfig[], settings: config.export, configFile, log, ...(registry ? { registry } : {}) });
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const health = async (s: ExportService): Promise<ExporterHealth> => (await s.health.snapshot())[0] as ExporterHealth;

describe('exporting through the webhook', () => {
  const now = Date.now();
  const events = trafficEvents({ count: EVENTS, from: new Date(now - 3_600_000), to: new Date(now), seed: 6 });
  const findings = craftedFindings(now);

  before(async () => {
    ts = await openTestStore();
    writeFileSync(join(ts.dir, 'hook.secret'), `${SECRET}\n`);
    receiver = await startWebhookReceiver(SECRET);
    await ts.store.insertAuditEvents(events);
    await storeFindings(ts.store, findings, now - 60_000);
  });
  after(async () => {
    await receiver?.close();
    await ts?.close();
  });

  it('delivers every record once through 500s, a 429 with Retry-After and a 400, and dead-letters the refused batch', async () => {
    receiver.script({ status: 500, body: 'boom' }, { drop: true, status: 0 }, { status: 429, retryAfter: '1' });
    // The findings batch carries f-old: this receiver refuses it for good.
    receiver.decide = (ids) => (ids.some((id) => id.startsWith('f-old:')) ? { status: 400, body: '{"error":"field evidence.calls: not allowed"}' } : { status: 200 });
    const registry = new Registry();
    const service = await start('hook', registry);
    try {
      await until('all audit events', () => (events.every((e) => receiver.accepted.has(e.event_id)) ? true : undefined));
      const h = await until('caught up', async () => {
        const x = await health(service);
        return x.streams.every((s) => s.lag_records === 0) && x.dead_letters === findings.length ? x : undefined;
      });
      assert.equal(receiver.requests.every((r) => r.verified), true, 'every request carries a valid signature');
      assert.equal(receiver.requests.every((r) => r.idempotencyKey === r.batchId && /^[0-9a-f]{64}$/.test(r.batchId)), true);
      assert.deepEqual([...receiver.accepted.values()].filter((n) => n !== 1), [], 'each record accepted once');
      assert.equal(receiver.accepted.size, EVENTS, 'every audit event, no finding');
      const sent = receiver.records.get(events[5]?.event_id as string);
      assert.ok(sent?.stream === 'audit');
      assert.equal(sent.event.bytes_out, events[5]?.bytes_out);
      // The 429 asked for 1 s: the next request waited for it.
      // (the other stream's requests go on meanwhile; the same batch is what waited)
      const r429 = receiver.requests.find((r) => r.status === 429);
      const retried = receiver.requests.find((r) => r !== r429 && r.at >= (r429?.at ?? 0) && r.batchId === r429?.batchId);
      const gap = (retried?.at ?? 0) - (r429?.at ?? 0);
      assert.ok(gap >= 900, `waited ${gap} ms after Retry-After: 1`);

      const dead = await storeDeadLetters(ts.store).list({ exporter: 'hook' });
      assert.deepEqual(dead.map((d) => d.record_id).sort(), findings.map((f) => `${f.finding_id}:${now - 60_000}`).sort());
      assert.match(dead[0]?.reason ?? '', /HTTP 400: \{"error":"field evidence.calls: not allowed"\}/);
      assert.ok(dead[0]?.record.stream === 'findings');

      assert.equal(h.state, 'ok');
      assert.equal(h.errors.retryable, 3, '500, dropped connection, 429');
      assert.equal(h.errors.dead_letter, findings.length);
      assert.equal(h.streams.find((s) => s.stream === 'audit')?.sent, EVENTS);
      assert.match(h.last_error?.reason ?? '', /dead-lettered/);
      const text = await registry.metrics();
      assert.match(text, /tunnelwatch_export_records_sent_total\{exporter="hook",stream="audit"\} 3000/);
      assert.match(text, /tunnelwatch_export_dead_letters_total\{exporter="hook",stream="findings"\} 5/);
      const failures = [...text.matchAll(/^tunnelwatch_export_send_failures_total\{exporter="hook",stream="\w+"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
      assert.equal(failures, 3, 'the scripted failures, whichever stream met them');
      assert.match(text, /tunnelwatch_export_lag_records\{exporter="hook",stream="audit"\} 0/);
    } finally {
      await service.close();
    }
    // The cursor was saved at close: a restart sends nothing again.
    const before = receiver.requests.length;
    const again = await start('hook');
    await new Promise((r) => setTimeout(r, 800));
    await again.close();
    assert.equal(receiver.requests.length, before);
  });

  it('reports failing on a 401, keeps the cursor and dead-letters nothing, then delivers once the receiver accepts', async () => {
    const more = trafficEvents({ count: 300, from: new Date(now - 60_000), to: new Date(now), seed: 7, emitterId: 'connector-more' });
    await ts.store.insertAuditEvents(more);
    receiver.decide = () => ({ status: 401, body: 'who are you' });
    const service = await start('hook');
    try {
      const h = await until('failing', async () => {
        const x = await health(service);
        return x.state === 'failing' ? x : undefined;
      });
      assert.match(h.last_error?.reason ?? '', /HTTP 401: who are you/);
      assert.equal(h.streams.find((s) => s.stream === 'audit')?.lag_records, 300);
      assert.equal(more.some((e) => receiver.accepted.has(e.event_id)), false);
      receiver.decide = () => ({ status: 200 });
      await until('delivered after the fix', () => (more.every((e) => receiver.accepted.get(e.event_id) === 1) ? true : undefined));
      const fixed = await until('ok again', async () => {
        const x = await health(service);
        return x.state === 'ok' && x.streams.every((s) => s.lag_records === 0) ? x : undefined;
      });
      assert.ok(fixed.errors.failure >= 1);
      assert.equal((await storeDeadLetters(ts.store).list({ exporter: 'hook' })).length, findings.length, 'no new dead letters');
    } finally {
      await service.close();
    }
  });
});
