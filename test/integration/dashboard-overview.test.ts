// GET /api/v1/overview over a real embedded store: every figure is checked against counts made in JS from
// the events that were inserted.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent } from '../../common/audit/event.js';
import { bearer, openTestStore, testDashboard, type TestDashboard, type TestStore } from '../helpers/dashboard.js';
import { trafficEvents } from '../helpers/audit-traffic.js';

interface Overview {
  totals: Record<'calls' | 'allowed' | 'denied' | 'errors' | 'status_5xx' | 'bytes_in' | 'bytes_out' | 'subaccounts', number> & { error_rate: number; deny_rate: number };
  latency_us: { calls: number; p50: number; p90: number; p95: number; p99: number };
  subaccounts: { subaccount: string; calls: number; denied: number; errors: number }[];
  bucket_seconds: number;
  series: {
    buckets: string[];
    calls: number[];
    allowed: number[];
    denied: number[];
    errors: number[];
    status_5xx: number[];
    latency_p50_us: (number | null)[];
    latency_p95_us: (number | null)[];
    latency_p99_us: (number | null)[];
    by_subaccount: { subaccount: string; other: boolean; calls: number[] }[];
  };
  top_backends: { total: number; rows: { subaccount: string; virtual_host: string; virtual_port: number; internal_host: string; internal_port: number; calls: number; errors: number; p95_us: number | null }[] };
  top_denied: { total: number; rows: { subaccount: string; cloud_app: string; virtual_host: string; virtual_port: number; path: string; deny_reason: string; calls: number }[] };
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// Whole hours a little in the past: inside every retention, and the rollups count whole minutes.
const T0 = new Date(Math.floor(Date.now() / HOUR) * HOUR - 4 * HOUR);
const T1 = new Date(T0.getTime() + HOUR);
const RANGE = `from=${T0.toISOString()}&to=${T1.toISOString()}`;

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const item of items) m.set(key(item), (m.get(key(item)) ?? 0) + 1);
  return m;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function figures(events: readonly AuditEvent[]) {
  return {
    calls: events.length,
    denied: events.filter((e) => e.decision === 'deny').length,
    errors: events.filter((e) => e.error_type !== '').length,
    status_5xx: events.filter((e) => e.status >= 500).length,
    bytes_in: sum(events.map((e) => e.bytes_in)),
    bytes_out: sum(events.map((e) => e.bytes_out)),
  };
}

describe('overview API', () => {
  let ts: TestStore;
  let dash: TestDashboard;
  let inRange: AuditEvent[];
  let spread: AuditEvent[];

  const get = async (url: string, token = 'viewer') => dash.app.inject({ method: 'GET', url, headers: bearer(token) });
  const overview = async (query: string, token = 'viewer'): Promise<Overview> => {
    const response = await get(`/api/v1/overview?${query}`, token);
    assert.equal(response.statusCode, 200, response.body);
    return response.json<Overview>();
  };

  before(async () => {
    ts = await openTestStore();
    inRange = trafficEvents({ count: 3000, from: T0, to: T1, seed: 41, errorShare: 0.06 });
    // An hour later, from another emitter: outside every range below except the wide one.
    const later = trafficEvents({ count: 400, from: new Date(T1.getTime() + HOUR), to: new Date(T1.getTime() + 2 * HOUR), seed: 42, emitterId: 'connector-later' });
    await ts.store.insertAuditEvents(inRange);
    await ts.store.insertAuditEvents(later);
    // A re-delivery: the store keeps each event once, so the rollups must not count these again.
    await ts.store.insertAuditEvents(inRange.slice(0, 500));
    // Three hours earlier, ten subaccounts of 100 calls each: more than the calls chart draws on their own.
    const many = trafficEvents({ count: 1000, from: new Date(T0.getTime() - 3 * HOUR), to: new Date(T0.getTime() - 2 * HOUR), seed: 43, emitterId: 'connector-many' });
    await ts.store.insertAuditEvents(many.map((e, i) => ({ ...e, subaccount: `t${i % 10}` })));
    // Five weeks of traffic ending nine days before T0 (outside every range above): read through every
    // grain of the rollups, days to minutes.
    spread = trafficEvents({ count: 3000, from: new Date(T0.getTime() - 44 * DAY), to: new Date(T0.getTime() - 9 * DAY), seed: 44, emitterId: 'connector-spread' });
    await ts.store.insertAuditEvents(spread);
    dash = await testDashboard(ts.store);
  });
  after(async () => {
    await dash?.app.close();
    await ts?.close();
  });

  it('totals equal the counts of the inserted events in the range', async () => {
    const o = await overview(RANGE);
    const want = figures(inRange);
    assert.deepEqual(
      { calls: o.totals.calls, denied: o.totals.denied, errors: o.totals.errors, status_5xx: o.totals.status_5xx, bytes_in: o.totals.bytes_in, bytes_out: o.totals.bytes_out },
      want,
    );
    assert.ok(want.denied > 100 && want.errors > 50, 'the data has refusals and errors to count');
    assert.equal(o.totals.allowed, want.calls - want.denied);
    assert.equal(o.totals.subaccounts, 3);
    assert.equal(o.totals.error_rate, want.errors / want.calls);
    for (const s of o.subaccounts) {
      const mine = figures(inRange.filter((e) => e.subaccount === s.subaccount));
      assert.deepEqual({ calls: s.calls, denied: s.denied, errors: s.errors }, { calls: mine.calls, denied: mine.denied, errors: mine.errors }, s.subaccount);
    }
    assert.deepEqual(o.subaccounts.map((s) => s.subaccount), ['acme', 'globex', 'initech'], 'busiest first');
  });

  it('reads the hourly rollup for long ranges, with the same figures per hour', async () => {
    // Eight days, ending two hours after T1: buckets of whole hours, so audit_hour is read.
    const from = new Date(T1.getTime() + 2 * HOUR - 8 * 24 * HOUR);
    const o = await overview(`from=${from.toISOString()}&to=${new Date(T1.getTime() + 2 * HOUR).toISOString()}`);
    assert.ok(o.bucket_seconds >= 3600 && o.bucket_seconds % 3600 === 0, `bucket ${o.bucket_seconds}`);
    const since = { from: from.toISOString().replace('T', ' ').replace('Z', '') };
    const all = await ts.store.query<{ n: string }>("SELECT count() AS n FROM audit_events FINAL WHERE ts >= {from:DateTime64(3, 'UTC')}", since);
    assert.equal(o.totals.calls, Number(all[0]?.n), 'every stored event of these eight days');
    assert.equal(o.totals.calls, inRange.length + 1400);
    assert.equal(sum(o.series.calls), o.totals.calls);
    // Per subaccount, the hourly rollup agrees with the events themselves.
    const raw = await ts.store.query<{ subaccount: string; n: string; d: string }>(
      "SELECT subaccount, count() AS n, countIf(decision = 'deny') AS d FROM audit_events FINAL WHERE ts >= {from:DateTime64(3, 'UTC')} GROUP BY subaccount", since);
    for (const r of raw) {
      const got = o.subaccounts.find((x) => x.subaccount === r.subaccount);
      assert.deepEqual({ calls: got?.calls, denied: got?.denied }, { calls: Number(r.n), denied: Number(r.d) }, r.subaccount);
    }
    // The hour of T0 holds exactly the events of the one-hour range.
    const i = o.series.buckets.findIndex((b) => Date.parse(b) <= T0.getTime() && T0.getTime() < Date.parse(b) + o.bucket_seconds * 1000);
    assert.ok(i >= 0);
    if (o.bucket_seconds === 3600) assert.equal(o.series.calls[i], inRange.length);
    const { p50, p99 } = o.latency_us;
    assert.ok(p50 > 0 && p50 <= p99, JSON.stringify(o.latency_us));
  });

  it('is exact to the minute over weeks: days, quarter days, hours, quarter hours and minutes add up', async () => {
    // Not aligned to anything: the range is widened to whole minutes, and nothing more.
    const from = new Date(T0.getTime() - 43 * DAY + 2 * HOUR + 7 * 60_000 + 30_000);
    const to = new Date(T0.getTime() - 9 * DAY - 5 * HOUR - 29 * 60_000 - 50_000);
    const o = await overview(`from=${from.toISOString()}&to=${to.toISOString()}&limit=5`);
    assert.equal(o.bucket_seconds, 6 * 3600);
    const lo = Math.floor(from.getTime() / 60_000) * 60_000;
    const hi = Math.ceil(to.getTime() / 60_000) * 60_000;
    const mine = spread.filter((e) => Date.parse(e.ts) >= lo && Date.parse(e.ts) < hi);
    assert.ok(mine.length > 2000 && mine.length < spread.length, 'the range cuts the data at both ends');
    const want = figures(mine);
    assert.deepEqual({ calls: o.totals.calls, denied: o.totals.denied, errors: o.totals.errors, status_5xx: o.totals.status_5xx, bytes_in: o.totals.bytes_in, bytes_out: o.totals.bytes_out }, want);
    const perBucket = countBy(mine, (e) => new Date(Math.floor(Date.parse(e.ts) / (o.bucket_seconds * 1000)) * o.bucket_seconds * 1000).toISOString());
    assert.deepEqual(o.series.calls, o.series.buckets.map((b) => perBucket.get(b) ?? 0));
    assert.equal(o.latency_us.calls, want.calls - want.denied);
    assert.ok(o.latency_us.p50 > 0 && o.latency_us.p50 <= o.latency_us.p99);
    // The top lists over the same minutes.
    const reached = mine.filter((e) => e.internal_host !== '');
    const byBackend = countBy(reached, (e) => `${e.subaccount} ${e.virtual_host}:${e.virtual_port} ${e.internal_host}:${e.internal_port}`);
    assert.equal(o.top_backends.total, byBackend.size);
    for (const row of o.top_backends.rows) {
      assert.equal(row.calls, byBackend.get(`${row.subaccount} ${row.virtual_host}:${row.virtual_port} ${row.internal_host}:${row.internal_port}`));
    }
    assert.equal(o.top_backends.rows[0]?.calls, Math.max(...byBackend.values()));
    const resource = (r: { subaccount: string; cloud_app: string; virtual_host: string; virtual_port: number; path: string; deny_reason: string }): string =>
      JSON.stringify([r.subaccount, r.cloud_app, r.virtual_host, r.virtual_port, r.path, r.deny_reason]);
    const byResource = countBy(mine.filter((e) => e.decision === 'deny'), resource);
    assert.equal(o.top_denied.total, byResource.size);
    assert.equal(o.top_denied.rows.length, 5);
    for (const row of o.top_denied.rows) assert.equal(row.calls, byResource.get(resource(row)), resource(row));
    assert.equal(o.top_denied.rows[0]?.calls, Math.max(...byResource.values()));
    // One subaccount, and a scoped viewer: the same figures from the per-subaccount rows.
    const globex = await overview(`from=${from.toISOString()}&to=${to.toISOString()}&subaccount=globex`);
    assert.equal(globex.totals.calls, mine.filter((e) => e.subaccount === 'globex').length);
    const acme = await overview(`from=${from.toISOString()}&to=${to.toISOString()}`, 'analyst@acme');
    assert.equal(acme.totals.calls, mine.filter((e) => e.subaccount === 'acme').length);
    assert.equal(acme.latency_us.calls, mine.filter((e) => e.subaccount === 'acme' && e.decision === 'allow').length);
  });

  it('splits the range into one-minute buckets whose figures sum to the totals', async () => {
    const o = await overview(RANGE);
    assert.equal(o.bucket_seconds, 60);
    assert.equal(o.series.buckets.length, 60);
    assert.equal(o.series.buckets[0], T0.toISOString());
    const perMinute = countBy(inRange, (e) => new Date(Math.floor(Date.parse(e.ts) / 60_000) * 60_000).toISOString());
    assert.deepEqual(o.series.calls, o.series.buckets.map((b) => perMinute.get(b) ?? 0));
    assert.equal(sum(o.series.calls), o.totals.calls);
    assert.equal(sum(o.series.denied), o.totals.denied);
    assert.equal(sum(o.series.allowed), o.totals.allowed);
    assert.equal(sum(o.series.errors), o.totals.errors);
    assert.equal(sum(o.series.status_5xx), o.totals.status_5xx);
    // The stacked chart: its series add up to the calls of each bucket, and each is its subaccount's count.
    o.series.calls.forEach((n, i) => assert.equal(sum(o.series.by_subaccount.map((s) => s.calls[i] ?? 0)), n, `bucket ${i}`));
    for (const line of o.series.by_subaccount) {
      assert.equal(line.other, false);
      assert.equal(sum(line.calls), inRange.filter((e) => e.subaccount === line.subaccount).length, line.subaccount);
    }
  });

  it('reports latency quantiles of allowed calls in order and within the measured durations', async () => {
    const o = await overview(RANGE);
    const durations = inRange.filter((e) => e.decision === 'allow').map((e) => e.duration_us);
    const min = Math.min(...durations);
    const max = Math.max(...durations);
    const { p50, p90, p95, p99, calls } = o.latency_us;
    assert.equal(calls, durations.length);
    assert.ok(min <= p50 && p50 <= p90 && p90 <= p95 && p95 <= p99 && p99 <= max, JSON.stringify({ min, p50, p90, p95, p99, max }));
    // The t-digest is approximate; the median of this data is still far from its ends.
    const sorted = [...durations].sort((a, b) => a - b);
    const exactMedian = sorted[Math.floor(sorted.length / 2)] ?? 0;
    assert.ok(Math.abs(p50 - exactMedian) / exactMedian < 0.15, `p50 ${p50} vs exact ${exactMedian}`);
    o.series.latency_p50_us.forEach((q50, i) => {
      const q95 = o.series.latency_p95_us[i];
      const q99 = o.series.latency_p99_us[i];
      if (q50 === null || q95 === null || q99 === null || q50 === undefined || q95 === undefined || q99 === undefined) return;
      assert.ok(min <= q50 && q50 <= q95 && q95 <= q99 && q99 <= max, `bucket ${i}`);
    });
  });

  it('lists the top backends with their calls and errors', async () => {
    const o = await overview(`${RANGE}&limit=2`);
    const reached = inRange.filter((e) => e.internal_host !== '');
    const byBackend = countBy(reached, (e) => `${e.subaccount} ${e.virtual_host}:${e.virtual_port} ${e.internal_host}:${e.internal_port}`);
    const ranked = [...byBackend.entries()].sort((a, b) => b[1] - a[1]);
    assert.equal(o.top_backends.total, byBackend.size);
    assert.equal(o.top_backends.rows.length, 2);
    o.top_backends.rows.forEach((row, i) => {
      const key = `${row.subaccount} ${row.virtual_host}:${row.virtual_port} ${row.internal_host}:${row.internal_port}`;
      assert.equal(row.calls, ranked[i]?.[1], key);
      assert.equal(row.calls, byBackend.get(key));
      const errors = reached.filter((e) => `${e.subaccount} ${e.virtual_host}:${e.virtual_port} ${e.internal_host}:${e.internal_port}` === key && e.error_type !== '').length;
      assert.equal(row.errors, errors, key);
      assert.ok(row.p95_us !== null && row.p95_us > 0);
    });
  });

  it('lists the top denied resources with their refusal counts', async () => {
    const o = await overview(`${RANGE}&limit=5`);
    const denied = inRange.filter((e) => e.decision === 'deny');
    const key = (r: { subaccount: string; cloud_app: string; virtual_host: string; virtual_port: number; path: string; deny_reason: string }): string =>
      JSON.stringify([r.subaccount, r.cloud_app, r.virtual_host, r.virtual_port, r.path, r.deny_reason]);
    const byResource = countBy(denied, key);
    const most = Math.max(...byResource.values());
    assert.equal(o.top_denied.total, byResource.size);
    assert.equal(o.top_denied.rows[0]?.calls, most, 'the first row is a most-refused resource');
    for (const row of o.top_denied.rows) assert.equal(row.calls, byResource.get(key(row)), key(row));
    const counts = o.top_denied.rows.map((r) => r.calls);
    assert.deepEqual(counts, [...counts].sort((a, b) => b - a));
  });

  it('filters to one subaccount but still lists every subaccount for the menu', async () => {
    const o = await overview(`${RANGE}&subaccount=globex`);
    const globex = inRange.filter((e) => e.subaccount === 'globex');
    assert.equal(o.totals.calls, globex.length);
    assert.equal(o.totals.denied, figures(globex).denied);
    assert.equal(sum(o.series.calls), globex.length);
    assert.deepEqual(o.series.by_subaccount.map((s) => s.subaccount), ['globex']);
    assert.ok(o.top_backends.rows.every((r) => r.subaccount === 'globex'));
    assert.ok(o.top_denied.rows.every((r) => r.subaccount === 'globex'));
    assert.equal(o.subaccounts.length, 3);
  });

  it('shows a scoped analyst only the subaccounts in its scope', async () => {
    const o = await overview(RANGE, 'analyst@acme');
    const acme = inRange.filter((e) => e.subaccount === 'acme');
    assert.equal(o.totals.calls, acme.length);
    assert.equal(o.totals.denied, figures(acme).denied);
    assert.deepEqual(o.subaccounts.map((s) => s.subaccount), ['acme']);
    assert.ok(o.top_denied.rows.length > 0 && o.top_denied.rows.every((r) => r.subaccount === 'acme'));
    assert.ok(o.top_backends.rows.every((r) => r.subaccount === 'acme'));
    const other = await get(`/api/v1/overview?${RANGE}&subaccount=globex`, 'analyst@acme');
    assert.equal(other.statusCode, 403);
    assert.equal(other.json<{ error: { code: string } }>().error.code, 'TW_ERR_DASH_FORBIDDEN');
  });

  it('draws the eight busiest subaccounts on their own and sums the others', async () => {
    const from = new Date(T0.getTime() - 3 * HOUR);
    const o = await overview(`from=${from.toISOString()}&to=${new Date(from.getTime() + HOUR).toISOString()}`);
    assert.equal(o.totals.calls, 1000);
    assert.equal(o.totals.subaccounts, 10);
    const lines = o.series.by_subaccount;
    assert.deepEqual(lines.map((l) => (l.other ? 'other' : l.subaccount)), ['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7', 'other']);
    assert.deepEqual(lines.map((l) => sum(l.calls)), [100, 100, 100, 100, 100, 100, 100, 100, 200]);
    o.series.calls.forEach((n, i) => assert.equal(sum(lines.map((l) => l.calls[i] ?? 0)), n, `bucket ${i}`));
    assert.equal(o.subaccounts.length, 10);
  });

  it('counts only the range asked for', async () => {
    const wide = await overview(`from=${T0.toISOString()}&to=${new Date(T1.getTime() + 2 * HOUR).toISOString()}`);
    assert.equal(wide.totals.calls, inRange.length + 400);
    assert.equal(wide.bucket_seconds, 60);
    const half = await overview(`from=${T0.toISOString()}&to=${new Date(T0.getTime() + HOUR / 2).toISOString()}`);
    assert.equal(half.totals.calls, inRange.filter((e) => Date.parse(e.ts) < T0.getTime() + HOUR / 2).length);
  });

  it('answers an empty range with zeros, not an error', async () => {
    const from = new Date(T0.getTime() - 10 * HOUR);
    const o = await overview(`from=${from.toISOString()}&to=${new Date(from.getTime() + HOUR).toISOString()}`);
    assert.equal(o.totals.calls, 0);
    assert.equal(o.totals.error_rate, 0);
    assert.deepEqual(o.latency_us, { calls: 0, p50: 0, p90: 0, p95: 0, p99: 0 });
    assert.equal(o.series.buckets.length, 60);
    assert.ok(o.series.calls.every((n) => n === 0));
    assert.ok(o.series.latency_p95_us.every((n) => n === null));
    assert.deepEqual(o.series.by_subaccount, []);
    assert.deepEqual(o.top_backends, { total: 0, rows: [] });
    assert.deepEqual(o.top_denied, { total: 0, rows: [] });
  });

  it('refuses a bad range with TW_ERR_DASH_BAD_REQUEST', async () => {
    for (const query of [
      `from=${T1.toISOString()}&to=${T0.toISOString()}`,
      `from=${T0.toISOString()}&to=${T0.toISOString()}`,
      'from=yesterday',
      `from=${T0.toISOString()}&to=2026-13-45T99:00:00Z`,
      `${RANGE}&limit=0`,
    ]) {
      const response = await get(`/api/v1/overview?${query}`);
      assert.equal(response.statusCode, 400, query);
      assert.equal(response.json<{ error: { code: string } }>().error.code, 'TW_ERR_DASH_BAD_REQUEST', query);
    }
  });

  it('needs a signed-in caller and is described in the OpenAPI document', async () => {
    const anonymous = await dash.app.inject({ method: 'GET', url: `/api/v1/overview?${RANGE}` });
    assert.equal(anonymous.statusCode, 401);
    const doc = (await dash.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json<{ paths: Record<string, { get?: { description?: string; parameters?: { name: string }[] } }> }>();
    const op = doc.paths['/api/v1/overview']?.get;
    assert.ok(op?.description);
    assert.deepEqual(op?.parameters?.map((p) => p.name).sort(), ['from', 'limit', 'subaccount', 'to']);
  });
});
