// The Findings page in Chromium: a dashboard on a store holding crafted findings (the detectors have
// their own tests; this checks what an analyst sees and can do with a finding), signed in as a local
// analyst: the list, severity filter, one finding's explanation and evidence, and its link to the calls.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { hashPassword } from '../../dashboard/auth/password.js';
import { startDashboard, type RunningDashboard } from '../../dashboard/dashboard.js';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { openTestStore, TEST_SETTINGS, type TestStore } from '../helpers/dashboard.js';
import { craftedFindings, storeFindings } from '../helpers/findings.js';
import { fillSignIn } from './demo-dashboard.js';

describe('Findings page in Chromium', { timeout: 120_000 }, () => {
  let ts: TestStore;
  let dashboard: RunningDashboard;
  let tb: TestBrowser;

  before(async () => {
    ts = await openTestStore();
    await storeFindings(ts.store, craftedFindings(Date.now()));
    const users = [{ name: 'anna', role: 'analyst' as const, password_hash: await hashPassword('anna-pw', { N: 1024, r: 8, p: 1 }) }];
    dashboard = await startDashboard({ ...TEST_SETTINGS, users }, ts.store, join(ts.dir, 'collector.yaml'), pino({ level: 'silent' }));
    tb = await launchBrowser();
  });
  after(async () => {
    await tb?.close();
    await dashboard?.close();
    await ts?.close();
  });

  it('lists findings, filters by severity, explains one and links to its calls', async () => {
    const page = await (await tb.context()).newPage();
    const base = dashboard.url.replace(/\/$/, '');
    await page.goto(`${base}/findings`);
    await page.waitForURL((u) => u.pathname === '/login');
    await fillSignIn(page, 'anna', 'anna-pw');
    await page.waitForURL((u) => u.pathname === '/findings');
    const rows = page.locator('[data-testid="findings-table"] tbody tr');
    await rows.first().waitFor();
    // The default range (24 h) holds the four recent findings, not the 3-day-old one.
    assert.equal(await rows.count(), 4);
    const severities = await page.locator('[data-testid="findings-table"] [data-testid="severity"]').allTextContents();
    assert.deepEqual([...severities].sort(), ['critical', 'high', 'low', 'medium']);

    await page.getByTestId('min-severity').selectOption('high');
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } })
      .document.querySelectorAll('[data-testid="findings-table"] tbody tr').length === 2);
    assert.match(page.url(), /min_severity=high/);

    await page.locator('a[data-finding="f-acme-deny-burst"]').click();
    const explanation = page.getByTestId('finding-explanation');
    await explanation.waitFor();
    assert.match(await explanation.textContent() ?? '', /212 denied calls in 10 minutes; baseline median 3/);
    assert.match(await page.getByTestId('finding-evidence').textContent() ?? '', /baseline_mad/);
    assert.equal(await page.getByTestId('finding-samples').textContent(), '01a2-aaaa, 01a2-bbbb');
    await tb.screenshot(page, 'findings');

    const href = await page.getByTestId('finding-calls').getAttribute('href');
    const url = new URL(href ?? '', base);
    assert.equal(url.pathname, '/calls');
    assert.deepEqual(
      { subaccount: url.searchParams.get('subaccount'), cloud_app: url.searchParams.get('cloud_app'), decision: url.searchParams.get('decision') },
      { subaccount: 'acme', cloud_app: 'erp-portal', decision: 'deny' },
    );
    await page.getByTestId('finding-calls').click();
    await page.waitForURL((u) => u.pathname === '/calls');
    await page.getByTestId('calls-table').waitFor();
    assert.deepEqual(tb.problems, []);
  });
});
