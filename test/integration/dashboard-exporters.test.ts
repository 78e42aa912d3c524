// GET /api/v1/exporters and the Exporters page: live health from the collector's exporters when the
// dashboard runs in the collector, the store's view (cursors, lag, dead letters) when it runs apart;
// error reasons withheld from identities limited to some subaccounts.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { validateConfig } from '../../common/config/load-config.js';
import { ExportConfigSchema, type ExporterEntryConfig } from '../../collector/export/config-schema.js';
import { startExportService, type ExportService } from '../../collector/export/export-service.js';
import type { ExporterHealth } from '../../collector/export/health.js';
import { buildDashboardApp } from '../../dashboard/app.js';
import { trafficEvents } from '../helpers/audit-traffic.js';
import { bearer, openTestStore, testDashboard, type TestStore } from '../helpers/dashboard.js';
import { craftedFindings, storeFindings } from '../helpers/findings.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

const SECRET = 'dashboard-exporters-secret-42';
interface Answer { source: string; reasons_withheld: boolean; exporters: ExporterHealth[] }

let ts: TestStore;
let receiver: WebhookReceiver;
let service: ExportService;
let live: FastifyInstance;
let standalone: FastifyInstance;
const events = trafficEvents({ count: 800, from: new Date(Date.now() - 3_600_000), to: new Date(), seed: 11 });

describe('exporters in the dashboard', () => {
  before(async () => {
    ts = await openTestStore();
    writeFileSync(join(ts.dir, 'hook.secret'), SECRET);
    receiver = await startWebhookReceiver(SECRET);
    // Findings are refused for good (dead letters); audit events go through.
    receiver.decide = (ids) => (ids.some((id) => id.startsWith('f-')) ? { status: 422, body: 'unprocessable finding' } : { status: 200 });
    await ts.store.insertAuditEvents(events);
    await storeFindings(ts.store, craftedFindings(Date.now()), Date.now() - 60_000);
    const configFile = join(ts.dir, 'collector.yaml');
    const config = validateConfig(ExportConfigSchema, {
      export: { settle_ms: 200, poll_interval_ms: 50, cursor_save_interval_ms: 0 },
      exporters: [
        { name: 'soc-hook', type: 'webhook', url: receiver.url, secret_file: 'hook.secret', streams: ['audit', 'findings'] },
        { name: 'paused', type: 'webhook', url: receiver.url, secret_file: 'hook.secret', enabled: false },
      ],
    }, configFile, { env: {} });
    service = await startExportService({ store: ts.store, entries: config.exporters as readonly ExporterEntryConfig[], settings: config.export, configFile, log: pino({ level: 'silent' }) });
    for (let i = 0; i < 600 && !(events.every((e) => receiver.accepted.has(e.event_id)) && (await service.health.snapshot())[0]?.dead_letters === 5); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const dash = await testDashboard(ts.store);
    standalone = dash.app;
    live = await buildDashboardApp({ ...dash.ctx, exporters: service.health });
    await live.ready();
  });
  after(async () => {
    await live?.close();
    await standalone?.close();
    await service?.close();
    await receiver?.close();
    await ts?.close();
  });

  it('shows each exporter\'s live state, lag, last success, errors and dead letters to an analyst', async () => {
    const res = await live.inject({ url: '/api/v1/exporters', headers: bearer('analyst') });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<Answer>();
    assert.equal(body.source, 'collector');
    assert.equal(body.reasons_withheld, false);
    assert.deepEqual(body.exporters.map((e) => [e.name, e.type, e.state]), [['soc-hook', 'webhook', 'ok'], ['paused', 'webhook', 'disabled']]);
    const hook = body.exporters[0] as ExporterHealth;
    assert.deepEqual(hook.streams.map((s) => [s.stream, s.lag_records, s.sent]), [['audit', 0, events.length], ['findings', 0, 0]]);
    assert.equal(hook.dead_letters, 5);
    assert.equal(hook.errors.dead_letter, 5);
    assert.match(hook.last_error?.reason ?? '', /HTTP 422: unprocessable finding/);
    assert.ok(hook.last_success_at && Date.now() - Date.parse(hook.last_success_at) < 60_000);
    // Never started: it is as far behind as the store is long.
    const paused = body.exporters[1] as ExporterHealth;
    assert.deepEqual(paused.streams.map((s) => [s.stream, s.lag_records]), [['findings', 5]]);
    assert.ok((paused.streams[0]?.lag_seconds ?? 0) >= 59);
  });

  it('withholds error reasons from an analyst limited to one subaccount, and refuses a viewer', async () => {
    const scoped = (await live.inject({ url: '/api/v1/exporters', headers: bearer('analyst@acme') })).json<Answer>();
    assert.equal(scoped.reasons_withheld, true);
    assert.doesNotMatch(JSON.stringify(scoped), /unprocessable/);
    assert.equal(scoped.exporters[0]?.dead_letters, 5);
    const viewer = await live.inject({ url: '/api/v1/exporters', headers: bearer('viewer') });
    assert.equal(viewer.statusCode, 403);
  });

  it('reads cursors and dead letters from the store in a dashboard that runs apart from the collector', async () => {
    const body = (await standalone.inject({ url: '/api/v1/exporters', headers: bearer('admin') })).json<Answer>();
    assert.equal(body.source, 'store');
    assert.deepEqual(body.exporters.map((e) => [e.name, e.state, e.dead_letters]), [['soc-hook', 'unknown', 5]]);
    assert.deepEqual(body.exporters[0]?.streams.map((s) => [s.stream, s.lag_records]), [['audit', 0], ['findings', 0]]);
    assert.ok(body.exporters[0]?.streams.every((s) => s.position_at !== null));
  });

  it('serves the Exporters page shell to an analyst and lists it in the navigation', async () => {
    const page = await live.inject({ url: '/exporters', headers: bearer('analyst') });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<script type="module" src="\/assets\/js\/pages\/exporters\.js">/);
    assert.match(page.body, /<a href="\/exporters" aria-current="page">Exporters<\/a>/);
    const script = await live.inject({ url: '/assets/js/pages/exporters.js', headers: bearer('analyst') });
    assert.equal(script.statusCode, 200);
  });
});
