// GET /api/v1/findings and /api/v1/findings/:id over a real embedded store holding crafted findings:
// range overlap, filters, scope (a tenant's analyst never sees another tenant's or cross-tenant
// findings), the calls-explorer filter behind each finding, and refusals.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, openTestStore, testDashboard, type TestDashboard, type TestStore } from '../helpers/dashboard.js';
import { craftedFindings, storeFindings } from '../helpers/findings.js';

interface Answer {
  findings: { finding_id: string; severity: string; subaccount: string; evidence: Record<string, unknown>; calls_filter: Record<string, string> }[];
  by_severity: Record<string, number>;
  by_detector: Record<string, number>;
}

describe('findings API', () => {
  let ts: TestStore;
  let dash: TestDashboard;
  const now = Date.now();
  const lastHour = `from=${new Date(now - 3_600_000).toISOString()}&to=${new Date(now).toISOString()}`;
  const get = (url: string, token = 'analyst') => dash.app.inject({ url, headers: bearer(token) });
  const list = async (query: string, token = 'analyst'): Promise<Answer> => {
    const r = await get(`/api/v1/findings?${query}`, token);
    assert.equal(r.statusCode, 200, r.body);
    return r.json<Answer>();
  };

  before(async () => {
    ts = await openTestStore();
    await storeFindings(ts.store, craftedFindings(now));
    dash = await testDashboard(ts.store);
  });
  after(async () => {
    await dash?.app.close();
    await ts?.close();
  });

  it('lists the findings whose window overlaps the range, newest window first', async () => {
    const a = await list(lastHour);
    assert.deepEqual(a.findings.map((f) => f.finding_id), ['f-cross-ip', 'f-acme-first-seen', 'f-acme-deny-burst', 'f-globex-exfil']);
    assert.deepEqual(a.by_severity, { medium: 1, low: 1, high: 1, critical: 1 });
    assert.equal(a.by_detector.deny_burst, 1);
    const week = await list(`from=${new Date(now - 7 * 86_400_000).toISOString()}&to=${new Date(now).toISOString()}`);
    assert.ok(week.findings.some((f) => f.finding_id === 'f-old'), 'a 3-day-old finding is in the last week');
  });

  it('filters by least severity and by subaccount', async () => {
    assert.deepEqual((await list(`${lastHour}&min_severity=high`)).findings.map((f) => f.finding_id), ['f-acme-deny-burst', 'f-globex-exfil']);
    assert.deepEqual((await list(`${lastHour}&subaccount=acme`)).findings.map((f) => f.finding_id), ['f-acme-first-seen', 'f-acme-deny-burst']);
    assert.deepEqual((await list(`${lastHour}&detector=exfiltration`)).findings.map((f) => f.finding_id), ['f-globex-exfil']);
  });

  it('gives each finding the calls-explorer filter of the calls behind it', async () => {
    const burst = (await list(lastHour)).findings.find((f) => f.finding_id === 'f-acme-deny-burst');
    assert.ok(burst);
    assert.equal(burst.calls_filter.subaccount, 'acme');
    assert.equal(burst.calls_filter.cloud_app, 'erp-portal');
    assert.equal(burst.calls_filter.decision, 'deny');
    assert.equal(burst.calls_filter.from, new Date(now - 40 * 60_000).toISOString());
    assert.deepEqual(burst.evidence.sample_event_ids, ['01a2-aaaa', '01a2-bbbb']);
    // The filter is one the explorer accepts.
    const q = new URLSearchParams(burst.calls_filter).toString();
    assert.equal((await get(`/api/v1/calls?${q}`)).statusCode, 200);
  });

  it('shows a scoped analyst its own subaccounts only, never cross-subaccount findings', async () => {
    const a = await list(lastHour, 'analyst@acme');
    assert.deepEqual(a.findings.map((f) => f.finding_id), ['f-acme-first-seen', 'f-acme-deny-burst']);
    assert.equal((await get(`/api/v1/findings?${lastHour}&subaccount=globex`, 'analyst@acme')).statusCode, 403);
    assert.equal((await get('/api/v1/findings/f-globex-exfil', 'analyst@acme')).statusCode, 404);
    assert.equal((await get('/api/v1/findings/f-cross-ip', 'analyst@acme')).statusCode, 404);
    assert.equal((await get('/api/v1/findings/f-acme-deny-burst', 'analyst@acme')).statusCode, 200);
  });

  it('refuses viewers, unknown ids and bad input clearly', async () => {
    assert.equal((await get(`/api/v1/findings?${lastHour}`, 'viewer')).statusCode, 403);
    assert.equal((await dash.app.inject({ url: '/api/v1/findings' })).statusCode, 401);
    const unknown = await get('/api/v1/findings/f-nope');
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json<{ error: { code: string } }>().error.code, 'TW_ERR_DASH_NOT_FOUND');
    assert.equal((await get('/api/v1/findings/bad%20id')).statusCode, 400);
    assert.equal((await get(`/api/v1/findings?${lastHour}&min_severity=extreme`)).statusCode, 400);
    assert.equal((await get(`/api/v1/findings?${lastHour}&nonsense=1`)).statusCode, 400);
  });
});
