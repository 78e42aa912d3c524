// GET /api/v1/subaccounts and /api/v1/subaccounts/:name over a real embedded store, checked against counts
// made in JS from the inserted events.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent } from '../../common/audit/event.js';
import { bearer, openTestStore, testDashboard, type TestDashboard, type TestStore } from '../helpers/dashboard.js';
import { trafficEvents } from '../helpers/audit-traffic.js';

interface Seen { calls: number; denied: number; errors: number; status_5xx: number; last_seen: string }
interface ListRow { subaccount: string; calls: number; allowed: number; denied: number; errors: number; apps: number; principals: number; last_seen: string | null; p95_us: number | null }
interface Detail {
  subaccount: string;
  last_seen: string | null;
  totals: { calls: number; allowed: number; denied: number; errors: number; status_5xx: number; bytes_out: number };
  latency_us: { calls: number; p50: number; p95: number; p99: number };
  usage: { buckets: string[]; calls: number[]; allowed: number[]; denied: number[]; errors: number[]; latency_p95_us: (number | null)[] };
  apps: { total: number; rows: (Seen & { cloud_app: string; principals: number })[] };
  principals: { total: number; rows: (Seen & { principal: string; apps: string[] })[] };
  backends: { total: number; rows: (Seen & { virtual_host: string; virtual_port: number; internal_host: string; internal_port: number; p95_us: number | null })[] };
  resources: { total: number; rows: (Seen & { rule_id: string; virtual_host: string; virtual_port: number; prefixes: (Seen & { prefix: string })[] })[] };
}

const HOUR = 3_600_000;
const T0 = new Date(Math.floor(Date.now() / HOUR) * HOUR - 5 * HOUR);
const T1 = new Date(T0.getTime() + HOUR);
const RANGE = `from=${T0.toISOString()}&to=${T1.toISOString()}`;

function seen(events: readonly AuditEvent[]): Seen {
  return {
    calls: events.length,
    denied: events.filter((e) => e.decision === 'deny').length,
    errors: events.filter((e) => e.error_type !== '').length,
    status_5xx: events.filter((e) => e.status >= 500).length,
    last_seen: events.map((e) => e.ts).sort().at(-1) ?? '',
  };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = m.get(k);
    if (list) list.push(item);
    else m.set(k, [item]);
  }
  return m;
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
const prefixOf = (path: string): string => path.split('/').slice(0, 3).join('/');

describe('subaccounts API', () => {
  let ts: TestStore;
  let dash: TestDashboard;
  let events: AuditEvent[];
  let acme: AuditEvent[];

  const get = async (url: string, token = 'viewer') => dash.app.inject({ method: 'GET', url, headers: bearer(token) });
  const json = async <T>(url: string, token = 'viewer'): Promise<T> => {
    const response = await get(url, token);
    assert.equal(response.statusCode, 200, response.body);
    return response.json<T>();
  };

  before(async () => {
    ts = await openTestStore();
    events = trafficEvents({ count: 2500, from: T0, to: T1, seed: 77, errorShare: 0.06 });
    acme = events.filter((e) => e.subaccount === 'acme');
    await ts.store.insertAuditEvents(events);
    await ts.store.insertAuditEvents(trafficEvents({ count: 300, from: T1, to: new Date(T1.getTime() + HOUR), seed: 78, emitterId: 'connector-after' }));
    dash = await testDashboard(ts.store);
  });
  after(async () => {
    await dash?.app.close();
    await ts?.close();
  });

  it('lists each subaccount with its calls, refusals, errors, apps, principals and last call', async () => {
    const list = await json<{ total: number; subaccounts: ListRow[] }>(`/api/v1/subaccounts?${RANGE}`);
    assert.equal(list.total, 3);
    assert.deepEqual(list.subaccounts.map((s) => s.subaccount), ['acme', 'globex', 'initech']);
    for (const row of list.subaccounts) {
      const mine = events.filter((e) => e.subaccount === row.subaccount);
      const want = seen(mine);
      assert.deepEqual(
        { calls: row.calls, denied: row.denied, errors: row.errors, last_seen: row.last_seen },
        { calls: want.calls, denied: want.denied, errors: want.errors, last_seen: want.last_seen }, row.subaccount);
      assert.equal(row.allowed, want.calls - want.denied);
      assert.equal(row.apps, new Set(mine.map((e) => e.cloud_app)).size);
      assert.equal(row.principals, new Set(mine.map((e) => e.principal).filter((p) => p !== '')).size);
      assert.ok(row.p95_us !== null && row.p95_us > 0);
    }
    const one = await json<{ total: number; subaccounts: ListRow[] }>(`/api/v1/subaccounts?${RANGE}&limit=1`);
    assert.equal(one.total, 3);
    assert.deepEqual(one.subaccounts.map((s) => s.subaccount), ['acme']);
  });

  it('gives one subaccount its totals and usage per bucket, summing to the totals', async () => {
    const d = await json<Detail>(`/api/v1/subaccounts/acme?${RANGE}`);
    const want = seen(acme);
    assert.equal(d.subaccount, 'acme');
    assert.deepEqual(
      { calls: d.totals.calls, denied: d.totals.denied, errors: d.totals.errors, status_5xx: d.totals.status_5xx },
      { calls: want.calls, denied: want.denied, errors: want.errors, status_5xx: want.status_5xx });
    assert.equal(d.totals.bytes_out, sum(acme.map((e) => e.bytes_out)));
    assert.equal(d.last_seen, want.last_seen);
    assert.equal(d.usage.buckets.length, 60);
    assert.equal(sum(d.usage.calls), d.totals.calls);
    assert.equal(sum(d.usage.allowed), d.totals.allowed);
    assert.equal(sum(d.usage.denied), d.totals.denied);
    assert.equal(sum(d.usage.errors), d.totals.errors);
    const durations = acme.filter((e) => e.decision === 'allow').map((e) => e.duration_us);
    const { p50, p95, p99 } = d.latency_us;
    assert.ok(Math.min(...durations) <= p50 && p50 <= p95 && p95 <= p99 && p99 <= Math.max(...durations));
  });

  it('lists its cloud apps and principals with their own figures', async () => {
    const d = await json<Detail>(`/api/v1/subaccounts/acme?${RANGE}`);
    const apps = groupBy(acme, (e) => e.cloud_app);
    assert.equal(d.apps.total, apps.size);
    assert.equal(d.apps.rows.length, apps.size);
    for (const row of d.apps.rows) {
      const mine = apps.get(row.cloud_app) ?? [];
      assert.deepEqual({ calls: row.calls, denied: row.denied, errors: row.errors, status_5xx: row.status_5xx, last_seen: row.last_seen }, seen(mine), row.cloud_app);
      assert.equal(row.principals, new Set(mine.map((e) => e.principal).filter((p) => p !== '')).size);
    }
    const principals = groupBy(acme, (e) => e.principal);
    assert.equal(d.principals.total, principals.size);
    for (const row of d.principals.rows) {
      const mine = principals.get(row.principal) ?? [];
      assert.deepEqual({ calls: row.calls, denied: row.denied, errors: row.errors, status_5xx: row.status_5xx, last_seen: row.last_seen }, seen(mine), row.principal);
      assert.deepEqual(row.apps, [...new Set(mine.map((e) => e.cloud_app))].sort());
    }
    const calls = d.principals.rows.map((r) => r.calls);
    assert.deepEqual(calls, [...calls].sort((a, b) => b - a), 'busiest first');
  });

  it('lists its backends (virtual -> internal) and resources with their top path prefixes', async () => {
    const d = await json<Detail>(`/api/v1/subaccounts/acme?${RANGE}`);
    const backends = groupBy(acme, (e) => `${e.virtual_host}:${e.virtual_port}`);
    assert.equal(d.backends.total, backends.size);
    for (const row of d.backends.rows) {
      const mine = backends.get(`${row.virtual_host}:${row.virtual_port}`) ?? [];
      const mapped = mine.find((e) => e.internal_host !== '');
      assert.deepEqual({ calls: row.calls, denied: row.denied, errors: row.errors, status_5xx: row.status_5xx, last_seen: row.last_seen }, seen(mine));
      assert.equal(`${row.internal_host}:${row.internal_port}`, `${mapped?.internal_host}:${mapped?.internal_port}`);
    }
    const resources = groupBy(acme, (e) => `${e.rule_id} ${e.virtual_host}:${e.virtual_port}`);
    assert.equal(d.resources.total, resources.size);
    assert.ok(d.resources.rows.some((r) => r.rule_id === 'acme-orders'));
    for (const row of d.resources.rows) {
      const mine = resources.get(`${row.rule_id} ${row.virtual_host}:${row.virtual_port}`) ?? [];
      assert.deepEqual({ calls: row.calls, denied: row.denied, errors: row.errors, status_5xx: row.status_5xx, last_seen: row.last_seen }, seen(mine));
      const prefixes = groupBy(mine, (e) => prefixOf(e.path));
      assert.equal(row.prefixes.length, Math.min(5, prefixes.size));
      for (const p of row.prefixes) assert.equal(p.calls, prefixes.get(p.prefix)?.length, `${row.rule_id} ${p.prefix}`);
      if (row.rule_id === 'acme-orders') assert.deepEqual(row.prefixes.map((p) => p.prefix), ['/api/orders']);
    }
  });

  it('cuts each list to `limit` rows and says how many there were', async () => {
    const d = await json<Detail>(`/api/v1/subaccounts/acme?${RANGE}&limit=2`);
    const principals = new Set(acme.map((e) => e.principal));
    assert.ok(principals.size > 2);
    assert.equal(d.principals.rows.length, 2);
    assert.equal(d.principals.total, principals.size);
    assert.equal(d.resources.rows.length, 2);
  });

  it('scopes the list and the detail to the caller', async () => {
    const list = await json<{ total: number; subaccounts: ListRow[] }>(`/api/v1/subaccounts?${RANGE}`, 'analyst@acme');
    assert.deepEqual(list.subaccounts.map((s) => s.subaccount), ['acme']);
    assert.equal(list.total, 1);
    const own = await json<Detail>(`/api/v1/subaccounts/acme?${RANGE}`, 'analyst@acme');
    assert.equal(own.totals.calls, acme.length);
    const other = await get(`/api/v1/subaccounts/globex?${RANGE}`, 'analyst@acme');
    assert.equal(other.statusCode, 403);
    assert.equal(other.json<{ error: { code: string } }>().error.code, 'TW_ERR_DASH_FORBIDDEN');
  });

  it('answers a range or subaccount without calls with zeros and empty lists', async () => {
    const from = new Date(T0.getTime() - 10 * HOUR);
    const quiet = `from=${from.toISOString()}&to=${new Date(from.getTime() + HOUR).toISOString()}`;
    const list = await json<{ total: number; subaccounts: ListRow[] }>(`/api/v1/subaccounts?${quiet}`);
    assert.deepEqual(list.subaccounts, []);
    assert.equal(list.total, 0);
    for (const url of [`/api/v1/subaccounts/acme?${quiet}`, `/api/v1/subaccounts/nobody?${RANGE}`]) {
      const d = await json<Detail>(url);
      assert.equal(d.totals.calls, 0, url);
      assert.equal(d.last_seen, null);
      assert.equal(d.latency_us.p95, 0);
      assert.ok(d.usage.calls.every((n) => n === 0) && d.usage.latency_p95_us.every((n) => n === null));
      for (const l of [d.apps, d.principals, d.backends, d.resources]) assert.deepEqual(l, { total: 0, rows: [] });
    }
  });

  it('refuses a bad range with TW_ERR_DASH_BAD_REQUEST', async () => {
    for (const url of [
      `/api/v1/subaccounts?from=${T1.toISOString()}&to=${T0.toISOString()}`,
      '/api/v1/subaccounts?to=not-a-time',
      `/api/v1/subaccounts/acme?from=${T1.toISOString()}&to=${T0.toISOString()}`,
      '/api/v1/subaccounts/acme?from=2026-02-30Tnoon',
      `/api/v1/subaccounts/acme?${RANGE}&limit=100000`,
    ]) {
      const response = await get(url);
      assert.equal(response.statusCode, 400, url);
      assert.equal(response.json<{ error: { code: string } }>().error.code, 'TW_ERR_DASH_BAD_REQUEST', url);
    }
  });
});
