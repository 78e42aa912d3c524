// The dashboard end to end: Debian's Chromium (playwright-core) against a running `tunnelwatch demo`
// (relay, connector, collector with the dashboard, traffic at ~20 calls/s, LDAP at a real slapd). One demo
// and one browser for the whole file; each test signs in in a context (cookie jar) of its own. Screenshots
// of every page land in test-artifacts/screenshots/; console errors, script errors (a CSP violation is
// one) and unexpected HTTP errors of any page fail the last test.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { waitFor } from '../helpers/processes.js';
import { chartData, csvObjects, downloadOf, launchBrowser, pageFetch, parseCsv, SCREENSHOT_DIR, type ChartData, type TestBrowser } from '../helpers/browser.js';
import { DEMO_DENY_REASONS, DEMO_USERS, demoRelayId, demoRules, fillSignIn, signIn, startDemoDashboard, type DemoDashboard, type DemoUser } from './demo-dashboard.js';

let demo: DemoDashboard;
let tb: TestBrowser;
const runStart = new Date().toISOString();
const SUBACCOUNTS = ['acme', 'globex', 'initech'];
const GENERIC_LOGIN_ERROR = 'Wrong user name or password, or no dashboard role for this account.';

/** Each test's browser contexts, closed after it so that no page keeps refreshing in the background. */
const contexts: BrowserContext[] = [];

async function context(): Promise<BrowserContext> {
  const c = await tb.context();
  contexts.push(c);
  return c;
}

/** A page of a new context (no cookies), signed in as `user` on `path`. */
async function as(user: DemoUser, path = '/'): Promise<Page> {
  return signIn(await context(), demo.url, user, path);
}

const texts = (page: Page, selector: string): Promise<string[]> => page.locator(selector).allTextContents();

interface Overview {
  from: string;
  to: string;
  totals: { calls: number; allowed: number; denied: number; errors: number };
  subaccounts: { subaccount: string; calls: number }[];
  series: {
    buckets: string[]; calls: number[]; allowed: number[]; denied: number[]; errors: number[]; status_5xx: number[];
    latency_p50_us: (number | null)[]; latency_p95_us: (number | null)[]; latency_p99_us: (number | null)[];
    by_subaccount: { subaccount: string; other: boolean; calls: number[] }[];
  };
  top_denied: { rows: { subaccount: string; deny_reason: string }[] };
}

const CHARTS = ['calls-by-subaccount', 'allow-deny', 'latency', 'error-rate'] as const;
type ChartId = (typeof CHARTS)[number];

async function drawnCharts(page: Page): Promise<Record<ChartId, ChartData>> {
  const out: Partial<Record<ChartId, ChartData>> = {};
  for (const id of CHARTS) out[id] = await chartData(page, id);
  return out as Record<ChartId, ChartData>;
}

/** What each chart must draw for an answer, written out apart from the page's code: ms, %, labels. */
function expectedCharts(o: Overview): Record<ChartId, ChartData['datasets']> {
  const s = o.series;
  const ms = (v: (number | null)[]) => v.map((x) => (x === null ? null : Math.round(x / 10) / 100));
  const pct = (part: number[]) => part.map((p, i) => ((s.calls[i] ?? 0) === 0 ? null : Math.round((10_000 * p) / (s.calls[i] ?? 1)) / 100));
  return {
    'calls-by-subaccount': s.by_subaccount.map((l) => ({ label: l.other ? 'other subaccounts' : l.subaccount || '(none)', data: l.calls })),
    'allow-deny': [{ label: 'allowed', data: s.allowed }, { label: 'denied', data: s.denied }],
    latency: [{ label: 'p50', data: ms(s.latency_p50_us) }, { label: 'p95', data: ms(s.latency_p95_us) }, { label: 'p99', data: ms(s.latency_p99_us) }],
    'error-rate': [{ label: 'backend errors', data: pct(s.errors) }, { label: '5xx answers', data: pct(s.status_5xx) }],
  };
}

/**
 * The first difference between the charts drawn and an answer, or undefined. Counts must be equal;
 * latency quantiles within `slack` (a share): t-digests merged again after the store merges parts can
 * move a little.
 */
function chartsDiffer(drawn: Record<ChartId, ChartData>, o: Overview, slack: number): string | undefined {
  const expected = expectedCharts(o);
  for (const id of CHARTS) {
    if (drawn[id].labels.length !== o.series.buckets.length) return `${id}: ${drawn[id].labels.length} labels for ${o.series.buckets.length} buckets`;
    const want = expected[id];
    const got = drawn[id].datasets;
    if (JSON.stringify(got.map((d) => d.label)) !== JSON.stringify(want.map((d) => d.label))) return `${id}: series ${JSON.stringify(got.map((d) => d.label))}`;
    for (const [i, w] of want.entries()) {
      const g = got[i]?.data ?? [];
      const close = (a: number | null, b: number | null) => (a === null || b === null ? a === b : Math.abs(a - b) <= slack * Math.abs(b) + (id === 'latency' && slack > 0 ? 0.01 : 0));
      const off = w.data.findIndex((b, k) => !close(g[k] ?? null, b));
      if (g.length !== w.data.length || off >= 0) return `${id} / ${w.label}: drawn ${JSON.stringify(g)}, API ${JSON.stringify(w.data)}`;
    }
  }
  return undefined;
}

function hasDemoTraffic(o: Overview): boolean {
  const names = o.subaccounts.map((s) => s.subaccount);
  return SUBACCOUNTS.every((s) => names.includes(s)) && o.totals.calls > 0 && o.totals.denied > 0;
}

/** The answer adds up: buckets to totals, allowed + denied to calls, subaccount lines to calls. */
function assertConsistent(o: Overview): void {
  const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
  const s = o.series;
  assert.equal(sum(s.calls), o.totals.calls);
  assert.equal(sum(s.denied), o.totals.denied);
  s.calls.forEach((n, i) => {
    assert.equal((s.allowed[i] ?? 0) + (s.denied[i] ?? 0), n, `bucket ${s.buckets[i]}: allowed + denied`);
    assert.equal(sum(s.by_subaccount.map((l) => l.calls[i] ?? 0)), n, `bucket ${s.buckets[i]}: subaccount lines`);
  });
}

before(async () => {
  const [d, b] = await Promise.allSettled([startDemoDashboard(), launchBrowser()]);
  if (d.status === 'fulfilled') demo = d.value;
  if (b.status === 'fulfilled') tb = b.value;
  if (d.status === 'rejected') throw d.reason;
  if (b.status === 'rejected') throw b.reason;
});

after(async () => {
  await tb?.close();
  await demo?.stop();
});

beforeEach((t) => tb?.label(t.name));

afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
});

describe('dashboard in Chromium against the running demo', { timeout: 170_000 }, () => {
  it('signs a local user in from the page asked for, and the header shows who', async () => {
    const page = await (await context()).newPage();
    await page.goto(`${demo.url}/calls`);
    await page.waitForURL((u) => u.pathname === '/login' && u.searchParams.get('next') === '/calls');
    await page.getByTestId('username').waitFor();
    await tb.screenshot(page, 'login');
    await fillSignIn(page, DEMO_USERS.admin.username, DEMO_USERS.admin.password);
    await page.waitForURL((u) => u.pathname === '/calls');
    assert.equal(await page.getByTestId('who').textContent(), 'admin · admin');
    const me = await pageFetch<{ name: string; role: string; via: string }>(page, '/api/v1/session');
    assert.deepEqual([me.status, me.body.name, me.body.role, me.body.via], [200, 'admin', 'admin', 'local']);
  });

  it('signs an LDAP user in (alice, in soc-analysts, is an analyst)', async () => {
    const page = await as(DEMO_USERS.alice);
    assert.equal(await page.getByTestId('who').textContent(), 'alice · analyst');
    const me = await pageFetch<{ role: string; via: string; subaccounts: unknown }>(page, '/api/v1/session');
    assert.deepEqual([me.body.role, me.body.via, me.body.subaccounts], ['analyst', 'ldap', '*']);
  });

  it('shows one generic error for a wrong password, an unknown user and a wrong LDAP password, and signs nobody in', async () => {
    const page = await (await context()).newPage();
    await page.goto(`${demo.url}/login`);
    for (const [username, password] of [['admin', 'not-the-password'], ['nobody-here', 'whatever'], ['alice', 'not-alices-password']]) {
      const answer = page.waitForResponse((r) => r.url().endsWith('/api/v1/session') && r.request().method() === 'POST');
      await fillSignIn(page, username as string, password as string);
      assert.equal((await answer).status(), 401, `${username}: 401`);
      await page.getByTestId('login-error').waitFor({ state: 'visible' });
      assert.equal(await page.getByTestId('login-error').textContent(), GENERIC_LOGIN_ERROR, username);
      assert.equal(new URL(page.url()).pathname, '/login');
    }
    assert.equal((await pageFetch(page, '/api/v1/session')).status, 401, 'nobody is signed in');
  });

  it('shows a subaccount (acme) with its cloud apps, principals and backends', async () => {
    const page = await as(DEMO_USERS.viewer, '/subaccounts');
    const link = page.locator('[data-testid="subaccounts"] a[href="/subaccounts/acme"]');
    await link.waitFor({ timeout: 20_000 });
    const listed = await texts(page, '[data-testid="subaccounts"] tbody tr td:first-child');
    for (const s of SUBACCOUNTS) assert.ok(listed.includes(s), `${s} listed: ${listed.join(', ')}`);
    await tb.screenshot(page, 'subaccounts');

    await link.click();
    await page.waitForURL((u) => u.pathname === '/subaccounts/acme');
    await page.locator('[data-testid="subaccount-apps"] tbody tr td:not(.empty)').first().waitFor({ timeout: 20_000 });
    const api = await pageFetch<{ apps: { rows: { cloud_app: string }[] }; backends: { rows: { virtual_host: string; virtual_port: number; internal_host: string; internal_port: number }[] } }>(page, '/api/v1/subaccounts/acme');
    const apps = await texts(page, '[data-testid="subaccount-apps"] tbody tr td:first-child');
    assert.deepEqual([...apps].sort(), api.body.apps.rows.map((r) => r.cloud_app).sort());
    assert.deepEqual([...apps].sort(), ['analytics', 'erp-portal'], 'the demo\'s two acme apps');
    const principals = (await texts(page, '[data-testid="subaccount-principals"] tbody')).join(' ');
    assert.match(principals, /alice@acme\.example/);
    const backends = (await texts(page, '[data-testid="subaccount-backends"] tbody')).join(' ');
    for (const b of api.body.backends.rows) {
      assert.ok(backends.includes(`${b.virtual_host}:${b.virtual_port}`) && backends.includes(`${b.internal_host}:${b.internal_port}`), `backend ${b.virtual_host} shown`);
    }
    assert.match(backends, /erp\.virtual:8000/);
    assert.match(backends, /quotes\.virtual:7000/);
    await tb.screenshot(page, 'subaccount');
  });

  it('filters calls (acme, denied) in the explorer and exports exactly that set as CSV and NDJSON', async () => {
    const page = await as(DEMO_USERS.analyst, '/calls');
    await page.locator('[data-testid="calls-table"] tr.call').first().waitFor({ timeout: 20_000 });
    await page.getByTestId('filter-subaccount').fill('acme');
    await page.getByTestId('filter-decision').selectOption('deny'); // a list applies the whole form at once
    const rows = await waitFor(async () => {
      const href = await page.getByTestId('export-csv').getAttribute('href') ?? '';
      if (!href.includes('decision=deny') || !href.includes('subaccount=acme')) return undefined;
      const shown = await page.locator('[data-testid="calls-table"] tr.call').evaluateAll((trs) =>
        trs.map((tr) => ({ id: tr.getAttribute('data-event-id') ?? '', subaccount: tr.children[1]?.textContent ?? '', decision: tr.children[8]?.textContent ?? '' })));
      // No such call yet in the demo's first seconds: apply again (the explorer does not refresh by itself).
      if (shown.length === 0 && /^0 calls/.test(await page.getByTestId('calls-summary').textContent() ?? '')) await page.getByTestId('apply-filters').click();
      return shown.length > 0 && shown.every((r) => r.subaccount === 'acme' && r.decision === 'deny') ? shown : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500, message: 'the explorer showing only denied acme calls' });
    assert.ok(new URL(page.url()).searchParams.get('decision') === 'deny', 'the filters are in the URL');
    await page.locator('[data-testid="calls-table"] tr.call').first().click();
    await page.getByTestId('call-detail').waitFor();
    await tb.screenshot(page, 'calls');

    // The page fixed its relative range when the filters were applied: the export names that from/to.
    const href = new URL(await page.getByTestId('export-csv').getAttribute('href') ?? '', demo.url);
    const from = href.searchParams.get('from') ?? '';
    const to = href.searchParams.get('to') ?? '';
    assert.ok(from && to && Date.parse(to) - Date.parse(from) === 3_600_000, `a fixed hour: ${from} .. ${to}`);
    const list = `/api/v1/calls?subaccount=acme&decision=deny&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&limit=1`;
    let previous = -1;
    const total = await waitFor(async () => {
      const n = (await pageFetch<{ total: number }>(page, list)).body.total;
      const settled = n === previous && n > 0;
      previous = n;
      return settled ? n : undefined;
    }, { timeoutMs: 20_000, intervalMs: 1500, message: 'the API total of the filter settling (late events of the range stored)' });

    const csv = await downloadOf(page, () => page.getByTestId('export-csv').click());
    const ndjson = await downloadOf(page, () => page.getByTestId('export-ndjson').click());
    assert.match(csv.name, /\.csv$/);
    assert.match(ndjson.name, /\.ndjson$/);
    const fromCsv = csvObjects(parseCsv(csv.text));
    const fromNdjson = ndjson.text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const [name, exported] of [['CSV', fromCsv], ['NDJSON', fromNdjson]] as const) {
      assert.equal(exported.length, total, `${name}: as many calls as the API counts`);
      for (const e of exported) {
        assert.equal(e.subaccount, 'acme', `${name}: ${String(e.event_id)}`);
        assert.equal(e.decision, 'deny', `${name}: ${String(e.event_id)}`);
        assert.ok(String(e.ts) >= from && String(e.ts) < to, `${name}: ${String(e.ts)} in range`);
      }
    }
    const ids = new Set(fromNdjson.map((e) => e.event_id));
    assert.deepEqual(new Set(fromCsv.map((e) => e.event_id)), ids, 'CSV and NDJSON hold the same calls');
    for (const r of rows) assert.ok(ids.has(r.id), `shown call ${r.id} exported`);
    assert.equal((await pageFetch<{ total: number }>(page, list)).body.total, total, 'the range was complete when exported');
  });

  it('opens a call\'s trace: a waterfall of relay and connector spans with the latency phases', async () => {
    await waitFor(() => Date.now() - demo.startedAt > 20_000, { timeoutMs: 20_000, message: '20 s of demo traffic' });
    // Calls of a fixed range that ended 10 s ago, so that their spans have been shipped too.
    const to = new Date(Date.now() - 10_000).toISOString();
    const from = new Date(demo.startedAt - 60_000).toISOString();
    const page = await as(DEMO_USERS.analyst, `/calls?subaccount=acme&decision=allow&path_prefix=/api/orders&from=${from}&to=${to}`);
    const first = page.locator('[data-testid="calls-table"] tr.call').first();
    await first.waitFor({ timeout: 20_000 });
    await first.click();
    const open = page.getByTestId('open-trace');
    const traceId = (await open.getAttribute('href'))?.split('/').pop() ?? '';
    assert.match(traceId, /^[0-9a-f]{32}$/);
    const trace = await waitFor(async () => {
      const t = (await pageFetch<{ spans: { service: string }[]; phases: { phase: string }[] }>(page, `/api/v1/traces/${traceId}`)).body;
      return t.spans.length >= 3 ? t : undefined;
    }, { timeoutMs: 20_000, intervalMs: 500, message: `the spans of trace ${traceId} stored` });
    await open.click();
    await page.waitForURL((u) => u.pathname === `/traces/${traceId}`);
    await page.getByTestId('waterfall').waitFor();
    assert.equal(await page.getByTestId('trace-id').textContent(), traceId);
    const lanes = await texts(page, '[data-testid="waterfall"] .name a');
    assert.equal(lanes.length, trace.spans.length, `one line per span: ${lanes.join(' | ')}`);
    assert.ok(lanes.some((l) => l.startsWith('relay · ')), 'a relay span');
    assert.ok(lanes.filter((l) => l.startsWith('connector · ')).length >= 2, 'the connector\'s server and backend-client spans');
    for (const phase of ['relay', 'tunnel', 'backend_connect', 'backend_ttfb']) {
      const time = await page.locator(`[data-testid="trace-phases"] tr[data-phase="${phase}"] td.num`).textContent();
      assert.match(time ?? '', /^\d[\d.]* (µs|ms|s)$/, `phase ${phase} measured: ${time}`);
      assert.equal(await page.locator(`[data-testid="waterfall"] .mark[data-phase="${phase}"]`).count(), 1, `phase ${phase} drawn`);
    }
    assert.equal(await page.locator('[data-testid="trace-audit-events"] tbody tr').count(), 1, 'the call\'s audit event');
    await tb.screenshot(page, 'trace');
  });

  it('lists the demo connector\'s rules with acme-invoices suspended, and every emitter\'s chain as ok', async () => {
    const rules = demoRules();
    const page = await as(DEMO_USERS.viewer, '/rules');
    await page.locator('[data-testid="rules-table"] tr[data-rule]').first().waitFor({ timeout: 20_000 });
    const listed = await page.locator('[data-testid="rules-table"] tr[data-rule]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-rule') ?? ''));
    assert.deepEqual([...listed].sort(), rules.ids, 'every rule of connector.yaml, once');
    for (const id of rules.ids) {
      const status = await page.locator(`[data-testid="rules-table"] tr[data-rule="${id}"] td:nth-child(5)`).textContent() ?? '';
      assert.equal(status.includes('suspended'), rules.suspended.includes(id), `${id}: ${status}`);
    }
    assert.deepEqual(rules.suspended, ['acme-invoices']);
    assert.match(await page.locator('[data-testid="rules-table"] tr[data-rule="acme-orders"]').textContent() ?? '', /in use/);
    await tb.screenshot(page, 'rules');

    await page.goto(`${demo.url}/integrity`);
    const wanted = [rules.connectorId, demoRelayId()];
    const states = await waitFor(async () => {
      const rows = await page.locator('[data-testid="integrity-table"] tr[data-emitter]').evaluateAll((trs) =>
        trs.map((tr) => [tr.getAttribute('data-emitter') ?? '', tr.querySelector('[data-testid="integrity-status"]')?.textContent ?? ''] as const));
      return wanted.every((w) => rows.some(([e]) => e === w)) && rows.every(([, s]) => s === 'ok') ? rows : undefined;
    }, { timeoutMs: 20_000, intervalMs: 500, message: `integrity rows for ${wanted.join(', ')}, all ok` });
    assert.ok(states.some(([e]) => e.startsWith('dashboard@')), 'the dashboard\'s admin trail');
    await tb.screenshot(page, 'integrity');
  });

  it('lets an admin create an API token, use it, revoke it, and read this run\'s sign-ins', async () => {
    const page = await as(DEMO_USERS.admin, '/admin');
    const name = `e2e-${Date.now()}`;
    await page.getByTestId('token-name').fill(name);
    await page.getByTestId('token-role').selectOption('viewer');
    await page.getByTestId('create-token').click();
    const token = await page.getByTestId('new-token').inputValue({ timeout: 10_000 });
    assert.match(token, /^tw_[A-Za-z0-9_-]{43}$/);
    const withToken = (path: string) => fetch(`${demo.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const overview = await withToken('/api/v1/overview');
    assert.equal(overview.status, 200);
    assert.ok(((await overview.json()) as { totals: { calls: number } }).totals.calls > 0, 'the token reads the overview');
    assert.equal((await withToken('/api/v1/calls')).status, 403, 'a viewer token may not list calls');

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByTestId(`revoke-${name}`).click();
    await page.locator('[data-testid="tokens"] tr', { hasText: name }).getByText('revoked').waitFor({ timeout: 10_000 });
    const refused = await withToken('/api/v1/overview');
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'TW_ERR_DASH_UNAUTHENTICATED');

    const events = (await pageFetch<{ events: { action: string; target: string; via: string; reason: string }[] }>(page,
      `/api/v1/admin/events?from=${encodeURIComponent(runStart)}&limit=200&offset=0`)).body.events;
    const seen = (action: string, target: string, via = '') => events.some((e) => e.action === action && e.target === target && (via === '' || e.via === via));
    assert.ok(seen('login.success', 'admin', 'local') && seen('login.success', 'alice', 'ldap'), 'local and LDAP sign-ins');
    assert.ok(events.some((e) => e.action === 'login.failure' && e.target === 'admin' && e.reason.startsWith('wrong_password')), 'the wrong password');
    assert.ok(events.some((e) => e.action === 'login.failure' && e.target === 'nobody-here' && e.reason.startsWith('unknown_user')), 'the unknown user');
    assert.ok(seen('token.create', name) && seen('token.revoke', name), 'the token\'s creation and revocation');

    await page.reload();
    const log = await waitFor(async () => {
      const rows = await texts(page, '[data-testid="admin-events"] tbody tr');
      return rows.length > 1 ? rows : undefined;
    }, { timeoutMs: 10_000, message: 'the sign-in log on the page' });
    for (const [what, who] of [['Signed in', 'alice'], ['Sign-in refused', 'nobody-here'], ['Token revoked', name]] as const) {
      assert.ok(log.some((r) => r.includes(what) && r.includes(who)), `"${what}" of ${who} in the sign-in log: ${log.slice(0, 5).join(' | ')}`);
    }
    await tb.screenshot(page, 'admin');
  });

  it('shows a token change in the sign-in log as soon as it is made', async () => {
    const page = await as(DEMO_USERS.admin, '/admin');
    await page.locator('[data-testid="admin-events"]').waitFor();
    const asked: string[] = [];
    page.on('request', (r) => void (new URL(r.url()).pathname === '/api/v1/admin/events' && asked.push(new URL(r.url()).searchParams.get('to') ?? '')));
    const name = `e2e-log-${Date.now()}`;
    await page.getByTestId('token-name').fill(name);
    await page.getByTestId('create-token').click();
    await page.getByTestId('new-token').waitFor();
    const made = new Date().toISOString();
    // The page reloads the log on a token change (and otherwise every 30 s): well within 10 s.
    const shown = await waitFor(async () => (await texts(page, '[data-testid="admin-events"] tbody tr')).some((r) => r.includes('Token created') && r.includes(name)), {
      timeoutMs: 10_000,
      intervalMs: 250,
    }).catch(() => false);
    assert.ok(shown, `"Token created" of ${name} not in the log 10 s after the change at ${made}; the log's reloads asked for events up to to=${asked.join(', ') || '(no reload)'}`);
  });

  it('refuses a viewer what only an analyst or admin may do, and shows acme-viewer only acme', async () => {
    const page = await as(DEMO_USERS.viewer);
    const nav = await texts(page, 'header nav a');
    assert.deepEqual(nav, ['Overview', 'Subaccounts', 'Backends', 'Access rules', 'Audit integrity']);
    tb.allowHttpError(page, 403, /^\/(admin|calls)$|^\/api\/v1\/tokens$/);
    for (const [path, title] of [['/admin', 'Administration'], ['/calls', 'Calls']]) {
      const response = await page.goto(`${demo.url}${path}`);
      assert.equal(response?.status(), 403, path);
      assert.equal(await page.locator('main h1').textContent(), 'Not allowed');
      assert.match(await page.locator('main .notice').textContent() ?? '', new RegExp(`${title} needs the (analyst|admin) role; you are signed in as viewer`));
      if (path === '/admin') await tb.screenshot(page, 'forbidden');
    }
    const { body: session } = await pageFetch<{ csrf_token: string }>(page, '/api/v1/session');
    const post = await pageFetch<{ error: { code: string } }>(page, '/api/v1/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf_token },
      body: JSON.stringify({ name: 'viewer-made', role: 'admin' }),
    });
    assert.deepEqual([post.status, post.body.error.code], [403, 'TW_ERR_DASH_FORBIDDEN']);

    const acme = await as(DEMO_USERS.acmeViewer);
    tb.allowHttpError(acme, 403, /^\/api\/v1\/overview$/);
    const chart = await waitFor(async () => {
      const labels = await acme.evaluate(() => (globalThis as unknown as { __twCharts?: Record<string, { data: { datasets: { label: string }[] } }> })
        .__twCharts?.['calls-by-subaccount']?.data.datasets.map((d) => d.label));
      return labels && labels.length > 0 ? labels : undefined;
    }, { timeoutMs: 15_000, message: 'acme-viewer\'s calls chart' });
    assert.deepEqual(chart, ['acme']);
    const menu = await acme.getByTestId('subaccount-filter').locator('option').evaluateAll((os) => os.map((o) => o.getAttribute('value') ?? ''));
    assert.deepEqual(menu, ['', 'acme']);
    const api = await pageFetch<{ subaccounts: { subaccount: string }[] }>(acme, '/api/v1/overview');
    assert.deepEqual(api.body.subaccounts.map((s) => s.subaccount), ['acme']);
    assert.equal((await pageFetch(acme, '/api/v1/overview?subaccount=globex')).status, 403);
  });

  // Last: its fixed-range comparison needs a whole minute of traffic behind it, which the tests above give.
  it('draws the overview charts from the API\'s real data of the demo\'s traffic', { timeout: 120_000 }, async () => {
    const page = await as(DEMO_USERS.analyst, '/subaccounts');
    const answers: Overview[] = [];
    const asked: URLSearchParams[] = [];
    page.on('request', (r) => void (new URL(r.url()).pathname === '/api/v1/overview' && asked.push(new URL(r.url()).searchParams)));
    page.on('response', (r) => {
      if (new URL(r.url()).pathname === '/api/v1/overview' && r.status() === 200) void r.json().then((o: Overview) => answers.push(o), () => undefined);
    });

    // Live, as a person sees it: the page asks for the last hour up to now, and redraws every 10 s.
    await page.goto(`${demo.url}/`);
    const live = await waitFor(async () => {
      const last = answers[answers.length - 1];
      if (!last || !hasDemoTraffic(last)) return undefined;
      return chartsDiffer(await drawnCharts(page), last, 0) === undefined ? last : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500, message: 'the live overview drawing the latest API answer, with calls of acme, globex and initech and some denied' });
    const first = asked[0];
    assert.ok(first, 'the page asked the API');
    const span = Date.parse(first.get('to') ?? '') - Date.parse(first.get('from') ?? '');
    assert.equal(span, 3_600_000, 'the default range is the last hour');
    assert.ok(Math.abs(Date.parse(live.to) - Date.now()) < 60_000, 'a live range ends now');
    await tb.screenshot(page, 'overview');

    // A fixed range that ended a whole minute ago: the API's answer no longer changes, so the charts of
    // the page and a fetch of the same range must agree exactly.
    const minute = await waitFor(() => {
      const m = Math.floor((Date.now() - 5_000) / 60_000) * 60_000;
      return m >= demo.startedAt + 10_000 ? m : undefined;
    }, { timeoutMs: 80_000, intervalMs: 1000, message: 'a minute boundary 10 s into the demo\'s traffic and 5 s behind us' });
    const from = new Date(minute - 3_600_000).toISOString();
    const to = new Date(minute).toISOString();
    let previous = '';
    await waitFor(async () => {
      const o = (await pageFetch<Overview>(page, `/api/v1/overview?from=${from}&to=${to}`)).body;
      const key = JSON.stringify([o.totals, o.series.calls, o.series.by_subaccount]);
      const same = key === previous;
      previous = key;
      return same;
    }, { timeoutMs: 20_000, intervalMs: 1500, message: 'the overview of the fixed range settling' });
    const request = page.waitForRequest((r) => new URL(r.url()).pathname === '/api/v1/overview');
    await page.goto(`${demo.url}/?from=${from}&to=${to}`);
    const query = new URL((await request).url()).searchParams;
    assert.deepEqual([query.get('from'), query.get('to')], [from, to], 'the page asks for the range in its URL');
    const drawn = await drawnCharts(page);
    const api = (await pageFetch<Overview>(page, `/api/v1/overview?${query}`)).body;
    assert.equal(chartsDiffer(drawn, api, 0.1), undefined);
    assert.ok(hasDemoTraffic(api), `the demo's subaccounts with denied calls: ${JSON.stringify(api.totals)}`);
    assertConsistent(api);
    const seconds = (minute - demo.startedAt) / 1000;
    assert.ok(api.totals.calls >= 5 * seconds && api.totals.calls <= 25 * (seconds + 5), `${api.totals.calls} calls in ${seconds} s of ~20 calls/s`);
    const reasons = new Set(api.top_denied.rows.map((r) => r.deny_reason));
    assert.deepEqual([...reasons].filter((r) => !DEMO_DENY_REASONS.includes(r)), [], 'only the refusals the demo provokes');
    await page.getByTestId('stat-calls').filter({ hasText: /\d/ }).waitFor();
    assert.equal(await page.getByTestId('stat-calls').textContent(), api.totals.calls.toLocaleString('en-US'));
    assert.equal(await page.getByTestId('stat-denied').textContent(), api.totals.denied.toLocaleString('en-US'));
  });

  it('saw no console error, script error or unexpected HTTP error, and screenshotted every page', () => {
    assert.deepEqual(tb.problems, []);
    const pages = ['login', 'overview', 'subaccounts', 'subaccount', 'calls', 'trace', 'rules', 'integrity', 'admin', 'forbidden'];
    assert.deepEqual(pages.filter((p) => !existsSync(join(SCREENSHOT_DIR, `${p}.png`))), [], 'screenshots missing');
  });
});
