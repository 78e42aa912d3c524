// The Backends page in Chromium: a dashboard on a store holding check reports (stored as the collector
// stores them) and real-call audit events, with a stand-in relay admin API on loopback. An admin sees the
// health matrix, the timeline drawn from the checks, the last check step by step, the real call errors and
// the tunnel sessions, and runs a check that turns a down backend up; a viewer sees the same page without
// "Run check now" and is refused the check.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { createCheckIngest } from '../../collector/diagnostics/state-changes.js';
import { hashPassword } from '../../dashboard/auth/password.js';
import { startDashboard, type RunningDashboard } from '../../dashboard/dashboard.js';
import { trafficEvents } from '../helpers/audit-traffic.js';
import { checkReport, startRelayAdminStandin, type RelayAdminStandin } from '../helpers/backend-checks.js';
import { chartData, launchBrowser, pageFetch, type TestBrowser } from '../helpers/browser.js';
import { openTestStore, TEST_SETTINGS, type TestStore } from '../helpers/dashboard.js';
import { fillSignIn } from './demo-dashboard.js';

const MIN = 60_000;
const TOKEN = 'e2e-relay-admin-token';

describe('Backends page in Chromium', { timeout: 150_000 }, () => {
  let ts: TestStore;
  let dashboard: RunningDashboard;
  let relay: RelayAdminStandin;
  let tb: TestBrowser;
  let base = '';
  const now = Date.now();
  const erp = [
    checkReport({ at: now - 50 * MIN, duration_ms: 35 }),
    checkReport({ state: 'down', at: now - 40 * MIN, duration_ms: 3 }),
    checkReport({ state: 'down', at: now - 30 * MIN, duration_ms: 4 }),
  ];
  const others = [
    checkReport({ virtual_host: 'crm.virtual:443', internal_host: '10.0.0.9:443', at: now - 20 * MIN }),
    checkReport({ subaccount: 'globex', virtual_host: 'shop-erp.virtual:8000', internal_host: '10.1.0.7:8080', state: 'degraded', expiring: { days_left: 9, valid_to: '2030-01-01T00:00:00.000Z' }, at: now - 10 * MIN }),
  ];
  const events = trafficEvents({ count: 600, from: new Date(now - 50 * MIN), to: new Date(now - MIN), seed: 5, errorShare: 0.25 });

  before(async () => {
    ts = await openTestStore();
    await createCheckIngest(ts.store, { audit: { record: async () => {} }, log: pino({ level: 'silent' }) }).ingest([...erp, ...others]);
    await ts.store.insertAuditEvents(events);
    relay = await startRelayAdminStandin(TOKEN);
    relay.connectors = [{
      connector_id: 'conn-dc1', location_id: '', subaccounts: ['acme', 'globex'], remote_address: '192.0.2.10:51234',
      connected_since: new Date(now - 3 * 3_600_000).toISOString(), rtt_ms: 2.4, open_streams: 3, reconnects: 1,
      last_error: 'keepalive: ping timeout', last_error_at: new Date(now - 4 * 3_600_000).toISOString(),
    }];
    writeFileSync(join(ts.dir, 'relay-admin.token'), TOKEN);
    const cheap = { N: 1024, r: 8, p: 1 };
    const users = [
      { name: 'adam', role: 'admin' as const, password_hash: await hashPassword('adam-pw', cheap) },
      { name: 'vera', role: 'viewer' as const, password_hash: await hashPassword('vera-pw', cheap) },
    ];
    dashboard = await startDashboard({ ...TEST_SETTINGS, users, relay_admin: { url: relay.url, token_file: 'relay-admin.token', timeout_ms: 10_000 } },
      ts.store, join(ts.dir, 'collector.yaml'), pino({ level: 'silent' }));
    base = dashboard.url.replace(/\/$/, '');
    tb = await launchBrowser();
  });
  after(async () => {
    await tb?.close();
    await dashboard?.close();
    await relay?.close();
    await ts?.close();
  });

  const signIn = async (user: string, password: string, path: string) => {
    const page = await (await tb.context()).newPage();
    await page.goto(`${base}${path}`);
    await page.waitForURL((u) => u.pathname === '/login');
    await fillSignIn(page, user, password);
    await page.waitForURL((u) => u.pathname === '/backends');
    return page;
  };

  it('shows an admin the matrix, the timeline from the checks, the failing step\'s fix, call errors and the tunnel; runs a check', async () => {
    tb.label('admin');
    const page = await signIn('adam', 'adam-pw', '/backends?subaccount=acme&virtual_host=erp.virtual:8000');
    const cells = page.getByTestId('backend-cell');
    await cells.first().waitFor();
    const matrix = await cells.evaluateAll((els) => els.map((e) => [e.getAttribute('data-key'), e.getAttribute('data-state')]));
    assert.deepEqual(matrix, [['acme/crm.virtual:443', 'up'], ['acme/erp.virtual:8000', 'down'], ['globex/shop-erp.virtual:8000', 'degraded']]);
    assert.equal(await page.getByTestId('stat-down').textContent(), '1');

    const chart = await chartData(page, 'backend-timeline');
    assert.deepEqual(chart.datasets.map((d) => d.label), ['up', 'degraded', 'down']);
    assert.deepEqual(chart.datasets.map((d) => d.data), [[35, null, null], [null, null, null], [null, 3, 4]]);
    assert.equal(chart.labels.length, 3);

    const steps = page.getByTestId('check-steps');
    await steps.waitFor();
    const stepText = await steps.textContent() ?? '';
    assert.match(stepText, /connection refused at 10\.0\.0\.5:8443/);
    assert.match(stepText, /Nothing listens there: check the internal port of the mapping or whether the service runs\./);
    const errors = await page.getByTestId('call-errors').locator('tbody tr').allTextContents();
    const expected = new Map<string, number>();
    for (const e of events) if (e.subaccount === 'acme' && e.virtual_host === 'erp.virtual' && e.error_type && Date.parse(e.ts) >= now - 24 * 60 * MIN) expected.set(e.error_type, (expected.get(e.error_type) ?? 0) + 1);
    assert.deepEqual(errors.map((t) => t.replace(/\s+/g, ' ').trim()).sort(), [...expected].map(([t, n]) => `${t}${n}`).sort());
    assert.match(await page.getByTestId('recommendations').textContent() ?? '', /Renew the backend certificate before it expires/);
    await page.getByTestId('tunnel-table').locator('tbody tr').first().waitFor();
    assert.match(await page.getByTestId('tunnel-table').textContent() ?? '', /conn-dc1.*192\.0\.2\.10:51234.*2\.4 ms.*keepalive: ping timeout/s);
    await tb.screenshot(page, 'backends');

    await page.getByTestId('run-check').click();
    await page.getByTestId('run-check-result').filter({ hasText: /up: reachable in 42 ms/ }).waitFor();
    await page.locator('[data-testid="backend-cell"][data-key="acme/erp.virtual:8000"][data-state="up"]').waitFor();
    assert.deepEqual(relay.requests.filter((r) => r.path === '/admin/v1/check').map((r) => r.body), [{ subaccount: 'acme', virtual_host: 'erp.virtual:8000', location_id: '', requested_by: 'adam' }]);
    await page.waitForFunction(() => ((globalThis as unknown as { __twCharts: Record<string, { data: { labels: unknown[] } }> }).__twCharts['backend-timeline']?.data.labels.length ?? 0) === 4);
    const after = await chartData(page, 'backend-timeline');
    assert.deepEqual(after.datasets[0]?.data, [35, null, null, 42]);

    // The outage and the recovery are findings on the Findings page too.
    await page.goto(`${base}/findings`);
    const rows = page.locator('[data-testid="findings-table"] tbody tr', { hasText: 'backend_health' });
    await rows.first().waitFor();
    const titles = await rows.locator('a[data-finding]').allTextContents();
    assert.deepEqual(titles.sort(), [
      'Backend erp.virtual:8000 in acme is reachable again',
      'Backend erp.virtual:8000 in acme was down for 40 min: tcp_refused',
      'TLS certificate of 10.1.0.7:8080 (shop-erp.virtual:8000 in globex) expires in 9 days',
    ]);
    await rows.locator('a[data-finding]', { hasText: 'was down' }).click();
    assert.match(await page.getByTestId('finding-explanation').textContent() ?? '', /connection refused at 10\.0\.0\.5:8443.*Down since .*It recovered at/s);
    await tb.screenshot(page, 'findings-backend');
    assert.deepEqual(tb.problems, []);
  });

  it('shows a viewer the page without "Run check now", and refuses the check', async () => {
    tb.label('viewer');
    const page = await signIn('vera', 'vera-pw', '/backends');
    await page.getByTestId('backend-cell').first().waitFor();
    await page.getByTestId('check-steps').waitFor();
    assert.equal(await page.getByTestId('run-check').count(), 0);
    tb.allowHttpError(page, 403, /^\/api\/v1\/backends\/check$/);
    const { body: session } = await pageFetch<{ csrf_token: string }>(page, '/api/v1/session');
    const post = await pageFetch<{ error: { code: string } }>(page, '/api/v1/backends/check', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf_token },
      body: JSON.stringify({ subaccount: 'acme', virtual_host: 'erp.virtual:8000' }),
    });
    assert.deepEqual([post.status, post.body.error.code], [403, 'TW_ERR_DASH_FORBIDDEN']);
    assert.equal(relay.requests.filter((r) => r.path === '/admin/v1/check').length, 1, 'only the admin\'s check reached the relay');
    await tb.screenshot(page, 'backends-viewer');
    assert.deepEqual(tb.problems, []);
  });
});
