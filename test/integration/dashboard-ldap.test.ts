// LDAP sign-in against a real slapd: groups map to roles and scopes; a wrong password, an unknown user, a
// user in no mapped group, an empty password, a filter-injection attempt and an unreachable or silent
// directory each give a clear answer, let nobody in, and leave an admin event saying why.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { buildDashboardApp } from '../../dashboard/app.js';
import { eventFromRow, verifyAdminChain, type AdminEvent } from '../../dashboard/auth/admin-events.js';
import { createAuthService } from '../../dashboard/auth/auth-service.js';
import { hashPassword } from '../../dashboard/auth/password.js';
import type { DashboardSettings } from '../../dashboard/config-schema.js';
import type { DashboardContext } from '../../dashboard/context.js';
import { createDashboardContext } from '../../dashboard/dashboard.js';
import { openTestStore, TEST_SETTINGS, type TestStore } from '../helpers/dashboard.js';
import { freePort } from '../helpers/ports.js';
import { startSlapd, type Slapd } from '../helpers/slapd.js';

const log = pino({ level: 'silent' });

let ts: TestStore;
let slapd: Slapd;
let ctx: DashboardContext;
let app: FastifyInstance;
let ldapSettings: NonNullable<DashboardSettings['ldap']>;
const extraApps: FastifyInstance[] = [];
const silentServers: net.Server[] = [];
let ip = 0;

function ldapConfig(overrides: Partial<NonNullable<DashboardSettings['ldap']>> = {}): DashboardSettings {
  return { ...TEST_SETTINGS, ldap: { ...ldapSettings, ...overrides } };
}

/** An app whose auth service has other settings, recording into the same admin event chain. */
async function appWith(settings: DashboardSettings): Promise<FastifyInstance> {
  const auth = await createAuthService({ settings, store: ts.store, configFile: ctx.configFile, adminAudit: ctx.adminAudit, log });
  const other = await buildDashboardApp({ ...ctx, settings, auth });
  extraApps.push(other);
  return other;
}

async function signIn(username: string, password: string, on: FastifyInstance = app): Promise<LightMyRequestResponse> {
  ip++;
  return on.inject({ method: 'POST', url: '/api/v1/session', payload: { username, password }, remoteAddress: `10.2.0.${ip}` });
}

async function lastEvent(): Promise<AdminEvent> {
  const rows = await ts.store.query<Record<string, unknown>>('SELECT * FROM admin_events FINAL ORDER BY seq DESC LIMIT 1');
  return eventFromRow(rows[0] ?? {});
}

function assertRefused(res: LightMyRequestResponse, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.json().error.code, code);
  assert.equal(res.cookies.length, 0, 'no session cookie');
}

before(async () => {
  [ts, slapd] = await Promise.all([openTestStore(), startSlapd()]);
  await writeFile(join(ts.dir, 'ldap-bind.txt'), `${slapd.servicePassword}\n`, { mode: 0o600 });
  ldapSettings = {
    url: slapd.url,
    bind_dn: slapd.serviceDn,
    bind_password_file: 'ldap-bind.txt',
    user_base: slapd.peopleDn,
    user_filter: '(uid={username})',
    group_base: slapd.groupsDn,
    group_filter: '(|(member={dn})(uniqueMember={dn}))',
    group_roles: [
      { group: 'soc-analysts', role: 'analyst', subaccounts: ['acme'] },
      // By DN, with other spacing and case than the directory's: still the same group.
      { group: `CN=admins, ${slapd.groupsDn}`, role: 'admin' },
      { group: 'globex-viewers', role: 'viewer', subaccounts: ['globex'] },
    ],
    timeout_ms: 2000,
  };
  ctx = await createDashboardContext(ldapConfig(), ts.store, join(ts.dir, 'collector.yaml'), log);
  app = await buildDashboardApp(ctx);
});

after(async () => {
  await Promise.all([app?.close(), ...extraApps.map((a) => a.close())]);
  for (const s of silentServers) s.close();
  await Promise.all([slapd?.stop(), ts?.close()]);
});

describe('LDAP sign-in', () => {
  it('maps a member of soc-analysts to analyst limited to acme', async () => {
    const res = await signIn('alice', slapd.users.alice.password);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.deepEqual([body.name, body.role, body.via, body.subaccounts], ['alice', 'analyst', 'ldap', ['acme']]);
    const me = await app.inject({ method: 'GET', url: '/api/v1/session', cookies: { tw_session: res.cookies[0]!.value } });
    assert.equal(me.json().role, 'analyst');
    const event = await lastEvent();
    assert.deepEqual([event.action, event.actor, event.actor_role, event.via, event.reason], ['login.success', 'alice', 'analyst', 'ldap', 'groups: soc-analysts']);
  });

  it('maps a group given by DN (admins) to admin over every subaccount', async () => {
    const res = await signIn('bob', slapd.users.bob.password);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual([res.json().role, res.json().subaccounts], ['admin', '*']);
  });

  it('gives a member of two mapped groups the higher role and both scopes', async () => {
    const res = await signIn('dave', slapd.users.dave.password);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual([res.json().role, res.json().subaccounts], ['analyst', ['acme', 'globex']]);
  });

  it('refuses a wrong password', async () => {
    assertRefused(await signIn('alice', 'not-alices-password'), 401, 'TW_ERR_DASH_LOGIN_FAILED');
    const event = await lastEvent();
    assert.deepEqual([event.action, event.target, event.actor, event.reason], ['login.failure', 'alice', '', 'wrong_password: the directory refused the password']);
  });

  it('refuses an unknown user', async () => {
    assertRefused(await signIn('zed', 'anything'), 401, 'TW_ERR_DASH_LOGIN_FAILED');
    assert.equal((await lastEvent()).reason, 'unknown_user: no entry matches the user filter');
  });

  it('refuses a user in no mapped group although the password is right', async () => {
    assertRefused(await signIn('carol', slapd.users.carol.password), 401, 'TW_ERR_DASH_LOGIN_FAILED');
    const event = await lastEvent();
    assert.deepEqual([event.target, event.reason], ['carol', 'no_role: in no mapped group (member of 1 group(s))']);
  });

  it('refuses an empty password before any bind (it would be an anonymous bind)', async () => {
    assertRefused(await signIn('alice', ''), 401, 'TW_ERR_DASH_LOGIN_FAILED');
    assert.equal((await lastEvent()).reason, 'empty_password');
  });

  it('escapes the user name in the search filter, so wildcards and filter syntax match nothing', async () => {
    for (const name of ['a*', '*', 'alice)(uid=*', '*)(|(uid=*']) {
      assertRefused(await signIn(name, slapd.users.alice.password), 401, 'TW_ERR_DASH_LOGIN_FAILED');
      const event = await lastEvent();
      assert.deepEqual([event.target, event.reason.split(':')[0]], [name, 'unknown_user']);
    }
  });

  it('never passes a local user name on to LDAP', async () => {
    const local = await appWith({ ...ldapConfig(), users: [{ name: 'alice', role: 'viewer', password_hash: await hashPassword('local-alice') }] });
    assertRefused(await signIn('alice', slapd.users.alice.password, local), 401, 'TW_ERR_DASH_LOGIN_FAILED');
    assert.equal((await lastEvent()).reason, 'wrong_password');
    const res = await signIn('alice', 'local-alice', local);
    assert.deepEqual([res.statusCode, res.json().via, res.json().role], [200, 'local', 'viewer']);
  });

  it('reports a refused service account as the directory being unavailable', async () => {
    await writeFile(join(ts.dir, 'wrong-bind.txt'), 'not-the-service-password\n');
    const misconfigured = await appWith(ldapConfig({ bind_password_file: 'wrong-bind.txt' }));
    assertRefused(await signIn('alice', slapd.users.alice.password, misconfigured), 503, 'TW_ERR_DASH_LDAP_UNAVAILABLE');
    assert.equal((await lastEvent()).reason, 'ldap_unavailable: service bind: LDAP result 49 (InvalidCredentialsError)');
  });

  it('answers 503 within timeout_ms when the directory accepts connections but never answers', async () => {
    const server = net.createServer(() => undefined);
    silentServers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const silent = await appWith(ldapConfig({ url: `ldap://127.0.0.1:${port}`, timeout_ms: 300 }));
    const started = Date.now();
    assertRefused(await signIn('alice', slapd.users.alice.password, silent), 503, 'TW_ERR_DASH_LDAP_UNAVAILABLE');
    const took = Date.now() - started;
    assert.ok(took >= 250 && took < 3000, `answered after ${took} ms`);
    assert.match((await lastEvent()).reason, /^ldap_unavailable: service bind: /);
  });

  it('answers 503 when nothing listens at the LDAP address', async () => {
    const closed = await appWith(ldapConfig({ url: `ldap://127.0.0.1:${await freePort()}` }));
    assertRefused(await signIn('bob', slapd.users.bob.password, closed), 503, 'TW_ERR_DASH_LDAP_UNAVAILABLE');
    assert.equal((await lastEvent()).reason, 'ldap_unavailable: service bind: ECONNREFUSED');
  });

  it('answers 503 once slapd is stopped, and the admin events of all of it form one valid chain', async () => {
    await slapd.stop();
    assertRefused(await signIn('alice', slapd.users.alice.password), 503, 'TW_ERR_DASH_LDAP_UNAVAILABLE');
    const rows = await ts.store.query<Record<string, unknown>>('SELECT * FROM admin_events FINAL ORDER BY seq');
    const events = rows.map(eventFromRow);
    assert.equal(verifyAdminChain(events).ok, true);
    const outcomes = events.map((e) => `${e.outcome}:${e.target}:${e.reason.split(':')[0]}`);
    assert.deepEqual(outcomes.filter((o) => o.startsWith('success')), ['success:alice:groups', 'success:bob:groups', 'success:dave:groups', 'success:alice:']);
    assert.equal(outcomes.filter((o) => o.endsWith('ldap_unavailable')).length, 4);
  });
});
