// GET /api/v1/rules over a real store: rule snapshots of three connectors and realistic traffic. Calls and
// last use per rule are checked against counts made here from the same events; unused, suspended, stale
// and removed rules, the filters, and a subaccount-scoped analyst who sees only its own rules.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent } from '../../common/audit/event.js';
import { insertRuleSnapshot, rulesHash, type RuleSet } from '../../collector/store/rule-snapshots.js';
import { compilePolicy, describePolicy } from '../../connector/acl/policy.js';
import type { ConnectorConfig } from '../../connector/agent/config-schema.js';
import { trafficEvents } from '../helpers/audit-traffic.js';
import { bearer, openTestStore, testDashboard, TEST_TOKENS, type TestDashboard, type TestStore } from '../helpers/dashboard.js';

const DAY = 86_400_000;
const resource = (id: string, path: string, extra: Record<string, unknown> = {}) => ({ id, path, match: 'prefix', methods: ['GET', 'POST'], active: true, websocket: false, ...extra });
const http = (virtual: string, resources: unknown[], protocol = 'http') => ({ virtual, internal: '10.0.0.5:8443', protocol, host_header: 'virtual', resources });

/** conn-a's rules now: the traffic's rules, plus two never used, one suspended; initech-customers is gone. */
const CURRENT = {
  acme: {
    trusted_apps: ['erp-portal', 'analytics'],
    mappings: [
      http('erp.virtual:8000', [resource('acme-orders', '/api/orders'), resource('acme-customers', '/api/customers'), resource('acme-invoices', '/api/invoices'), resource('acme-admin', '/admin', { active: false })]),
      http('crm.virtual:443', [resource('acme-crm-contacts', '/crm/contacts')], 'https'),
      { id: 'acme-db', virtual: 'db.virtual:5432', internal: '10.0.0.6:5432', protocol: 'tcp', host_header: 'virtual', resources: [] },
    ],
  },
  globex: { trusted_apps: [], mappings: [http('shop-erp.virtual:8000', [resource('globex-orders-read', '/api/orders', { methods: ['GET'] })])] },
  initech: { trusted_apps: [], mappings: [http('hr.virtual:8000', [resource('initech-health', '/health', { match: 'exact' })])] },
};
/** What conn-a reported before (older taken_at): must not show. */
const EARLIER = { acme: { trusted_apps: [], mappings: [http('erp.virtual:8000', [resource('acme-legacy', '/legacy')])] } };
/** conn-c: globex only, last reported three days ago. */
const STALE = { globex: { trusted_apps: [], mappings: [http('shop-erp.virtual:8000', [resource('globex-orders-read', '/api/orders')])] } };

function rules(config: Record<string, unknown>): RuleSet {
  return describePolicy(compilePolicy(config as ConnectorConfig['subaccounts'])) as RuleSet;
}

function snapshot(connectorId: string, config: Record<string, unknown>, takenAt: Date, locationId = '') {
  const r = rules(config);
  return { schema: 'tunnelwatch.rules/1' as const, connector_id: connectorId, location_id: locationId, taken_at: takenAt.toISOString(), snapshot_hash: rulesHash(r), rules: r };
}

interface Rule { connector_id: string; subaccount: string; rule_id: string; kind: string; calls: number; last_used: string | null; unused: boolean; active: boolean; trusted_apps: string[]; methods: string[] }
interface Connector { connector_id: string; location_id: string; stale: boolean; age_s: number; rules: number; unused: number; suspended: number; subaccounts: string[] }
interface Missing { connector_id: string; subaccount: string; rule_id: string; calls: number; last_used: string; reason: string }
interface Answer {
  usage_days: number;
  totals: { connectors: number; rules: number; unused: number; suspended: number; missing: number };
  connectors: Connector[];
  rules: Rule[];
  missing: Missing[];
}

let ts: TestStore;
let dash: TestDashboard;
let events: AuditEvent[];

/** Allowed calls per connector, subaccount and rule_id over the last `days` days, counted here. */
function usage(days: number): Map<string, { calls: number; last: string }> {
  const since = new Date(Date.now() - days * DAY).toISOString();
  const out = new Map<string, { calls: number; last: string }>();
  for (const e of events) {
    if (e.decision !== 'allow' || e.rule_id === '' || e.ts < since) continue;
    const k = `${e.emitter_id}/${e.subaccount}/${e.rule_id}`;
    const u = out.get(k) ?? { calls: 0, last: '' };
    u.calls++;
    if (e.ts > u.last) u.last = e.ts;
    out.set(k, u);
  }
  return out;
}

async function get(query = '', token: string = TEST_TOKENS.viewer): Promise<{ status: number; body: Answer }> {
  const r = await dash.app.inject({ method: 'GET', url: `/api/v1/rules${query}`, headers: bearer(token) });
  return { status: r.statusCode, body: r.json<Answer>() };
}

describe('access rules API', () => {
  before(async () => {
    ts = await openTestStore();
    dash = await testDashboard(ts.store);
    const now = Date.now();
    events = [
      ...trafficEvents({ count: 1500, from: new Date(now - 20 * DAY), to: new Date(now - 3_600_000), seed: 11, emitterId: 'conn-a' }),
      // Older than the default 30-day window, inside a 60-day one.
      ...trafficEvents({ count: 300, from: new Date(now - 45 * DAY), to: new Date(now - 35 * DAY), seed: 12, emitterId: 'conn-a' }),
      // A connector that never reported its rules.
      ...trafficEvents({ count: 200, from: new Date(now - 5 * DAY), to: new Date(now - 3_600_000), seed: 13, emitterId: 'conn-b' }),
    ];
    await ts.store.insertAuditEvents(events);
    const client = ts.store.client;
    await insertRuleSnapshot(client, snapshot('conn-a', EARLIER, new Date(now - 10 * DAY), 'dc-1'));
    await insertRuleSnapshot(client, snapshot('conn-a', CURRENT, new Date(now - 2 * 3_600_000), 'dc-1'));
    // Reported again (a refresh): still one snapshot, now younger.
    await insertRuleSnapshot(client, snapshot('conn-a', CURRENT, new Date(now - 60_000), 'dc-1'));
    await insertRuleSnapshot(client, snapshot('conn-c', STALE, new Date(now - 3 * DAY)));
  });
  after(async () => {
    await dash?.app.close();
    await ts?.close();
  });

  test('every rule of the latest snapshots, with its calls and last use counted from the events', async () => {
    const { status, body } = await get();
    assert.equal(status, 200);
    assert.equal(body.usage_days, 30);
    const expected = usage(30);
    assert.deepEqual(body.rules.map((r) => `${r.connector_id}/${r.subaccount}/${r.rule_id}`), [
      'conn-a/acme/acme-orders', 'conn-a/acme/acme-customers', 'conn-a/acme/acme-invoices', 'conn-a/acme/acme-admin',
      'conn-a/acme/acme-crm-contacts', 'conn-a/acme/acme-db', 'conn-a/globex/globex-orders-read', 'conn-a/initech/initech-health',
      'conn-c/globex/globex-orders-read',
    ]);
    for (const r of body.rules) {
      const u = expected.get(`${r.connector_id}/${r.subaccount}/${r.rule_id}`);
      assert.equal(r.calls, u?.calls ?? 0, `calls of ${r.rule_id}`);
      assert.equal(r.last_used, u?.last ?? null, `last use of ${r.rule_id}`);
      assert.equal(r.unused, (u?.calls ?? 0) === 0 && r.active, `unused flag of ${r.rule_id}`);
    }
    assert.deepEqual(body.rules.filter((r) => r.calls > 0).map((r) => r.rule_id), ['acme-orders', 'acme-customers', 'acme-crm-contacts', 'globex-orders-read', 'initech-health']);
    const byId = new Map(body.rules.filter((r) => r.connector_id === 'conn-a').map((r) => [r.rule_id, r]));
    assert.deepEqual(body.rules.filter((r) => r.unused).map((r) => `${r.connector_id}/${r.rule_id}`), ['conn-a/acme-invoices', 'conn-a/acme-db', 'conn-c/globex-orders-read']);
    assert.deepEqual([byId.get('acme-admin')?.active, byId.get('acme-admin')?.unused], [false, false], 'a suspended rule is not "unused"');
    assert.equal(byId.get('acme-db')?.kind, 'tcp_mapping');
    assert.deepEqual(byId.get('acme-orders')?.trusted_apps, ['erp-portal', 'analytics']);
    assert.deepEqual(byId.get('globex-orders-read')?.methods, ['GET']);
    assert.ok(!byId.has('acme-legacy'), 'an earlier snapshot does not show');
  });

  test('connectors with the age of their snapshot; an old one is stale', async () => {
    const { body } = await get();
    assert.deepEqual(body.connectors.map((c) => [c.connector_id, c.location_id, c.stale, c.rules, c.unused, c.suspended]), [
      ['conn-a', 'dc-1', false, 8, 2, 1],
      ['conn-c', '', true, 1, 1, 0],
    ]);
    const a = body.connectors[0] as Connector;
    assert.ok(a.age_s >= 60 && a.age_s < 600, `conn-a reported a minute ago (age ${a.age_s} s)`);
    assert.deepEqual(a.subaccounts, ['acme', 'globex', 'initech']);
    assert.deepEqual(body.totals, { connectors: 2, rules: 9, unused: 3, suspended: 1, missing: body.missing.length });
  });

  test('rule ids seen in calls but absent from the snapshots are listed, with why', async () => {
    const { body } = await get();
    const expected = [...usage(30)].filter(([k]) => !body.rules.some((r) => `${r.connector_id}/${r.subaccount}/${r.rule_id}` === k));
    assert.deepEqual(
      body.missing.map((m) => `${m.connector_id}/${m.subaccount}/${m.rule_id}:${m.calls}:${m.last_used}`).sort(),
      expected.map(([k, u]) => `${k}:${u.calls}:${u.last}`).sort(),
    );
    assert.ok(body.missing.some((m) => m.connector_id === 'conn-a' && m.rule_id === 'initech-customers' && m.reason === 'not_in_snapshot'), 'a removed rule');
    assert.ok(body.missing.filter((m) => m.connector_id === 'conn-b').every((m) => m.reason === 'no_snapshot'));
    assert.ok(body.missing.some((m) => m.connector_id === 'conn-b'));
  });

  test('usage_days widens the window; unused_only, subaccount and connector_id filter', async () => {
    const wide = (await get('?usage_days=60')).body;
    const expected = usage(60);
    const orders = wide.rules.find((r) => r.connector_id === 'conn-a' && r.rule_id === 'acme-orders');
    assert.equal(orders?.calls, expected.get('conn-a/acme/acme-orders')?.calls);
    assert.ok((orders?.calls ?? 0) > (usage(30).get('conn-a/acme/acme-orders')?.calls ?? 0));

    const unused = (await get('?unused_only=true')).body;
    assert.deepEqual(unused.rules.map((r) => r.rule_id), ['acme-invoices', 'acme-db', 'globex-orders-read']);
    assert.equal(unused.totals.rules, 9, 'totals are over every rule');

    const globex = (await get('?subaccount=globex')).body;
    assert.deepEqual(globex.rules.map((r) => `${r.connector_id}/${r.rule_id}`), ['conn-a/globex-orders-read', 'conn-c/globex-orders-read']);
    assert.deepEqual(globex.connectors.map((c) => c.connector_id), ['conn-a', 'conn-c']);
    assert.ok(globex.missing.every((m) => m.subaccount === 'globex'));

    const c = (await get('?connector_id=conn-c')).body;
    assert.deepEqual([c.connectors.map((x) => x.connector_id), c.rules.length, c.missing.length], [['conn-c'], 1, 0]);
    assert.equal((await get('?usage_days=0')).status, 400);
  });

  test('a subaccount-scoped analyst sees only its own rules, connectors and removed rules', async () => {
    const { status, body } = await get('', TEST_TOKENS.acmeAnalyst);
    assert.equal(status, 200);
    assert.ok(body.rules.length === 6 && body.rules.every((r) => r.subaccount === 'acme'));
    assert.deepEqual(body.connectors.map((c) => [c.connector_id, c.rules, c.subaccounts]), [['conn-a', 6, ['acme']]]);
    assert.ok(body.missing.every((m) => m.subaccount === 'acme'));
    assert.equal((await get('?subaccount=globex', TEST_TOKENS.acmeAnalyst)).status, 403);
    assert.equal((await dash.app.inject({ method: 'GET', url: '/api/v1/rules' })).statusCode, 401);
  });
});
