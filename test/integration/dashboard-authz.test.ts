// The authorisation matrix: every API route (from the OpenAPI document the app serves) × viewer, analyst,
// admin and no one, through the REAL auth service (local users with sessions, config API tokens) on a real
// embedded store, by inject(). An explicit table below names each route's least role: a new route missing
// from it, or a role changed without editing it, fails here. Also CSRF on every state-changing route,
// subaccount scope on every route that takes a subaccount, and every HTML page.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { openApiDocument } from '../../dashboard/api-doc.js';
import { buildDashboardApp } from '../../dashboard/app.js';
import { sha256Hex } from '../../dashboard/auth/api-tokens.js';
import { hashPassword } from '../../dashboard/auth/password.js';
import { createDashboardContext } from '../../dashboard/dashboard.js';
import { PAGES } from '../../dashboard/pages.js';
import { roleAllows, ROLES, type Access, type Role } from '../../dashboard/roles.js';
import { trafficEvents } from '../helpers/audit-traffic.js';
import { startRelayAdminStandin, type RelayAdminStandin } from '../helpers/backend-checks.js';
import { craftedFindings, storeFindings } from '../helpers/findings.js';
import { openTestStore, TEST_SETTINGS, type TestStore } from '../helpers/dashboard.js';

/** Each route's least role. Changing a route's role, or adding a route, needs a deliberate edit here. */
const LEAST_ROLE: Readonly<Record<string, Access>> = {
  'POST /api/v1/session': 'public',
  'GET /api/v1/session': 'viewer',
  'DELETE /api/v1/session': 'viewer',
  'GET /api/v1/overview': 'viewer',
  'GET /api/v1/subaccounts': 'viewer',
  'GET /api/v1/subaccounts/{name}': 'viewer',
  'GET /api/v1/rules': 'viewer',
  'GET /api/v1/integrity': 'viewer',
  'GET /api/v1/integrity/{emitter_id}/gaps': 'viewer',
  'GET /api/v1/integrity/{emitter_id}/links': 'viewer',
  'GET /api/v1/calls': 'analyst',
  'GET /api/v1/calls/count': 'analyst',
  'GET /api/v1/calls/export': 'analyst',
  'GET /api/v1/calls/{event_id}': 'analyst',
  'GET /api/v1/traces/{trace_id}': 'analyst',
  'GET /api/v1/findings': 'analyst',
  'GET /api/v1/findings/{finding_id}': 'analyst',
  'GET /api/v1/exporters': 'analyst',
  'GET /api/v1/backends': 'viewer',
  'GET /api/v1/backends/history': 'viewer',
  'GET /api/v1/backends/last': 'viewer',
  'GET /api/v1/backends/tunnel': 'viewer',
  'POST /api/v1/backends/check': 'admin',
  'GET /api/v1/tokens': 'admin',
  'POST /api/v1/tokens': 'admin',
  'DELETE /api/v1/tokens/{id}': 'admin',
  'GET /api/v1/admin/events': 'admin',
  'POST /api/v1/admin/reload': 'admin',
};

/** Routes that name a subaccount, and where: a scoped identity naming another one gets 403. */
const SUBACCOUNT_ROUTES: Readonly<Record<string, 'query' | 'path' | 'body'>> = {
  'GET /api/v1/overview': 'query',
  'GET /api/v1/subaccounts/{name}': 'path',
  'GET /api/v1/calls': 'query',
  'GET /api/v1/calls/count': 'query',
  'GET /api/v1/calls/export': 'query',
  'GET /api/v1/rules': 'query',
  'GET /api/v1/findings': 'query',
  'GET /api/v1/backends': 'query',
  'GET /api/v1/backends/history': 'query',
  'GET /api/v1/backends/last': 'query',
  'POST /api/v1/tokens': 'body',
};

/** Routes under /api/ that are served but not in the OpenAPI document, on purpose. */
const UNDOCUMENTED_API = ['GET /api/v1/openapi.json'];
/** Public routes that are not pages of PAGES; fastify's route tree prints /assets/* as /*. */
const PUBLIC_PAGES = ['GET /login', 'GET /healthz', 'GET /assets/*', 'GET /*'];

const PASSWORDS: Readonly<Record<Role, string>> = { viewer: 'vera-pw-1', analyst: 'anna-pw-2', admin: 'adam-pw-3' };
const USER: Readonly<Record<Role, string>> = { viewer: 'vera', analyst: 'anna', admin: 'adam' };
const TOKENS: Readonly<Record<Role | 'acmeAdmin', string>> = {
  viewer: 'authz-viewer-token', analyst: 'authz-analyst-token', admin: 'authz-admin-token', acmeAdmin: 'authz-acme-admin-token',
};
const EMITTER = 'connector-authz';

interface Operation { readonly 'x-required-role'?: string; readonly parameters?: { name: string; in: string }[]; readonly requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> } }

let ts: TestStore;
let app: FastifyInstance;
/** The relay's admin API behind the Backends routes (tunnel view, "Run check now"). */
let relay: RelayAdminStandin;
let operations: Map<string, Operation>;
let sample: { eventId: string; traceId: string };
let tokenId = '';
let tokenNames = 0;
/** Calls of the collector's reload that got through the access checks. */
let reloads = 0;
const sessions = new Map<Role, Session>();

interface Session { readonly cookie: string; readonly csrf: string }
type Caller = { readonly kind: 'none' } | { readonly kind: 'token'; readonly token: string } | { readonly kind: 'session'; readonly session: Session; readonly csrf: boolean };

async function signIn(role: Role): Promise<Session> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/session', payload: { username: USER[role], password: PASSWORDS[role] } });
  assert.equal(res.statusCode, 200, res.body);
  const cookie = res.cookies.find((c) => c.name === 'tw_session')?.value ?? '';
  return { cookie, csrf: res.json<{ csrf_token: string }>().csrf_token };
}

/** A plausible request for a route: real ids from the store, a body the schema accepts. */
function requestFor(op: string, subaccount = 'acme'): InjectOptions {
  const [method, path] = op.split(' ') as [InjectOptions['method'], string];
  const url = path
    .replace('{name}', subaccount)
    .replace('{event_id}', sample.eventId)
    .replace('{trace_id}', sample.traceId)
    .replace('{emitter_id}', EMITTER)
    .replace('{finding_id}', 'f-acme-deny-burst')
    .replace('{id}', tokenId);
  const where = SUBACCOUNT_ROUTES[op];
  const query = [
    op === 'GET /api/v1/calls/export' ? 'format=csv' : '',
    where === 'query' ? `subaccount=${subaccount}` : '',
    op.startsWith('GET /api/v1/backends/') && where === 'query' ? 'virtual_host=erp.virtual:8000' : '',
  ].filter(Boolean).join('&');
  const request: InjectOptions = { method, url: query ? `${url}?${query}` : url };
  if (op === 'POST /api/v1/session') request.payload = { username: USER.viewer, password: PASSWORDS.viewer };
  if (op === 'POST /api/v1/tokens') request.payload = { name: `authz-${++tokenNames}`, role: 'viewer', subaccounts: [subaccount] };
  if (op === 'POST /api/v1/backends/check') request.payload = { subaccount, virtual_host: 'erp.virtual:8000' };
  return request;
}

async function call(op: string, caller: Caller, subaccount?: string): Promise<LightMyRequestResponse> {
  const request = requestFor(op, subaccount);
  if (caller.kind === 'token') request.headers = { authorization: `Bearer ${caller.token}` };
  if (caller.kind === 'session') {
    request.cookies = { tw_session: caller.session.cookie };
    if (caller.csrf) request.headers = { 'x-csrf-token': caller.session.csrf };
  }
  return app.inject(request);
}

/** A session of this role; signing out ends a session, so that route gets a fresh one. */
async function sessionFor(role: Role, op: string): Promise<Session> {
  if (op === 'DELETE /api/v1/session') return signIn(role);
  let s = sessions.get(role);
  if (!s) sessions.set(role, (s = await signIn(role)));
  return s;
}

function errorCode(res: LightMyRequestResponse): string {
  try {
    return res.json<{ error?: { code?: string } }>().error?.code ?? '';
  } catch {
    return '';
  }
}

function assertAllowed(res: LightMyRequestResponse, what: string): void {
  assert.ok(res.statusCode >= 200 && res.statusCode < 300, `${what}: allowed, got ${res.statusCode} ${res.body.slice(0, 300)}`);
}

function assertRefused(res: LightMyRequestResponse, status: number, code: string, what: string): void {
  assert.deepEqual([res.statusCode, errorCode(res)], [status, code], `${what}: ${res.body.slice(0, 300)}`);
}

/** Every route the app serves (HEAD twins left out), from fastify's route tree, as "METHOD /path/{param}". */
function servedRoutes(tree: string): string[] {
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)(?:[└├]── )?(\S+)(?: \(([^)]+)\))?$/.exec(line.trimEnd());
    if (!m || line.trim() === '') continue;
    const depth = Math.floor((m[1] ?? '').length / 4);
    const path = `${depth > 0 ? stack[depth - 1] ?? '' : ''}${m[2] ?? ''}`;
    stack[depth] = path;
    stack.length = depth + 1;
    for (const method of (m[3] ?? '').split(', ').filter((x) => x && x !== 'HEAD')) out.push(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`);
  }
  return out;
}

before(async () => {
  ts = await openTestStore();
  const now = Date.now();
  const events = trafficEvents({ count: 400, from: new Date(now - 50 * 60_000), to: new Date(now - 60_000), seed: 7, emitterId: EMITTER });
  await ts.store.insertAuditEvents(events);
  const acme = events.find((e) => e.subaccount === 'acme' && e.trace_id !== '');
  assert.ok(acme);
  sample = { eventId: acme.event_id, traceId: acme.trace_id };
  await storeFindings(ts.store, craftedFindings(now));
  const cheap = { N: 1024, r: 8, p: 1 };
  relay = await startRelayAdminStandin('authz-relay-admin-token');
  writeFileSync(join(ts.dir, 'relay-admin.token'), 'authz-relay-admin-token');
  const settings = {
    ...TEST_SETTINGS,
    relay_admin: { url: relay.url, token_file: 'relay-admin.token', timeout_ms: 5000 },
    login_rate_limit: { max_attempts: 1000, window_s: 60 },
    users: await Promise.all(ROLES.map(async (role) => ({ name: USER[role], role, password_hash: await hashPassword(PASSWORDS[role], cheap) }))),
    api_tokens: [
      ...ROLES.map((role) => ({ name: `${role}-token`, role, sha256: sha256Hex(TOKENS[role]) })),
      { name: 'acme-admin-token', role: 'admin' as const, sha256: sha256Hex(TOKENS.acmeAdmin), subaccounts: ['acme'] },
    ],
  };
  // The collector's reload, as the collector gives it to its dashboard: counted, so a refused call shows.
  const reload = async (): Promise<{ applied: boolean; message: string }> => {
    reloads++;
    return { applied: true, message: 'nothing that can change live differs from what is in force' };
  };
  const ctx = await createDashboardContext(settings, ts.store, join(ts.dir, 'collector.yaml'), pino({ level: 'silent' }), { reload });
  app = await buildDashboardApp(ctx);
  await app.ready();
  const doc = await openApiDocument();
  operations = new Map(Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([m, op]) => [`${m.toUpperCase()} ${path}`, op as Operation] as const)));
  const created = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: { authorization: `Bearer ${TOKENS.admin}` }, payload: { name: 'to-revoke', role: 'viewer', subaccounts: ['acme'] } });
  assert.equal(created.statusCode, 201, created.body);
  tokenId = created.json<{ info: { id: string } }>().info.id;
});

after(async () => {
  await app?.close();
  await relay?.close();
  await ts?.close();
});

describe('dashboard authorisation matrix', () => {
  it('has a least role in the table for every route of the OpenAPI document, and the same one', () => {
    assert.deepEqual([...operations.keys()].sort(), Object.keys(LEAST_ROLE).sort(), 'routes in the document vs the table');
    for (const [op, o] of operations) assert.equal(o['x-required-role'], LEAST_ROLE[op], op);
  });

  it('serves no API route that the document leaves out, and no page that PAGES leaves out', () => {
    const served = servedRoutes(app.printRoutes({ commonPrefix: false }));
    assert.deepEqual([...operations.keys()].filter((op) => !served.includes(op)), [], 'the route tree parser finds every documented route');
    const api = served.filter((r) => r.split(' ')[1]?.startsWith('/api/'));
    assert.deepEqual(api.filter((r) => !operations.has(r) && !UNDOCUMENTED_API.includes(r)), []);
    const pages = served.filter((r) => !r.split(' ')[1]?.startsWith('/api/') && !PUBLIC_PAGES.includes(r));
    assert.deepEqual(pages.sort(), PAGES.map((p) => `GET ${p.path.replace(/:(\w+)/g, '{$1}')}`).sort());
  });

  for (const kind of ['token', 'session'] as const) {
    it(`answers every route × no one, viewer, analyst, admin as the table says (${kind === 'token' ? 'API tokens' : 'browser sessions'})`, async () => {
      for (const [op, least] of Object.entries(LEAST_ROLE)) {
        const anonymous = await call(op, { kind: 'none' });
        if (least === 'public') assertAllowed(anonymous, `${op} with no session`);
        else assertRefused(anonymous, 401, 'TW_ERR_DASH_UNAUTHENTICATED', `${op} with no session`);
        for (const role of ROLES) {
          const caller: Caller = kind === 'token' ? { kind, token: TOKENS[role] } : { kind, session: await sessionFor(role, op), csrf: true };
          const res = await call(op, caller);
          if (least === 'public' || roleAllows(role, least)) assertAllowed(res, `${op} as ${role}`);
          else assertRefused(res, 403, 'TW_ERR_DASH_FORBIDDEN', `${op} as ${role}`);
        }
      }
    });
  }

  it('refuses the HEAD twin of every GET route to no one', async () => {
    for (const op of Object.keys(LEAST_ROLE).filter((o) => o.startsWith('GET ') && LEAST_ROLE[o] !== 'public')) {
      const { url } = requestFor(op);
      const res = await app.inject({ method: 'HEAD', url: url as string });
      assert.ok(res.statusCode === 401 || res.statusCode === 404, `HEAD ${op}: ${res.statusCode}`);
    }
  });

  it('refuses state-changing requests of a session without its CSRF token, and does nothing', async () => {
    const changing = [...operations.entries()].filter(([op, o]) => !op.startsWith('GET ') && o['x-required-role'] !== 'public').map(([op]) => op);
    assert.deepEqual(changing.sort(), ['DELETE /api/v1/session', 'DELETE /api/v1/tokens/{id}', 'POST /api/v1/admin/reload', 'POST /api/v1/backends/check', 'POST /api/v1/tokens']);
    for (const op of changing) {
      const session = await sessionFor('admin', op);
      const tokensBefore = (await app.inject({ method: 'GET', url: '/api/v1/tokens', headers: { authorization: `Bearer ${TOKENS.admin}` } })).body;
      const reloadsBefore = reloads;
      assertRefused(await call(op, { kind: 'session', session, csrf: false }), 403, 'TW_ERR_DASH_CSRF', `${op} without x-csrf-token`);
      assertRefused(await call(op, { kind: 'session', session: { ...session, csrf: 'x'.repeat(43) }, csrf: true }), 403, 'TW_ERR_DASH_CSRF', `${op} with a wrong x-csrf-token`);
      const tokensAfter = (await app.inject({ method: 'GET', url: '/api/v1/tokens', headers: { authorization: `Bearer ${TOKENS.admin}` } })).body;
      assert.equal(tokensAfter, tokensBefore, `${op}: no token created or revoked`);
      assert.equal(reloads, reloadsBefore, `${op}: no reload`);
      assert.equal((await app.inject({ method: 'GET', url: '/api/v1/session', cookies: { tw_session: session.cookie } })).statusCode, 200, `${op}: still signed in`);
      assertAllowed(await call(op, { kind: 'session', session, csrf: true }), `${op} with x-csrf-token`);
    }
    const foreign = await app.inject({ method: 'POST', url: '/api/v1/session', headers: { origin: 'https://evil.example' }, payload: { username: USER.admin, password: PASSWORDS.admin } });
    assertRefused(foreign, 403, 'TW_ERR_DASH_CSRF', 'a sign-in posted from another site');
  });

  it('refuses a scoped identity (acme) every route that names another subaccount, and allows its own', async () => {
    const named = [...operations.entries()].filter(([op, o]) =>
      (o.parameters ?? []).some((p) => p.name === 'subaccount' || (p.in === 'path' && op.includes('/subaccounts/')))
      || Object.values(o.requestBody?.content ?? {}).some((c) => c.schema?.properties?.subaccounts !== undefined)).map(([op]) => op);
    assert.deepEqual(named.sort(), Object.keys(SUBACCOUNT_ROUTES).sort(), 'routes naming a subaccount vs the table');
    const caller: Caller = { kind: 'token', token: TOKENS.acmeAdmin };
    for (const op of named) {
      assertRefused(await call(op, caller, 'globex'), 403, 'TW_ERR_DASH_FORBIDDEN', `${op} for globex as acme's admin`);
      assertAllowed(await call(op, caller, 'acme'), `${op} for acme as acme's admin`);
    }
  });

  it('sends no one to the sign-in page, a lower role to the 403 page and the rest to the page', async () => {
    const login = await app.inject({ method: 'GET', url: '/login' });
    assert.equal(login.statusCode, 200);
    for (const page of PAGES) {
      const path = page.path.replace(':name', 'acme').replace(':traceId', sample.traceId);
      const anonymous = await app.inject({ method: 'GET', url: path });
      assert.equal(anonymous.statusCode, 303, `${path} with no session`);
      assert.equal(anonymous.headers.location, `/login?next=${encodeURIComponent(path)}`);
      assert.doesNotMatch(anonymous.body, /<main/, 'no page structure for no one');
      for (const role of ROLES) {
        const res = await app.inject({ method: 'GET', url: path, cookies: { tw_session: (await sessionFor(role, '')).cookie } });
        assert.match(String(res.headers['content-type']), /^text\/html/);
        if (roleAllows(role, page.role)) {
          assert.equal(res.statusCode, 200, `${path} as ${role}`);
          assert.ok(res.body.includes(`/assets/js/pages/${page.script}.js`), `${path} as ${role}: the page's script`);
        } else {
          assert.equal(res.statusCode, 403, `${path} as ${role}`);
          assert.ok(res.body.includes(`needs the ${page.role} role`) && !res.body.includes(`/assets/js/pages/${page.script}.js`), `${path} as ${role}: the 403 page`);
        }
      }
    }
  });
});
