// Tenant isolation through the real relay and connectors: a subaccount's token reaches only its own
// backends, whatever host it names; trusted_apps; the relay's per-certificate authorisation; location ids.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent } from '../../common/audit/event.js';
import { startIdBackend, type IdAnswer, type IdBackend } from '../helpers/id-backend.js';
import { waitFor } from '../helpers/processes.js';
import { proxyRequest, refusalOf, type ProxyResponse } from '../helpers/proxy-client.js';
import { waitRoutable } from '../helpers/routable.js';
import { startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

const TOKEN_ALPHA = 'tw_test_alpha_portal_0123456789abcdef';
const TOKEN_ALPHA_UNTRUSTED = 'tw_test_alpha_intruder_0123456789abcdef';
const TOKEN_BETA = 'tw_test_beta_portal_0123456789abcdef';
const TOKEN_GAMMA = 'tw_test_gamma_app_0123456789abcdef';
const TOKEN_DELTA = 'tw_test_delta_app_0123456789abcdef';
const TOKEN_OMEGA = 'tw_test_omega_app_0123456789abcdef';

/** One resource allowing every path and method; rule ids must be unique within a subaccount. */
const all = (id: string) => [{ id, path: '/', match: 'prefix', methods: [] }];

function answer(r: ProxyResponse): IdAnswer {
  try {
    return JSON.parse(r.body) as IdAnswer;
  } catch {
    throw new Error(`not a backend answer (status ${r.status}): ${r.body.slice(0, 300)}`);
  }
}

describe('subaccount isolation', () => {
  let stack: TunnelStack;
  let backendA: IdBackend;
  let backendB: IdBackend;
  let backendBOnly: IdBackend;
  let backendEvil: IdBackend;

  const newestEvent = async (emitter: string, before: number): Promise<AuditEvent> => (await stack.waitForAudit(emitter, before + 1)).at(-1) as AuditEvent;
  const get = (url: string, token: string, headers: Record<string, string> = {}): Promise<ProxyResponse> =>
    proxyRequest(stack.proxyPort, url, { token, headers, timeoutMs: 10_000 });

  before(async () => {
    backendA = await startIdBackend('A');
    backendB = await startIdBackend('B');
    backendBOnly = await startIdBackend('B-only');
    backendEvil = await startIdBackend('evil');
    stack = await startTunnelStack({
      tokens: [
        { subaccount: 'alpha', cloudApp: 'portal', token: TOKEN_ALPHA },
        { subaccount: 'alpha', cloudApp: 'intruder', token: TOKEN_ALPHA_UNTRUSTED },
        { subaccount: 'beta', cloudApp: 'portal', token: TOKEN_BETA },
        { subaccount: 'gamma', cloudApp: 'app', token: TOKEN_GAMMA },
        { subaccount: 'delta', cloudApp: 'app', token: TOKEN_DELTA },
      ],
      connectors: [
        {
          id: 'conn-a',
          subaccounts: {
            alpha: {
              trusted_apps: ['portal'],
              mappings: [{ virtual: 'shared.virtual:8000', internal: `127.0.0.1:${backendA.port}`, protocol: 'http', resources: all('alpha-shared') }],
            },
          },
        },
        {
          id: 'conn-b',
          subaccounts: {
            beta: {
              mappings: [
                { virtual: 'shared.virtual:8000', internal: `127.0.0.1:${backendB.port}`, protocol: 'http', resources: all('beta-shared') },
                { virtual: 'beta-only.virtual:8000', internal: `127.0.0.1:${backendBOnly.port}`, protocol: 'http', resources: all('beta-only') },
              ],
            },
          },
        },
        // Registered last (so it would be the newest session if the relay routed alpha to it). Its
        // certificate is authorised for gamma only; it also claims alpha and delta.
        {
          id: 'conn-evil',
          subaccounts: {
            gamma: { mappings: [{ virtual: 'shared.virtual:8000', internal: `127.0.0.1:${backendEvil.port}`, protocol: 'http', resources: all('evil') }] },
            alpha: { mappings: [{ virtual: 'shared.virtual:8000', internal: `127.0.0.1:${backendEvil.port}`, protocol: 'http', resources: all('evil') }] },
            delta: { mappings: [{ virtual: 'shared.virtual:8000', internal: `127.0.0.1:${backendEvil.port}`, protocol: 'http', resources: all('evil') }] },
          },
        },
      ],
      authorised: [
        { cn: 'conn-a', subaccounts: ['alpha'] },
        { cn: 'conn-b', subaccounts: ['beta'] },
        { cn: 'conn-evil', subaccounts: ['gamma'] },
      ],
    });
    for (const token of [TOKEN_ALPHA, TOKEN_BETA, TOKEN_GAMMA]) await waitRoutable(stack.proxyPort, 'http://shared.virtual:8000/ready', token);
  });
  after(async () => {
    await stack?.stop();
    await Promise.all([backendA, backendB, backendBOnly, backendEvil].map((b) => b?.stop()));
  });

  test('the same virtual host reaches each subaccount\'s own backend, every time', async () => {
    const evilBefore = backendEvil.requests.length;
    for (let i = 0; i < 10; i++) {
      const [a, b] = await Promise.all([get(`http://shared.virtual:8000/who?i=${i}`, TOKEN_ALPHA), get(`http://shared.virtual:8000/who?i=${i}`, TOKEN_BETA)]);
      assert.equal(a.status, 200, a.body);
      assert.equal(b.status, 200, b.body);
      assert.equal(answer(a).backend, 'A');
      assert.equal(answer(b).backend, 'B');
      assert.equal(answer(a).url, `/who?i=${i}`);
    }
    assert.equal(backendEvil.requests.length, evilBefore, 'alpha or beta reached the backend of a connector not authorised for them');
    const eventsA = await stack.waitForAudit('conn-a', 10);
    const eventsB = await stack.waitForAudit('conn-b', 10);
    assert.ok(eventsA.every((e) => e.subaccount === 'alpha' && e.internal_port === backendA.port), 'conn-a logged a call of another subaccount');
    assert.ok(eventsB.every((e) => e.subaccount === 'beta' && e.internal_port === backendB.port), 'conn-b logged a call of another subaccount');
  });

  test('each request on one kept-alive client connection is authenticated on its own', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = (token: string | undefined): Promise<{ status: number; body: string; reused: boolean }> =>
      new Promise((resolve, reject) => {
        const headers: Record<string, string> = { host: 'shared.virtual:8000' };
        if (token) headers['proxy-authorization'] = `Bearer ${token}`;
        const req = http.request({ host: '127.0.0.1', port: stack.proxyPort, path: 'http://shared.virtual:8000/keepalive', headers, agent, timeout: 5000 });
        req.on('timeout', () => req.destroy(new Error('no answer within 5000 ms')));
        req.on('response', (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, reused: req.reusedSocket }));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      const a = await send(TOKEN_ALPHA);
      const b = await send(TOKEN_BETA);
      const none = await send(undefined);
      assert.equal(a.status, 200, a.body);
      assert.equal((JSON.parse(a.body) as IdAnswer).backend, 'A');
      assert.ok(b.reused, 'the second request did not reuse the connection: the test proves nothing');
      assert.equal(b.status, 200, b.body);
      assert.equal((JSON.parse(b.body) as IdAnswer).backend, 'B');
      assert.equal(none.status, 407, `a request without a token on an authenticated connection got ${none.status}: ${none.body}`);
    } finally {
      agent.destroy();
    }
  });

  test('the virtual host is matched case-insensitively, still within the caller\'s subaccount', async () => {
    const r = await get('http://SHARED.Virtual:8000/case', TOKEN_ALPHA);
    assert.equal(r.status, 200, r.body);
    assert.equal(answer(r).backend, 'A');
  });

  test('tunnel metadata headers from the cloud app cannot switch the subaccount and never reach the backend', async () => {
    const before = (await stack.auditEvents('conn-a')).length;
    const r = await get('http://shared.virtual:8000/spoof', TOKEN_ALPHA, {
      'tw-subaccount': 'beta',
      'tw-cloud-app': 'admin',
      'tw-location-id': 'elsewhere',
      'tw-client-ip': '10.6.6.6',
    });
    assert.equal(r.status, 200, r.body);
    const seen = answer(r);
    assert.equal(seen.backend, 'A');
    assert.deepEqual(Object.keys(seen.headers).filter((h) => h.startsWith('tw-')), []);
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    const e = await newestEvent('conn-a', before);
    assert.equal(e.subaccount, 'alpha');
    assert.equal(e.cloud_app, 'portal');
    assert.equal(e.location_id, '');
    assert.equal(e.client_ip, '127.0.0.1');
  });

  test('a host only subaccount B maps gets 403 no_mapping for A and never reaches B\'s backend', async () => {
    const seenB = backendB.requests.length;
    const seenBOnly = backendBOnly.requests.length;
    const before = (await stack.auditEvents('conn-a')).length;
    const beforeB = (await stack.auditEvents('conn-b')).length;
    const r = await get('http://beta-only.virtual:8000/', TOKEN_ALPHA);
    assert.equal(r.status, 403);
    assert.equal(r.headers['x-tunnel-deny-reason'], 'no_mapping');
    assert.equal(refusalOf(r.body)?.deny_reason, 'no_mapping');
    const e = await newestEvent('conn-a', before);
    assert.equal(e.subaccount, 'alpha');
    assert.equal(e.decision, 'deny');
    assert.equal(e.deny_reason, 'no_mapping');
    assert.equal(e.virtual_host, 'beta-only.virtual');
    assert.equal(e.internal_host, '');
    assert.equal(backendB.requests.length, seenB);
    assert.equal(backendBOnly.requests.length, seenBOnly);
    assert.equal((await stack.auditEvents('conn-b')).length, beforeB, 'alpha\'s call reached beta\'s connector');
    // And the other way round: B cannot use A's names either; its shared.virtual is its own.
    const fromB = await get('http://beta-only.virtual:8000/', TOKEN_BETA);
    assert.equal(fromB.status, 200);
    assert.equal(answer(fromB).backend, 'B-only');
  });

  test('naming another tenant\'s backend by its internal address gets 403 no_mapping', async () => {
    const seenB = backendB.requests.length;
    for (const host of [`127.0.0.1:${backendB.port}`, `localhost:${backendB.port}`, `127.0.0.1:${backendA.port}`]) {
      const r = await get(`http://${host}/who`, TOKEN_ALPHA);
      assert.equal(r.status, 403, `${host}: ${r.body}`);
      assert.equal(refusalOf(r.body)?.deny_reason, 'no_mapping', host);
    }
    assert.equal(backendB.requests.length, seenB);
  });

  test('an app of A that is not in trusted_apps gets 403 app_not_trusted', async () => {
    const seenA = backendA.requests.length;
    const before = (await stack.auditEvents('conn-a')).length;
    const r = await get('http://shared.virtual:8000/who', TOKEN_ALPHA_UNTRUSTED);
    assert.equal(r.status, 403);
    assert.equal(r.headers['x-tunnel-deny-reason'], 'app_not_trusted');
    assert.equal(refusalOf(r.body)?.deny_reason, 'app_not_trusted');
    const e = await newestEvent('conn-a', before);
    assert.equal(e.decision, 'deny');
    assert.equal(e.deny_reason, 'app_not_trusted');
    assert.equal(e.subaccount, 'alpha');
    assert.equal(e.cloud_app, 'intruder');
    assert.equal(e.status, 403);
    assert.equal(e.rule_id, '');
    assert.equal(backendA.requests.length, seenA);
  });

  test('a connector gets no subaccount its certificate is not authorised for', async () => {
    // gamma is authorised for conn-evil: it is connected and routes.
    const g = await get('http://shared.virtual:8000/who', TOKEN_GAMMA);
    assert.equal(g.status, 200, g.body);
    assert.equal(answer(g).backend, 'evil');
    // delta is claimed only by conn-evil, whose certificate is not authorised for it.
    const relayBefore = (await stack.auditEvents('relay-1')).length;
    const evilSeen = backendEvil.requests.length;
    const d = await get('http://shared.virtual:8000/who', TOKEN_DELTA);
    assert.equal(d.status, 503, d.body);
    assert.equal(refusalOf(d.body)?.deny_reason, 'no_connector');
    const e = await newestEvent('relay-1', relayBefore);
    assert.equal(e.emitter, 'relay');
    assert.equal(e.deny_reason, 'no_connector');
    assert.equal(e.subaccount, 'delta');
    assert.equal(e.status, 503);
    // alpha is claimed by conn-evil too (and conn-evil registered after conn-a), yet alpha stays with conn-a.
    for (let i = 0; i < 5; i++) {
      const a = await get('http://shared.virtual:8000/who', TOKEN_ALPHA);
      assert.equal(answer(a).backend, 'A');
    }
    assert.equal(backendEvil.requests.length, evilSeen);
    const evilLog = `${stack.connector('conn-evil')?.stdout() ?? ''}${stack.connector('conn-evil')?.stderr() ?? ''}`;
    assert.match(evilLog, /relay refused to route a subaccount/);
  });

  test('subaccount A without its connector gets 503 no_connector, not another connector that claims it', async () => {
    await stack.connector('conn-a')?.stop();
    try {
      const evilSeen = backendEvil.requests.length;
      const relayBefore = (await stack.auditEvents('relay-1')).length;
      const r = await get('http://shared.virtual:8000/who', TOKEN_ALPHA);
      assert.equal(r.status, 503, r.body);
      assert.equal(refusalOf(r.body)?.deny_reason, 'no_connector');
      const e = await newestEvent('relay-1', relayBefore);
      assert.equal(e.subaccount, 'alpha');
      assert.equal(e.deny_reason, 'no_connector');
      assert.equal(backendEvil.requests.length, evilSeen);
    } finally {
      await stack.startConnector('conn-a');
    }
    // Bounded wait for routing (resilience.test.ts checks the moment a restarted connector becomes routable).
    const again = await waitFor(
      async () => {
        const r = await get('http://shared.virtual:8000/who', TOKEN_ALPHA);
        return r.status === 200 ? r : undefined;
      },
      { timeoutMs: 3000, message: 'conn-a to route alpha again' },
    );
    assert.equal(answer(again).backend, 'A');
  });
});

describe('location ids', () => {
  let stack: TunnelStack;
  let backendDefault: IdBackend;
  let backendLocB: IdBackend;

  const newestEvent = async (emitter: string, before: number): Promise<AuditEvent> => (await stack.waitForAudit(emitter, before + 1)).at(-1) as AuditEvent;
  const get = (headers: Record<string, string> = {}): Promise<ProxyResponse> =>
    proxyRequest(stack.proxyPort, 'http://plant.virtual:8000/status', { token: TOKEN_OMEGA, headers, timeoutMs: 10_000 });

  before(async () => {
    backendDefault = await startIdBackend('default-location');
    backendLocB = await startIdBackend('loc-b');
    const mapping = (port: number) => ({ mappings: [{ virtual: 'plant.virtual:8000', internal: `127.0.0.1:${port}`, protocol: 'http', resources: all('plant') }] });
    stack = await startTunnelStack({
      tokens: [{ subaccount: 'omega', cloudApp: 'app', token: TOKEN_OMEGA }],
      connectors: [
        { id: 'conn-default', locationId: '', subaccounts: { omega: mapping(backendDefault.port) } },
        { id: 'conn-loc-b', locationId: 'loc-b', subaccounts: { omega: mapping(backendLocB.port) } },
      ],
    });
    await waitRoutable(stack.proxyPort, 'http://plant.virtual:8000/ready', TOKEN_OMEGA);
    await waitRoutable(stack.proxyPort, 'http://plant.virtual:8000/ready', TOKEN_OMEGA, { headers: { 'X-Tunnel-Location-Id': 'loc-b' } });
  });
  after(async () => {
    await stack?.stop();
    await Promise.all([backendDefault, backendLocB].map((b) => b?.stop()));
  });

  test('without the header a call reaches the default location', async () => {
    const before = (await stack.auditEvents('conn-default')).length;
    for (let i = 0; i < 3; i++) {
      const r = await get();
      assert.equal(r.status, 200, r.body);
      assert.equal(answer(r).backend, 'default-location');
    }
    const e = await newestEvent('conn-default', before);
    assert.equal(e.location_id, '');
    assert.equal(e.subaccount, 'omega');
    assert.equal(e.internal_port, backendDefault.port);
  });

  test('X-Tunnel-Location-Id: loc-b reaches loc-b, and the header is not forwarded', async () => {
    const before = (await stack.auditEvents('conn-loc-b')).length;
    const defaultBefore = (await stack.auditEvents('conn-default')).length;
    for (let i = 0; i < 3; i++) {
      const r = await get({ 'X-Tunnel-Location-Id': 'loc-b' });
      assert.equal(r.status, 200, r.body);
      const seen = answer(r);
      assert.equal(seen.backend, 'loc-b');
      assert.equal(seen.headers['x-tunnel-location-id'], undefined);
    }
    const e = await newestEvent('conn-loc-b', before);
    assert.equal(e.emitter_id, 'conn-loc-b');
    assert.equal(e.location_id, 'loc-b');
    assert.equal(e.internal_port, backendLocB.port);
    assert.equal((await stack.auditEvents('conn-default')).length, defaultBefore);
  });

  test('an unknown location id gets 503 no_connector with a relay event carrying the location id', async () => {
    const before = (await stack.auditEvents('relay-1')).length;
    const seen = backendDefault.requests.length + backendLocB.requests.length;
    const r = await get({ 'X-Tunnel-Location-Id': 'loc-x' });
    assert.equal(r.status, 503, r.body);
    assert.equal(refusalOf(r.body)?.deny_reason, 'no_connector');
    const e = await newestEvent('relay-1', before);
    assert.equal(e.deny_reason, 'no_connector');
    assert.equal(e.location_id, 'loc-x');
    assert.equal(e.subaccount, 'omega');
    assert.equal(e.status, 503);
    assert.equal(backendDefault.requests.length + backendLocB.requests.length, seen);
  });

  test('a malformed location id gets 400 malformed_request', async () => {
    const r = await get({ 'X-Tunnel-Location-Id': '-bad/id' });
    assert.equal(r.status, 400, r.body);
    assert.equal(refusalOf(r.body)?.deny_reason, 'malformed_request');
  });

  test('with the loc-b connector down, loc-b calls get 503 instead of falling back to the default', async () => {
    await stack.connector('conn-loc-b')?.stop();
    try {
      const seenDefault = backendDefault.requests.length;
      const r = await get({ 'X-Tunnel-Location-Id': 'loc-b' });
      assert.equal(r.status, 503, r.body);
      assert.equal(refusalOf(r.body)?.deny_reason, 'no_connector');
      assert.equal(backendDefault.requests.length, seenDefault);
    } finally {
      await stack.startConnector('conn-loc-b');
    }
  });
});
