// /api/v1/backends over a real embedded store holding check reports (stored as the collector stores them)
// and audit events: the health matrix's states, "since", checks by state and real call errors computed
// from what was inserted; timeline, last check, subaccount scope; and the relay admin API behind the tunnel
// view and "Run check now", against a stand-in relay on loopback (the real relay is tested with it by the
// lead's end-to-end test): roles, the request the relay gets, the report stored and the admin events.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { readFindings } from '../../collector/detect/findings-store.js';
import { createCheckIngest } from '../../collector/diagnostics/state-changes.js';
import type { CheckReport } from '../../connector/diagnostics/types.js';
import { buildDashboardApp } from '../../dashboard/app.js';
import { trafficEvents } from '../helpers/audit-traffic.js';
import { checkReport, startRelayAdminStandin, type RelayAdminStandin } from '../helpers/backend-checks.js';
import { bearer, openTestStore, testDashboard, TEST_SETTINGS, type TestDashboard, type TestStore } from '../helpers/dashboard.js';

const MIN = 60_000;
const RELAY_TOKEN = 'relay-admin-token-for-tests';

interface Row {
  subaccount: string; virtual_host: string; state: string; classification: string; since: string; since_exact: boolean; last_check_id: string;
  checks: { up: number; degraded: number; down: number }; call_errors: Record<string, number>; call_errors_total: number;
  recommendation: { step: string; fix: string; classification: string } | null;
}
interface Matrix { backends: Row[]; totals: Record<string, number> }
interface History { bucket_seconds: number; points: { at: string; state: string; checks: number; duration_ms: number; check_id: string }[]; changes: { at: string; from: string; to: string }[] }

describe('backends API', () => {
  let ts: TestStore;
  let dash: TestDashboard;
  let relayApp: FastifyInstance;
  let relay: RelayAdminStandin;
  const now = Date.now();
  const range = `from=${new Date(now - 60 * MIN).toISOString()}&to=${new Date(now).toISOString()}`;
  const at = (minAgo: number): number => now - minAgo * MIN;
  const erp: CheckReport[] = [
    checkReport({ at: at(50) }),
    checkReport({ state: 'down', at: at(40) }),
    checkReport({ state: 'down', at: at(30) }),
    checkReport({ state: 'down', at: at(20) }),
  ];
  const crm = [checkReport({ virtual_host: 'crm.virtual:443', at: at(45) }), checkReport({ virtual_host: 'crm.virtual:443', at: at(15), duration_ms: 80 })];
  const shop = checkReport({ subaccount: 'globex', virtual_host: 'shop-erp.virtual:8000', state: 'degraded', expiring: { days_left: 9, valid_to: '2030-01-01T00:00:00.000Z' }, at: at(10) });
  const hr = checkReport({ subaccount: 'initech', virtual_host: 'hr.virtual:8000', at: now - 10 * 86_400_000 });
  const ancient = checkReport({ subaccount: 'initech', virtual_host: 'old.virtual:80', at: now - 40 * 86_400_000 });
  const load = Array.from({ length: 800 }, (_, i) => checkReport({ subaccount: 'initech', virtual_host: 'load.virtual:80', state: i === 400 ? 'down' : 'up', at: at(800 - i), duration_ms: 10 + (i % 7) }));
  const events = trafficEvents({ count: 1500, from: new Date(now - 70 * MIN), to: new Date(now - MIN), seed: 11, errorShare: 0.2 });

  const get = async <T>(url: string, token = 'viewer'): Promise<T> => {
    const r = await dash.app.inject({ url, headers: bearer(token) });
    assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
    return r.json<T>();
  };
  const matrix = (query = range, token = 'viewer') => get<Matrix>(`/api/v1/backends?${query}`, token);
  const row = (m: Matrix, sub: string, vh: string): Row => {
    const found = m.backends.find((b) => b.subaccount === sub && b.virtual_host === vh);
    assert.ok(found, `${sub}/${vh} in the matrix`);
    return found;
  };

  before(async () => {
    ts = await openTestStore();
    const ingest = createCheckIngest(ts.store, { audit: { record: async () => {} }, log: pino({ level: 'silent' }) });
    await ingest.ingest([...erp, ...crm, shop, hr, ancient, ...load]);
    await ts.store.insertAuditEvents(events);
    dash = await testDashboard(ts.store);
    relay = await startRelayAdminStandin(RELAY_TOKEN);
    writeFileSync(join(ts.dir, 'relay-admin.token'), `${RELAY_TOKEN}\n`);
    const settings = { ...TEST_SETTINGS, relay_admin: { url: relay.url, token_file: 'relay-admin.token', timeout_ms: 5000 } };
    relayApp = await buildDashboardApp({ ...dash.ctx, settings, configFile: join(ts.dir, 'dashboard.yaml') });
    await relayApp.ready();
  });
  after(async () => {
    await relayApp?.close();
    await dash?.app.close();
    await relay?.close();
    await ts?.close();
  });

  it('gives each checked mapping its last state, since when, and its checks by state in the range', async () => {
    const m = await matrix();
    const e = row(m, 'acme', 'erp.virtual:8000');
    assert.deepEqual([e.state, e.classification, e.last_check_id, e.since, e.since_exact], ['down', 'tcp_refused', erp[3]?.check_id, erp[1]?.started_at, true]);
    assert.deepEqual(e.checks, { up: 1, degraded: 0, down: 3 });
    assert.deepEqual(e.recommendation, { step: 'tcp', outcome: 'fail', classification: 'tcp_refused', message: 'connection refused at 10.0.0.5:8443', fix: 'Nothing listens there: check the internal port of the mapping or whether the service runs.' });
    const c = row(m, 'acme', 'crm.virtual:443');
    assert.deepEqual([c.state, c.since, c.since_exact, c.recommendation], ['up', crm[0]?.started_at, false, null]);
    const s = row(m, 'globex', 'shop-erp.virtual:8000');
    assert.deepEqual([s.state, s.recommendation?.classification], ['degraded', 'tls_expiring_soon']);
    // Checked 10 days ago: listed (within the 30-day lookback), but with no checks in the range.
    assert.deepEqual(row(m, 'initech', 'hr.virtual:8000').checks, { up: 0, degraded: 0, down: 0 });
    assert.ok(!m.backends.some((b) => b.virtual_host === 'old.virtual:80'), 'a mapping last checked 40 days ago is not listed');
    assert.deepEqual(m.totals, { up: 3, degraded: 1, down: 1 });
  });

  it('counts the real calls that failed in the range by error_type, per subaccount and virtual host:port', async () => {
    const from = now - 60 * MIN;
    const expected = (sub: string, host: string, port: number): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const ev of events) {
        if (ev.subaccount !== sub || ev.virtual_host !== host || ev.virtual_port !== port || ev.error_type === '' || Date.parse(ev.ts) < from) continue;
        out[ev.error_type] = (out[ev.error_type] ?? 0) + 1;
      }
      return out;
    };
    const m = await matrix();
    const want = expected('acme', 'erp.virtual', 8000);
    assert.ok(Object.keys(want).length >= 2, 'the traffic has errors of several types');
    assert.deepEqual(row(m, 'acme', 'erp.virtual:8000').call_errors, want);
    assert.equal(row(m, 'acme', 'erp.virtual:8000').call_errors_total, Object.values(want).reduce((a, b) => a + b, 0));
    assert.deepEqual(row(m, 'globex', 'shop-erp.virtual:8000').call_errors, expected('globex', 'shop-erp.virtual', 8000));
  });

  it('shows a scoped identity its own subaccounts only', async () => {
    const m = await matrix(range, 'analyst@acme');
    assert.deepEqual([...new Set(m.backends.map((b) => b.subaccount))], ['acme']);
    for (const url of [`/api/v1/backends?${range}&subaccount=globex`, `/api/v1/backends/history?${range}&subaccount=globex&virtual_host=shop-erp.virtual:8000`, '/api/v1/backends/last?subaccount=globex&virtual_host=shop-erp.virtual:8000']) {
      const r = await dash.app.inject({ url, headers: bearer('analyst@acme') });
      assert.equal(r.statusCode, 403, url);
    }
  });

  it('draws a mapping\'s timeline: one point per check with its state changes, or buckets over many checks', async () => {
    const h = await get<History>(`/api/v1/backends/history?${range}&subaccount=acme&virtual_host=ERP.virtual:8000`);
    assert.equal(h.bucket_seconds, 0);
    assert.deepEqual(h.points.map((p) => [p.check_id, p.state, p.duration_ms]), erp.map((r) => [r.check_id, r.state, r.duration_ms]));
    assert.deepEqual(h.changes, [{ at: erp[1]?.started_at, from: 'up', to: 'down' }]);
    const day = `from=${new Date(now - 24 * 60 * MIN).toISOString()}&to=${new Date(now).toISOString()}`;
    const b = await get<History>(`/api/v1/backends/history?${day}&subaccount=initech&virtual_host=load.virtual:80`);
    assert.equal(b.bucket_seconds, 300);
    assert.equal(b.points.reduce((n, p) => n + p.checks, 0), 800);
    const downAt = Date.parse(load[400]?.started_at ?? '');
    const worst = b.points.find((p) => Date.parse(p.at) <= downAt && downAt < Date.parse(p.at) + 300_000);
    assert.equal(worst?.state, 'down');
    assert.equal(b.points.filter((p) => p.state === 'down').length, 1);
  });

  it('returns the last check step by step, and null for a mapping never checked', async () => {
    const last = await get<{ report: CheckReport | null }>('/api/v1/backends/last?subaccount=acme&virtual_host=erp.virtual:8000');
    assert.deepEqual(last.report, erp[3]);
    assert.equal((await get<{ report: unknown }>('/api/v1/backends/last?subaccount=acme&virtual_host=nothing.virtual:1')).report, null);
  });

  it('answers 503 for the tunnel view and checks when relay_admin is not configured', async () => {
    for (const [method, url, token] of [['GET', '/api/v1/backends/tunnel', 'viewer'], ['POST', '/api/v1/backends/check', 'admin']] as const) {
      const r = await dash.app.inject({ method, url, headers: bearer(token), ...(method === 'POST' ? { payload: { subaccount: 'acme', virtual_host: 'erp.virtual:8000' } } : {}) });
      assert.deepEqual([r.statusCode, r.json<{ error: { code: string } }>().error.code], [503, 'TW_ERR_DASH_RELAY_ADMIN_UNCONFIGURED']);
    }
  });

  it('shows the relay\'s connector sessions within the caller\'s scope', async () => {
    const session = { location_id: '', remote_address: '192.0.2.10:51234', connected_since: new Date(now - 3600_000).toISOString(), rtt_ms: 3.5, open_streams: 2, reconnects: 1, last_error: '', last_error_at: '' };
    relay.connectors = [
      { ...session, connector_id: 'conn-dc1', subaccounts: ['acme', 'globex'] },
      { ...session, connector_id: 'conn-dc2', subaccounts: ['initech'], last_error: 'ping timeout', last_error_at: new Date(now - 600_000).toISOString() },
    ];
    const all = await relayApp.inject({ url: '/api/v1/backends/tunnel', headers: bearer('viewer') });
    assert.equal(all.statusCode, 200, all.body);
    assert.deepEqual(all.json<{ connectors: unknown[] }>().connectors, relay.connectors);
    const acme = await relayApp.inject({ url: '/api/v1/backends/tunnel', headers: bearer('analyst@acme') });
    assert.deepEqual(acme.json<{ connectors: { connector_id: string; subaccounts: string[] }[] }>().connectors.map((c) => [c.connector_id, c.subaccounts]), [['conn-dc1', ['acme']]]);
    assert.equal(relay.requests.at(-1)?.authorization, `Bearer ${RELAY_TOKEN}`);
  });

  it('refuses "Run check now" to a viewer and an analyst, and to an admin outside the subaccount\'s scope', async () => {
    const before = relay.requests.length;
    for (const token of ['viewer', 'analyst', 'admin@globex']) {
      const r = await relayApp.inject({ method: 'POST', url: '/api/v1/backends/check', headers: bearer(token), payload: { subaccount: 'acme', virtual_host: 'erp.virtual:8000' } });
      assert.deepEqual([r.statusCode, r.json<{ error: { code: string } }>().error.code], [403, 'TW_ERR_DASH_FORBIDDEN'], token);
    }
    assert.equal(relay.requests.length, before, 'the relay was never asked');
  });

  it('runs a check through the relay as the admin, stores the report with its state change, and records it', async () => {
    const eventsBefore = dash.adminEvents.length;
    const r = await relayApp.inject({ method: 'POST', url: '/api/v1/backends/check', headers: bearer('admin'), payload: { subaccount: 'acme', virtual_host: 'erp.virtual:8000' } });
    assert.equal(r.statusCode, 200, r.body);
    const { report, stored } = r.json<{ report: CheckReport; stored: { accepted: number; state_changes: number } }>();
    assert.deepEqual(relay.requests.at(-1)?.body, { subaccount: 'acme', virtual_host: 'erp.virtual:8000', requested_by: 'test-admin' });
    assert.deepEqual([report.state, report.trigger, report.requested_by], ['up', 'dashboard', 'test-admin']);
    assert.deepEqual(stored, { accepted: 1, state_changes: 1 });
    const last = await get<{ report: CheckReport }>('/api/v1/backends/last?subaccount=acme&virtual_host=erp.virtual:8000');
    assert.equal(last.report.check_id, report.check_id);
    assert.equal(row(await matrix(`from=${new Date(now - 60 * MIN).toISOString()}`), 'acme', 'erp.virtual:8000').state, 'up');
    const recovered = (await readFindings(ts.store, { detectors: ['backend_health'] })).find((f) => f.entity === 'acme/erp.virtual:8000' && f.severity === 'low');
    assert.deepEqual(recovered?.evidence.check_ids, [erp[3]?.check_id, report.check_id]);
    assert.deepEqual(dash.adminEvents.slice(eventsBefore).map((e) => [e.action, e.outcome, e.actor, e.target]), [
      ['backend.state_change', 'success', 'conn-dc1', 'acme/erp.virtual:8000'],
      ['backend.check', 'success', 'test-admin', 'acme/erp.virtual:8000'],
    ]);
  });

  it('passes on the relay\'s refusals: no such mapping (404), a connector too slow (504), a bad token (503)', async () => {
    const eventsBefore = dash.adminEvents.length;
    const post = () => relayApp.inject({ method: 'POST', url: '/api/v1/backends/check', headers: bearer('admin'), payload: { subaccount: 'acme', virtual_host: 'nope.virtual:1' } });
    relay.check = () => ({ status: 404, body: { code: 'no_mapping', message: 'connector conn-dc1 has no mapping nope.virtual:1 for acme' } });
    let r = await post();
    assert.deepEqual([r.statusCode, r.json<{ error: { code: string } }>().error.code], [404, 'TW_ERR_DASH_NOT_FOUND']);
    assert.match(r.json<{ error: { message: string } }>().error.message, /has no mapping nope\.virtual:1 for acme/);
    relay.check = () => ({ status: 504, body: { code: 'timeout', message: 'the connector did not answer within 30000 ms' } });
    r = await post();
    assert.deepEqual([r.statusCode, r.json<{ error: { code: string } }>().error.code], [504, 'TW_ERR_DASH_CHECK_TIMEOUT']);
    writeFileSync(join(ts.dir, 'relay-admin.token'), 'a-wrong-token\n');
    r = await post();
    assert.deepEqual([r.statusCode, r.json<{ error: { code: string } }>().error.code], [503, 'TW_ERR_DASH_RELAY_ADMIN_UNAVAILABLE']);
    assert.match(r.json<{ error: { message: string } }>().error.message, /refused the admin token \(401\)/);
    assert.doesNotMatch(r.body, /a-wrong-token/);
    writeFileSync(join(ts.dir, 'relay-admin.token'), `${RELAY_TOKEN}\n`);
    assert.deepEqual(dash.adminEvents.slice(eventsBefore).map((e) => [e.action, e.outcome]), [['backend.check', 'failure'], ['backend.check', 'failure'], ['backend.check', 'failure']]);
    await relay.close();
    r = await relayApp.inject({ url: '/api/v1/backends/tunnel', headers: bearer('viewer') });
    assert.deepEqual([r.statusCode, r.json<{ error: { code: string } }>().error.code], [503, 'TW_ERR_DASH_RELAY_ADMIN_UNAVAILABLE']);
    assert.match(r.json<{ error: { message: string } }>().error.message, /ECONNREFUSED/);
  });
});
