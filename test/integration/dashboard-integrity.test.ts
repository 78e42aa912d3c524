// GET /api/v1/integrity over a real store: chained events of three emitters, one left intact, one with
// seqs never delivered and one event altered and re-hashed, one with a forked seq, and the dashboard's
// admin trail. The route reports exactly those gaps, that broken link and that fork, and the intact
// chains as ok.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { computeEventHash } from '../../common/audit/hash-chain.js';
import type { AuditEvent } from '../../common/audit/event.js';
import { createAdminAudit } from '../../dashboard/auth/admin-audit.js';
import { trafficEvents } from '../helpers/audit-traffic.js';
import { bearer, openTestStore, testDashboard, TEST_TOKENS, type TestDashboard, type TestStore } from '../helpers/dashboard.js';

interface Emitter {
  source: string;
  emitter: string;
  emitter_id: string;
  status: string;
  events: number;
  first_seq: number;
  last_seq: number;
  last_ts: string;
  gaps: number;
  missing_events: number;
  first_gaps: { from_seq: number; to_seq: number; missing: number; after_ts: string; before_ts: string }[];
  broken_links: number;
  first_broken: { seq: number; ts: string }[];
  forks: number;
  first_forks: { seq: number; ts: string }[];
}

interface Answer {
  totals: { emitters: number; ok: number; gaps: number; broken: number };
  emitters: Emitter[];
  states: Record<string, { meaning: string; action: string }>;
}

const DAY = 86_400_000;
const MISSING = new Set([50, 51, 52, 200]);
const ALTERED = 120;
const FORKED = 10;

let ts: TestStore;
let dash: TestDashboard;
let intact: AuditEvent[];
let damaged: AuditEvent[];
let forked: AuditEvent[];

async function get<T>(url: string, token: string = TEST_TOKENS.viewer): Promise<{ status: number; body: T }> {
  const r = await dash.app.inject({ method: 'GET', url, headers: bearer(token) });
  return { status: r.statusCode, body: r.json<T>() };
}

describe('audit integrity API', () => {
  before(async () => {
    ts = await openTestStore();
    dash = await testDashboard(ts.store);
    const now = Date.now();
    const window = { from: new Date(now - 2 * DAY), to: new Date(now - 60_000) };
    intact = trafficEvents({ ...window, count: 300, seed: 7, emitterId: 'conn-intact' });
    const all = trafficEvents({ ...window, count: 400, seed: 8, emitterId: 'conn-damaged' });
    // Never delivered: 50-52 and 200. Altered: 120's path changed and its hash recomputed, as a forger
    // who cannot re-chain the rest would; 121 then no longer links to it.
    damaged = all.filter((e) => !MISSING.has(e.seq)).map((e) => {
      if (e.seq !== ALTERED) return e;
      const changed = { ...e, path: '/api/orders/forged' };
      return { ...changed, hash: computeEventHash(changed as unknown as Record<string, unknown>) };
    });
    forked = trafficEvents({ ...window, count: 50, seed: 9, emitterId: 'conn-forked' });
    // A second, different event 10 that links correctly to 9: two events claim one place in the chain.
    const original = forked[FORKED - 1] as AuditEvent;
    const twin = { ...original, event_id: '019a0000-0000-7000-8000-000000000010', path: '/api/orders/twin' };
    forked.push({ ...twin, hash: computeEventHash(twin as unknown as Record<string, unknown>) });
    await ts.store.insertAuditEvents([...intact, ...damaged, ...forked]);
    const admin = await createAdminAudit(ts.store, pino({ level: 'silent' }), { emitterId: 'dashboard@test' });
    for (const action of ['login.success', 'token.create', 'logout']) {
      await admin.record({ action, outcome: 'success', actor: 'alice', actor_role: 'admin', via: 'local', target: 'alice', client_ip: '127.0.0.1', user_agent: 'test', reason: '' });
    }
  });
  after(async () => {
    await dash?.app.close();
    await ts?.close();
  });

  test('an intact chain is ok, with its events and seq range', async () => {
    const { status, body } = await get<Answer>('/api/v1/integrity');
    assert.equal(status, 200);
    const e = body.emitters.find((x) => x.emitter_id === 'conn-intact');
    assert.ok(e);
    assert.equal(e.status, 'ok');
    assert.equal(e.events, 300);
    assert.deepEqual([e.first_seq, e.last_seq, e.gaps, e.broken_links, e.forks], [1, 300, 0, 0, 0]);
    assert.equal(e.last_ts, intact.at(-1)?.ts);
    assert.deepEqual(body.totals, { emitters: 4, ok: 2, gaps: 0, broken: 2 });
    const trail = body.emitters.find((x) => x.source === 'admin');
    assert.deepEqual([trail?.emitter, trail?.emitter_id, trail?.status, trail?.events, trail?.last_seq], ['dashboard', 'dashboard@test', 'ok', 3, 3]);
    assert.deepEqual(Object.keys(body.states), ['ok', 'gaps', 'broken']);
    assert.match(body.states.broken?.action ?? '', /tunnelwatch audit verify/);
  });

  test('missing seqs are gaps and the event after an altered one is a broken link, exactly', async () => {
    const { body } = await get<Answer>('/api/v1/integrity');
    const e = body.emitters.find((x) => x.emitter_id === 'conn-damaged');
    assert.ok(e);
    assert.equal(e.status, 'broken');
    assert.equal(e.events, 400 - MISSING.size);
    assert.deepEqual([e.gaps, e.missing_events], [2, 4]);
    const tsOf = (seq: number) => damaged.find((x) => x.seq === seq)?.ts;
    assert.deepEqual(e.first_gaps, [
      { from_seq: 50, to_seq: 52, missing: 3, after_ts: tsOf(49), before_ts: tsOf(53) },
      { from_seq: 200, to_seq: 200, missing: 1, after_ts: tsOf(199), before_ts: tsOf(201) },
    ]);
    assert.equal(e.broken_links, 1);
    assert.deepEqual(e.first_broken, [{ seq: ALTERED + 1, ts: tsOf(ALTERED + 1) }]);
    assert.equal(e.forks, 0);
    assert.equal(body.emitters[0]?.status, 'broken', 'broken emitters come first');
  });

  test('two different events with one seq are a fork, and the links around it hold', async () => {
    const { body } = await get<Answer>('/api/v1/integrity');
    const e = body.emitters.find((x) => x.emitter_id === 'conn-forked');
    assert.ok(e);
    assert.deepEqual([e.status, e.events, e.forks, e.broken_links, e.gaps], ['broken', 51, 1, 0, 0]);
    assert.deepEqual(e.first_forks.map((f) => f.seq), [FORKED]);
  });

  test('over a time range only the events in it are judged', async () => {
    const from = damaged.find((x) => x.seq === 150)?.ts as string;
    const to = damaged.find((x) => x.seq === 250)?.ts as string;
    const inRange = damaged.filter((x) => x.ts >= from && x.ts < to);
    const { status, body } = await get<Answer>(`/api/v1/integrity?from=${from}&to=${to}`);
    assert.equal(status, 200);
    const e = body.emitters.find((x) => x.emitter_id === 'conn-damaged');
    assert.ok(e);
    assert.equal(e.events, inRange.length);
    assert.deepEqual([e.status, e.gaps, e.broken_links], ['gaps', 1, 0]);
    assert.deepEqual(e.first_gaps.map((g) => [g.from_seq, g.to_seq]), [[200, 200]]);
    assert.equal((await get(`/api/v1/integrity?from=${from}`)).status, 400, 'from without to');
  });

  test('the gaps and links of one emitter page in seq order', async () => {
    const first = await get<{ emitter: Emitter; gaps: { from_seq: number }[] }>('/api/v1/integrity/conn-damaged/gaps?limit=1');
    assert.equal(first.status, 200);
    assert.deepEqual(first.body.gaps.map((g) => g.from_seq), [50]);
    assert.equal(first.body.emitter.gaps, 2);
    const second = await get<{ gaps: { from_seq: number; missing: number }[] }>('/api/v1/integrity/conn-damaged/gaps?limit=1&offset=1');
    assert.deepEqual(second.body.gaps, [{ from_seq: 200, to_seq: 200, missing: 1, after_ts: damaged.find((x) => x.seq === 199)?.ts, before_ts: damaged.find((x) => x.seq === 201)?.ts }]);
    const links = await get<{ links: { seq: number; kind: string }[] }>('/api/v1/integrity/conn-forked/links');
    assert.deepEqual(links.body.links.map((l) => [l.seq, l.kind]), [[FORKED, 'fork']]);
    assert.equal((await get('/api/v1/integrity/nobody/gaps')).status, 404);
  });

  test('a subaccount-scoped analyst sees it too, and it carries no tenant data', async () => {
    const scoped = await get<Answer>('/api/v1/integrity', TEST_TOKENS.acmeAnalyst);
    assert.equal(scoped.status, 200);
    assert.equal(scoped.body.emitters.length, 4);
    const text = JSON.stringify(scoped.body);
    for (const secret of ['/api/orders', 'acme', 'globex', 'erp.virtual']) assert.ok(!text.includes(secret), `no ${secret} in the answer`);
    assert.equal((await dash.app.inject({ method: 'GET', url: '/api/v1/integrity' })).statusCode, 401);
  });
});
