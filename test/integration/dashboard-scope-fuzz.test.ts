// Hostile parameters on every GET route of the dashboard API (from the OpenAPI document the app serves), as
// an analyst scoped to one tenant and as an admin, on a real embedded store with three tenants' calls and
// findings: no answer is a 5xx other than 503 (a dependency not configured), and no 200 answer to the
// scoped analyst carries another tenant's name, app, principal or backend unless the request itself named
// it (an echoed filter). Seeded, so a failure names a request that can be replayed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { openApiDocument } from '../../dashboard/api-doc.js';
import { seededRandom, TENANTS, trafficEvents } from '../helpers/audit-traffic.js';
import { bearer, openTestStore, testDashboard, TEST_TOKENS, type TestStore } from '../helpers/dashboard.js';
import { craftedFindings, storeFindings } from '../helpers/findings.js';

const NOW = Date.now();
const FROM = new Date(NOW - 6 * 3_600_000);
/** What only the other tenants have: a 200 answer to acme's analyst must not hold any of it. */
const FOREIGN = TENANTS.filter((t) => t.subaccount !== 'acme').flatMap((t) => [
  t.subaccount,
  ...t.apps,
  ...t.principals.filter((p) => p !== ''),
  ...t.backends.map((b) => b.virtual),
]).concat(['203.0.113.66']); // the crafted cross-subaccount finding's address: only for unscoped readers

interface Operation {
  parameters?: { name: string; in: string }[];
}

describe('dashboard API under hostile parameters', () => {
  let ts: TestStore;
  let app: FastifyInstance;
  let routes: { path: string; query: string[]; params: string[] }[] = [];
  let ids: string[] = [];

  before(async () => {
    ts = await openTestStore();
    await ts.store.insertAuditEvents(trafficEvents({ count: 4000, from: FROM, to: new Date(NOW), seed: 3 }));
    await ts.store.flush();
    await storeFindings(ts.store, craftedFindings(NOW));
    ({ app } = await testDashboard(ts.store));
    const doc = await openApiDocument();
    routes = Object.entries(doc.paths).flatMap(([path, ops]) => {
      const get = (ops as Record<string, Operation>).get;
      if (!get) return [];
      const parameters = get.parameters ?? [];
      return [{ path, query: parameters.filter((p) => p.in === 'query').map((p) => p.name), params: parameters.filter((p) => p.in === 'path').map((p) => p.name) }];
    });
    // Real identifiers of other tenants, so that lookups by id are tried on things that exist.
    const rows = await ts.store.query<{ id: string }>("SELECT event_id AS id FROM audit_events WHERE subaccount != 'acme' LIMIT 3 UNION ALL SELECT trace_id AS id FROM audit_events WHERE subaccount != 'acme' AND trace_id != '' LIMIT 3 UNION ALL SELECT emitter_id AS id FROM audit_events LIMIT 1");
    ids = rows.map((r) => r.id).concat(['f-globex-exfil', 'f-cross-ip', 'globex', 'initech']);
  });
  after(async () => {
    await app?.close();
    await ts?.close();
  });

  it('answers every request without a server error, and never shows a scoped analyst another tenant', async () => {
    assert.ok(routes.length >= 15, `GET routes from the OpenAPI document: ${routes.map((r) => r.path).join(', ')}`);
    const rnd = seededRandom(20261129);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)] as T;
    const values = [
      '', ' ', 'x'.repeat(3000), '%00', "'", '"', "') OR 1=1 --", '{a:String}', '../../etc/passwd', '-1', '0', '1e309', 'NaN', '5xx', '999',
      '2026-13-45T99:99:99Z', '1970-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z', FROM.toISOString(), new Date(NOW).toISOString(),
      'deny', 'allow', 'any', 'critical', 'relay', 'connector', 'acme', 'globex', 'initech', '*', '💥', '%ED%A0%80', ...ids,
    ];
    const enc = (v: string): string => (v.startsWith('%') ? v : encodeURIComponent(v));
    const failures: string[] = [];
    let ok = 0;
    for (let i = 0; i < 700 && failures.length < 10; i++) {
      const route = pick(routes);
      let url = route.path.replace(/\{([a-z_]+)\}/gi, () => enc(pick(values)));
      const qs: string[] = [];
      if (rnd() < 0.6) qs.push(`from=${enc(FROM.toISOString())}`, `to=${enc(new Date(NOW + 60_000).toISOString())}`);
      const names = route.query.length > 0 ? route.query : ['from'];
      for (let k = Math.floor(rnd() * 4); k > 0; k--) qs.push(`${pick(names)}=${enc(pick(values))}`);
      if (rnd() < 0.5) qs.push('limit=50');
      if (qs.length > 0) url += `?${qs.join('&')}`;
      const who = pick([TEST_TOKENS.acmeAnalyst, TEST_TOKENS.acmeAnalyst, TEST_TOKENS.admin, TEST_TOKENS.viewer]);
      const res = await app.inject({ method: 'GET', url, headers: bearer(who) });
      if (res.statusCode >= 500 && res.statusCode !== 503) failures.push(`${who} GET ${url.slice(0, 200)}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      if (res.statusCode === 503 && !/"code":"TW_ERR_[A-Z_]+"/.test(res.body)) failures.push(`${who} GET ${url.slice(0, 200)}: 503 without an error code`);
      if (res.statusCode !== 200) continue;
      ok++;
      if (who !== TEST_TOKENS.acmeAnalyst) continue;
      let asked = url;
      try {
        asked = decodeURIComponent(url);
      } catch {
        // a deliberately broken escape: compare with the raw text
      }
      const seen = FOREIGN.find((name) => res.body.includes(name) && !asked.includes(name));
      if (seen) failures.push(`acme's analyst GET ${url.slice(0, 200)}: 200 shows "${seen}": ${res.body.slice(Math.max(0, res.body.indexOf(seen) - 80), res.body.indexOf(seen) + 80)}`);
    }
    assert.deepEqual(failures, []);
    assert.ok(ok > 100, `${ok} answers were 200: enough of the requests reached the data`);
  });
});
