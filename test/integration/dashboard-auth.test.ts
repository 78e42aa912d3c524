// Sign-in, sessions, CSRF, throttling, API tokens and admin events through the real auth service and the
// real dashboard app (createDashboardContext + buildDashboardApp) on a real embedded store, by inject().
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { buildDashboardApp } from '../../dashboard/app.js';
import { createAdminAudit } from '../../dashboard/auth/admin-audit.js';
import { eventFromRow, verifyAdminChain, type AdminEvent } from '../../dashboard/auth/admin-events.js';
import { sha256Hex } from '../../dashboard/auth/api-tokens.js';
import { createAuthService } from '../../dashboard/auth/auth-service.js';
import { hashPassword } from '../../dashboard/auth/password.js';
import type { DashboardSettings } from '../../dashboard/config-schema.js';
import type { DashboardContext } from '../../dashboard/context.js';
import { createDashboardContext } from '../../dashboard/dashboard.js';
import { openTestStore, TEST_SETTINGS, type TestStore } from '../helpers/dashboard.js';

const log = pino({ level: 'silent' });
const PASSWORDS = { ada: 'ada-correct-horse', vic: 'vic-battery-staple', ann: 'ann-acme-only', tess: 'tess-t1', theo: 'theo-t2' } as const;
const CONFIG_TOKEN = 'automation-token-from-the-config-file';

let ts: TestStore;
let ctx: DashboardContext;
let app: FastifyInstance;
let settings: DashboardSettings;
let ipCounter = 0;

/** A client address of its own per test, so that throttling in one test does not spill into another. */
function freshIp(): string {
  ipCounter++;
  return `10.1.${Math.floor(ipCounter / 250)}.${ipCounter % 250}`;
}

interface SignedIn {
  readonly cookie: string;
  readonly csrf: string;
}

async function attempt(username: string, password: string, ip = freshIp(), headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/api/v1/session', payload: { username, password }, remoteAddress: ip, headers: { 'user-agent': 'auth-test/1', ...headers } });
}

async function signIn(username: keyof typeof PASSWORDS, ip = freshIp()): Promise<SignedIn> {
  const res = await attempt(username, PASSWORDS[username], ip);
  assert.equal(res.statusCode, 200, res.body);
  const cookie = res.cookies.find((c) => c.name === 'tw_session');
  assert.ok(cookie, 'session cookie set');
  return { cookie: cookie.value, csrf: (res.json() as { csrf_token: string }).csrf_token };
}

function asSession(s: SignedIn, withCsrf = true): { cookies: Record<string, string>; headers: Record<string, string> } {
  return { cookies: { tw_session: s.cookie }, headers: withCsrf ? { 'x-csrf-token': s.csrf } : {} };
}

async function chainEvents(): Promise<AdminEvent[]> {
  const rows = await ts.store.query<Record<string, unknown>>('SELECT * FROM admin_events FINAL ORDER BY emitter_id, seq');
  return rows.map(eventFromRow);
}

before(async () => {
  ts = await openTestStore();
  settings = {
    ...TEST_SETTINGS,
    login_rate_limit: { max_attempts: 4, window_s: 120 },
    users: [
      { name: 'ada', role: 'admin', password_hash: await hashPassword(PASSWORDS.ada) },
      { name: 'vic', role: 'viewer', password_hash: await hashPassword(PASSWORDS.vic) },
      { name: 'ann', role: 'admin', password_hash: await hashPassword(PASSWORDS.ann), subaccounts: ['acme'] },
      // Only for the throttling test, whose names stay locked for the rest of the run.
      { name: 'tess', role: 'analyst', password_hash: await hashPassword(PASSWORDS.tess) },
      { name: 'theo', role: 'analyst', password_hash: await hashPassword(PASSWORDS.theo) },
    ],
    api_tokens: [{ name: 'ci-export', role: 'analyst', sha256: sha256Hex(CONFIG_TOKEN), subaccounts: ['globex'] }],
  };
  ctx = await createDashboardContext(settings, ts.store, join(ts.dir, 'collector.yaml'), log);
  app = await buildDashboardApp(ctx);
  await app.ready();
});

after(async () => {
  await app?.close();
  await ts?.close();
});

describe('dashboard sign-in', () => {
  it('signs a local user in with an HttpOnly, SameSite=Strict session cookie that is not Secure over plain HTTP', async () => {
    const before = Date.now();
    const res = await attempt('ada', PASSWORDS.ada);
    assert.equal(res.statusCode, 200, res.body);
    const cookie = res.cookies.find((c) => c.name === 'tw_session');
    assert.ok(cookie);
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(cookie.path, '/');
    assert.notEqual(cookie.secure, true);
    assert.equal(cookie.maxAge, undefined, 'a browser session cookie, gone when the browser closes');
    assert.match(cookie.value, /^[A-Za-z0-9_-]{43}$/);

    const me = await app.inject({ method: 'GET', url: '/api/v1/session', cookies: { tw_session: cookie.value } });
    assert.equal(me.statusCode, 200, me.body);
    const body = me.json() as { name: string; role: string; via: string; subaccounts: unknown; csrf_token: string; expires_at: string };
    assert.deepEqual({ name: body.name, role: body.role, via: body.via, subaccounts: body.subaccounts }, { name: 'ada', role: 'admin', via: 'local', subaccounts: '*' });
    assert.match(body.csrf_token, /^[A-Za-z0-9_-]{43}$/);
    // Idle expiry (30 min) comes before the absolute limit (12 h).
    const expires = Date.parse(body.expires_at) - before;
    assert.ok(expires >= 30 * 60_000 && expires < 30 * 60_000 + 60_000, `expires in ${expires} ms`);
  });

  it('marks the session cookie Secure when the dashboard serves HTTPS', async () => {
    const auth = await createAuthService({ settings: { ...settings, tls: { cert: 'c.pem', key: 'k.pem' } }, store: ts.store, configFile: ctx.configFile, adminAudit: ctx.adminAudit, log });
    const tlsApp = await buildDashboardApp({ ...ctx, auth });
    try {
      const res = await tlsApp.inject({ method: 'POST', url: '/api/v1/session', payload: { username: 'vic', password: PASSWORDS.vic }, remoteAddress: freshIp() });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.cookies.find((c) => c.name === 'tw_session')?.secure, true);
    } finally {
      await tlsApp.close();
    }
  });

  it('gives a wrong password, an unknown user and an empty password the same 401, and records why in admin events', async () => {
    const answers = [];
    for (const [user, password] of [['vic', 'not-it'], ['mallory', 'whatever'], ['vic', '']] as const) {
      const res = await attempt(user, password);
      assert.equal(res.statusCode, 401);
      assert.equal(res.cookies.length, 0);
      answers.push(res.json());
    }
    assert.deepEqual(answers[0], answers[1]);
    assert.deepEqual(answers[1], answers[2]);
    assert.equal((answers[0] as { error: { code: string } }).error.code, 'TW_ERR_DASH_LOGIN_FAILED');

    const failures = (await chainEvents()).filter((e) => e.action === 'login.failure').slice(-3);
    assert.deepEqual(failures.map((e) => [e.target, e.reason, e.actor, e.outcome, e.user_agent]), [
      ['vic', 'wrong_password', '', 'failure', 'auth-test/1'],
      ['mallory', 'unknown_user', '', 'failure', 'auth-test/1'],
      ['vic', 'empty_password', '', 'failure', 'auth-test/1'],
    ]);
  });

  it('refuses user names with control characters before anything is tried', async () => {
    const res = await attempt('ada\nforged log line', PASSWORDS.ada);
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'TW_ERR_DASH_BAD_REQUEST');
  });

  it('refuses a sign-in posted from another origin', async () => {
    const res = await attempt('ada', PASSWORDS.ada, freshIp(), { origin: 'https://evil.example' });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().error.code, 'TW_ERR_DASH_CSRF');
    assert.equal(res.cookies.length, 0);
  });

  it('refuses a state-changing session request without the right CSRF token or from another origin', async () => {
    const s = await signIn('vic');
    const del = (extra: { headers?: Record<string, string>; withCsrf?: boolean }) => {
      const base = asSession(s, extra.withCsrf ?? true);
      return app.inject({ method: 'DELETE', url: '/api/v1/session', cookies: base.cookies, headers: { ...base.headers, ...extra.headers } });
    };
    const missing = await del({ withCsrf: false });
    assert.equal(missing.statusCode, 403);
    assert.equal(missing.json().error.code, 'TW_ERR_DASH_CSRF');
    // The token with its last character changed (to one it is not: a fixed 'A' was the token itself
    // once in 64 runs, and then the request rightly succeeded).
    const wrongToken = `${s.csrf.slice(0, -1)}${s.csrf.endsWith('A') ? 'B' : 'A'}`;
    assert.notEqual(wrongToken, s.csrf);
    const wrong = await del({ withCsrf: false, headers: { 'x-csrf-token': wrongToken } });
    assert.equal(wrong.statusCode, 403);
    assert.equal(wrong.json().error.code, 'TW_ERR_DASH_CSRF');
    const crossSite = await del({ headers: { origin: 'https://evil.example' } });
    assert.equal(crossSite.json().error.code, 'TW_ERR_DASH_CSRF');
    // Still signed in after all three refusals.
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/session', cookies: { tw_session: s.cookie } })).statusCode, 200);

    const ok = await del({ headers: { origin: 'http://localhost:80' } });
    assert.equal(ok.statusCode, 204, ok.body);
    const cleared = ok.cookies.find((c) => c.name === 'tw_session');
    assert.equal(cleared?.value, '');
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/session', cookies: { tw_session: s.cookie } })).statusCode, 401);
    const logout = (await chainEvents()).filter((e) => e.action === 'logout').at(-1);
    assert.equal(logout?.actor, 'vic');
  });

  it('throttles by client address and by user name, with Retry-After, and records the throttling once', async () => {
    const ip = freshIp();
    for (let i = 0; i < 4; i++) assert.equal((await attempt('tess', 'guess', ip)).statusCode, 401);
    const throttled = await attempt('tess', PASSWORDS.tess, ip);
    assert.equal(throttled.statusCode, 429, 'even the right password waits');
    assert.equal(throttled.json().error.code, 'TW_ERR_DASH_LOGIN_THROTTLED');
    const retry = Number(throttled.headers['retry-after']);
    assert.ok(retry >= 1 && retry <= 120, `Retry-After ${retry}`);
    assert.equal((await attempt('tess', 'guess', ip)).statusCode, 429);

    // Per name: guesses for theo from ever new addresses stop at the limit too.
    for (let i = 0; i < 4; i++) assert.equal((await attempt('theo', 'guess')).statusCode, 401);
    assert.equal((await attempt('theo', PASSWORDS.theo)).statusCode, 429);

    // Successful sign-ins do not count against an address.
    const busy = freshIp();
    for (let i = 0; i < 6; i++) await signIn('vic', busy);

    const throttleEvents = (await chainEvents()).filter((e) => e.reason.startsWith('throttled'));
    assert.deepEqual(throttleEvents.map((e) => [e.target, e.client_ip, e.reason]), [
      ['tess', ip, 'throttled: by client address'],
      ['theo', throttleEvents[1]?.client_ip ?? '', 'throttled: by user name'],
    ]);
  });
});

describe('API tokens', () => {
  it('creates a token shown once, accepts it as Bearer, lists it without the secret, and refuses it once revoked', async () => {
    const ada = await signIn('ada');
    const created = await app.inject({ method: 'POST', url: '/api/v1/tokens', ...asSession(ada), payload: { name: 'siem', role: 'analyst', subaccounts: ['acme'] } });
    assert.equal(created.statusCode, 201, created.body);
    const { token, info } = created.json() as { token: string; info: { id: string; name: string; created_by: string } };
    assert.match(token, /^tw_[A-Za-z0-9_-]{43}$/);
    assert.equal(info.created_by, 'ada');

    const me = await app.inject({ method: 'GET', url: '/api/v1/session', headers: { authorization: `Bearer ${token}` } });
    assert.equal(me.statusCode, 200, me.body);
    assert.deepEqual(me.json(), { name: 'siem', role: 'analyst', via: 'token', subaccounts: ['acme'], csrf_token: '', expires_at: '' });

    const list = await app.inject({ method: 'GET', url: '/api/v1/tokens', cookies: { tw_session: ada.cookie } });
    assert.equal(list.statusCode, 200);
    assert.ok(!list.body.includes(token) && !list.body.includes(sha256Hex(token)), 'neither the token nor its hash is listed');
    const names = (list.json() as { tokens: { name: string; source: string }[] }).tokens.map((t) => `${t.source}:${t.name}`);
    assert.deepEqual(names, ['config:ci-export', 'dashboard:siem']);

    // Tokens need no CSRF token, but cannot reach admin routes with an analyst role.
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/tokens', headers: { authorization: `Bearer ${token}` } })).statusCode, 403);

    const revoked = await app.inject({ method: 'DELETE', url: `/api/v1/tokens/${info.id}`, ...asSession(ada) });
    assert.equal(revoked.statusCode, 200, revoked.body);
    assert.notEqual(revoked.json().revoked_at, '');
    assert.equal(revoked.json().revoked_by, 'ada');
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/session', headers: { authorization: `Bearer ${token}` } })).statusCode, 401);

    const events = (await chainEvents()).filter((e) => e.action.startsWith('token.'));
    assert.deepEqual(events.map((e) => [e.action, e.actor, e.target]), [['token.create', 'ada', 'siem'], ['token.revoke', 'ada', 'siem']]);
    assert.equal(JSON.parse(events[0]!.after).role, 'analyst');
    assert.equal(JSON.parse(events[1]!.before).revoked_at, '');
    assert.notEqual(JSON.parse(events[1]!.after).revoked_at, '');
    assert.ok(!events.some((e) => e.after.includes(token)), 'the token itself is never recorded');
  });

  it('accepts config-file tokens by hash and will not revoke them from the dashboard', async () => {
    const me = await app.inject({ method: 'GET', url: '/api/v1/session', headers: { authorization: `Bearer ${CONFIG_TOKEN}` } });
    assert.deepEqual(me.json(), { name: 'ci-export', role: 'analyst', via: 'token', subaccounts: ['globex'], csrf_token: '', expires_at: '' });
    const ada = await signIn('ada');
    const res = await app.inject({ method: 'DELETE', url: '/api/v1/tokens/config:ci-export', ...asSession(ada) });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().error.message, /config file/);
  });

  it('keeps an admin limited to some subaccounts from minting a token that sees more', async () => {
    const ann = await signIn('ann');
    const wide = await app.inject({ method: 'POST', url: '/api/v1/tokens', ...asSession(ann), payload: { name: 'wide', role: 'viewer', subaccounts: ['acme', 'globex'] } });
    assert.equal(wide.statusCode, 403);
    const own = await app.inject({ method: 'POST', url: '/api/v1/tokens', ...asSession(ann), payload: { name: 'acme-view', role: 'viewer', expires_days: 30 } });
    assert.equal(own.statusCode, 201, own.body);
    const info = own.json().info as { subaccounts: unknown; expires_at: string };
    assert.deepEqual(info.subaccounts, ['acme'], 'defaults to the creator\'s scope');
    const days = (Date.parse(info.expires_at) - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days <= 30, `expires in ${days} days`);
  });

  it('refuses a viewer every admin route, and an admin request without its CSRF token', async () => {
    const vic = await signIn('vic');
    for (const [method, url] of [['GET', '/api/v1/tokens'], ['POST', '/api/v1/tokens'], ['DELETE', '/api/v1/tokens/x'], ['GET', '/api/v1/admin/events']] as const) {
      const res = await app.inject({ method, url, ...asSession(vic), ...(method === 'POST' ? { payload: { name: 'x', role: 'viewer' } } : {}) });
      assert.equal(res.statusCode, 403, `${method} ${url}`);
      assert.equal(res.json().error.code, 'TW_ERR_DASH_FORBIDDEN');
    }
    const ada = await signIn('ada');
    const noCsrf = await app.inject({ method: 'POST', url: '/api/v1/tokens', ...asSession(ada, false), payload: { name: 'sneaky', role: 'admin' } });
    assert.equal(noCsrf.statusCode, 403);
    assert.equal(noCsrf.json().error.code, 'TW_ERR_DASH_CSRF');
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/tokens' })).statusCode, 401);
  });
});

describe('admin events', () => {
  it('lists admin events newest first with filters, to admins who see every subaccount', async () => {
    const ada = await signIn('ada');
    const all = await app.inject({ method: 'GET', url: '/api/v1/admin/events?limit=500', cookies: { tw_session: ada.cookie } });
    assert.equal(all.statusCode, 200, all.body);
    const page = all.json() as { events: AdminEvent[]; total: number };
    const stored = await chainEvents();
    assert.equal(page.total, stored.length);
    assert.deepEqual(page.events.map((e) => e.seq), stored.map((e) => e.seq).reverse());

    const failures = await app.inject({ method: 'GET', url: '/api/v1/admin/events?outcome=failure&action=login.failure&user=mallory', cookies: { tw_session: ada.cookie } });
    const f = failures.json() as { events: AdminEvent[]; total: number };
    assert.equal(f.total, 1);
    assert.equal(f.events[0]?.reason, 'unknown_user');

    const paged = await app.inject({ method: 'GET', url: '/api/v1/admin/events?limit=2&offset=1&action=login.success', cookies: { tw_session: ada.cookie } });
    const p = paged.json() as { events: AdminEvent[]; total: number };
    const successes = stored.filter((e) => e.action === 'login.success').reverse();
    assert.equal(p.total, successes.length);
    assert.deepEqual(p.events.map((e) => e.event_id), successes.slice(1, 3).map((e) => e.event_id));

    const ann = await signIn('ann');
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/admin/events', cookies: { tw_session: ann.cookie } })).statusCode, 403);
  });

  it('chains every admin event (seq from 1, prev_hash, SHA-256 over canonical JSON), and a changed event breaks the chain', async () => {
    const events = await chainEvents();
    assert.ok(events.length > 20, `${events.length} events`);
    assert.equal(new Set(events.map((e) => e.emitter_id)).size, 1, 'one dashboard, one chain');
    assert.match(events[0]!.emitter_id, /^dashboard@/);
    assert.ok(events.every((e) => e.schema === 'tunnelwatch.admin/1' && e.emitter === 'dashboard'));
    const check = verifyAdminChain(events);
    assert.equal(check.ok, true, JSON.stringify(check.problem));
    assert.equal(check.lastSeq, events.length);

    const tampered = events.map((e, i) => (i === 5 ? { ...e, reason: 'nothing to see' } : e));
    assert.deepEqual(verifyAdminChain(tampered).problem?.seq, 6);
    const dropped = events.filter((_, i) => i !== 7);
    assert.match(verifyAdminChain(dropped).problem?.reason ?? '', /missing/);
  });

  it('refuses a sign-in whose admin event cannot be stored (503), then carries on with the chain intact', async () => {
    const before = await chainEvents();
    await ts.store.client.command({ query: 'RENAME TABLE admin_events TO admin_events_away' });
    let res: LightMyRequestResponse;
    try {
      res = await attempt('ada', PASSWORDS.ada);
    } finally {
      await ts.store.client.command({ query: 'RENAME TABLE admin_events_away TO admin_events' });
    }
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(res.json().error.code, 'TW_ERR_DASH_STORE_UNAVAILABLE');
    assert.equal(res.cookies.length, 0, 'no session without its record');

    await signIn('ada');
    const afterwards = await chainEvents();
    assert.equal(afterwards.length, before.length + 1);
    assert.equal(verifyAdminChain(afterwards).ok, true);
  });

  it('resumes the chain from the store after a restart', async () => {
    const events = await chainEvents();
    const restarted = await createAdminAudit(ts.store, log, { emitterId: events[0]!.emitter_id });
    await restarted.record({ action: 'logout', outcome: 'success', actor: 'ada', actor_role: 'admin', via: 'local', target: 'ada', client_ip: '10.9.9.9', user_agent: '', reason: 'after restart' });
    const all = await chainEvents();
    assert.equal(all.at(-1)?.seq, events.length + 1);
    assert.equal(all.at(-1)?.prev_hash, events.at(-1)?.hash);
    assert.equal(verifyAdminChain(all).ok, true);
  });

  it('documents the session, token and admin event routes in the OpenAPI description', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
    assert.deepEqual(Object.keys(doc.paths['/api/v1/session'] ?? {}).sort(), ['delete', 'get', 'post']);
    assert.deepEqual(Object.keys(doc.paths['/api/v1/tokens'] ?? {}).sort(), ['get', 'post']);
    assert.ok(doc.paths['/api/v1/tokens/{id}']?.delete);
    assert.ok(doc.paths['/api/v1/admin/events']?.get);
  });
});
