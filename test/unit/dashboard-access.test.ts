// The dashboard's access hook on its own: routes without a declared role are refused at registration,
// and every request meets the role check and (for browser sessions) the CSRF check before its handler.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { installAccessControl, installErrorHandling } from '../../dashboard/app.js';
import type { AuthService } from '../../dashboard/context.js';
import type { Principal } from '../../dashboard/roles.js';

const PRINCIPALS: Record<string, Principal> = {
  viewer: { name: 'v', role: 'viewer', via: 'token', subaccounts: '*' },
  analyst: { name: 'a', role: 'analyst', via: 'token', subaccounts: '*' },
  admin: { name: 'root', role: 'admin', via: 'token', subaccounts: '*' },
  'admin-session': { name: 'root', role: 'admin', via: 'local', subaccounts: '*', sessionId: 's1' },
};

const auth: AuthService = {
  identify: async (request) => PRINCIPALS[String(request.headers['x-who'] ?? '')],
  checkCsrf: (request) => request.headers['x-csrf-token'] === 'good',
};

async function app(): Promise<{ app: FastifyInstance; handled: string[] }> {
  const handled: string[] = [];
  const a = Fastify();
  installAccessControl(a, auth);
  installErrorHandling(a, pino({ level: 'silent' }));
  a.get('/open', { config: { access: 'public' } }, async () => void handled.push('open'));
  a.get('/view', { config: { access: 'viewer' } }, async (request) => {
    handled.push('view');
    return { who: request.principal?.name };
  });
  a.get('/calls', { config: { access: 'analyst' } }, async () => void handled.push('calls'));
  a.post('/tokens', { config: { access: 'admin' } }, async () => void handled.push('tokens'));
  await a.ready();
  return { app: a, handled };
}

describe('dashboard access control', () => {
  test('a route that declares no access is refused when it is registered', async () => {
    const a = Fastify();
    installAccessControl(a, auth);
    assert.throws(() => a.get('/forgotten', async () => 'secret'), /declares no config\.access/);
    await a.close();
  });

  test('role matrix: nobody, viewer, analyst, admin against viewer/analyst/admin routes', async () => {
    const { app: a, handled } = await app();
    const cases: [string, string, string | undefined, number][] = [
      ['GET', '/open', undefined, 200],
      ['GET', '/view', undefined, 401],
      ['GET', '/view', 'viewer', 200],
      ['GET', '/calls', 'viewer', 403],
      ['GET', '/calls', 'analyst', 200],
      ['GET', '/calls', 'admin', 200],
      ['POST', '/tokens', 'analyst', 403],
      ['POST', '/tokens', 'admin', 200],
      ['GET', '/view', 'nobody-known', 401],
    ];
    for (const [method, url, who, status] of cases) {
      const r = await a.inject({ method: method as 'GET', url, headers: who ? { 'x-who': who } : {} });
      assert.equal(r.statusCode, status, `${method} ${url} as ${who ?? 'nobody'}: ${r.body}`);
      if (status >= 400) {
        const body = JSON.parse(r.body) as { error: { code: string } };
        assert.equal(body.error.code, status === 401 ? 'TW_ERR_DASH_UNAUTHENTICATED' : 'TW_ERR_DASH_FORBIDDEN');
      }
    }
    // Handlers ran only for the allowed calls.
    assert.deepEqual(handled, ['open', 'view', 'calls', 'calls', 'tokens']);
    await a.close();
  });

  test('a browser session needs the CSRF token for state-changing requests; an API token does not', async () => {
    const { app: a, handled } = await app();
    const noCsrf = await a.inject({ method: 'POST', url: '/tokens', headers: { 'x-who': 'admin-session' } });
    assert.equal(noCsrf.statusCode, 403);
    assert.equal((JSON.parse(noCsrf.body) as { error: { code: string } }).error.code, 'TW_ERR_DASH_CSRF');
    const wrong = await a.inject({ method: 'POST', url: '/tokens', headers: { 'x-who': 'admin-session', 'x-csrf-token': 'bad' } });
    assert.equal(wrong.statusCode, 403);
    const good = await a.inject({ method: 'POST', url: '/tokens', headers: { 'x-who': 'admin-session', 'x-csrf-token': 'good' } });
    assert.equal(good.statusCode, 200);
    const token = await a.inject({ method: 'POST', url: '/tokens', headers: { 'x-who': 'admin' } });
    assert.equal(token.statusCode, 200);
    // GET needs no CSRF token even in a session.
    const view = await a.inject({ method: 'GET', url: '/view', headers: { 'x-who': 'admin-session' } });
    assert.equal(JSON.parse(view.body).who, 'root');
    assert.deepEqual(handled, ['tokens', 'tokens', 'view']);
    await a.close();
  });

  test('unknown routes get the JSON 404, not a stack or HTML', async () => {
    const { app: a } = await app();
    const r = await a.inject({ url: '/nope/../../etc/passwd' });
    assert.equal(r.statusCode, 404);
    assert.equal((JSON.parse(r.body) as { error: { code: string } }).error.code, 'TW_ERR_DASH_NOT_FOUND');
    await a.close();
  });
});
