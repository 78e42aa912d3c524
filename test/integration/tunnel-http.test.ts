// curl -> relay -> tunnel -> connector -> nginx, each case with the audit event it must write.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent } from '../../common/audit/event.js';
import { startNginx, type Nginx } from '../helpers/nginx.js';
import { run } from '../helpers/processes.js';
import { startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

const TOKEN = 'tw_test_acme_portal_0123456789abcdef';

let nginx: Nginx;
let stack: TunnelStack;

async function curl(url: string, token: string | undefined, extra: string[] = []): Promise<{ status: number; headers: string; body: string }> {
  const args = ['-s', '-D', '-', '-x', `http://127.0.0.1:${stack.proxyPort}`, ...extra, url];
  if (token) args.unshift('--proxy-header', `Proxy-Authorization: Bearer ${token}`);
  const r = await run('curl', args, { timeoutMs: 15_000 });
  const [head = '', ...rest] = r.stdout.split('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head.toLowerCase(), body: rest.join('\r\n\r\n') };
}

/** The newest event of an emitter once it has more than `before` events. */
async function nextEvent(emitter: string, before: number): Promise<AuditEvent> {
  const events = await stack.waitForAudit(emitter, before + 1);
  return events.at(-1) as AuditEvent;
}

function assertCommon(e: AuditEvent, emitter: 'relay' | 'connector'): void {
  assert.equal(e.schema, 'tunnelwatch.audit/1');
  assert.match(e.event_id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.match(e.ts, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  assert.equal(e.emitter, emitter);
  assert.match(e.hash, /^[0-9a-f]{64}$/);
  assert.match(e.trace_id, /^[0-9a-f]{32}$/);
  assert.match(e.span_id, /^[0-9a-f]{16}$/);
  assert.equal(e.client_ip, '127.0.0.1');
  assert.ok(e.duration_us > 0);
}

describe('HTTP through the relay to nginx', () => {
  before(async () => {
    nginx = await startNginx();
    stack = await startTunnelStack({
      tokens: [{ subaccount: 'acme', cloudApp: 'portal', token: TOKEN }],
      connectors: [
        {
          id: 'connector-1',
          subaccounts: {
            acme: {
              mappings: [
                {
                  virtual: 'erp.virtual:8000',
                  internal: `127.0.0.1:${nginx.port}`,
                  protocol: 'http',
                  resources: [{ id: 'orders', path: '/api/orders', match: 'prefix', methods: ['GET'] }],
                },
              ],
            },
          },
        },
      ],
    });
  });
  after(async () => {
    await stack?.stop();
    await nginx?.stop();
  });

  test('an allowed path returns 200 with the backend body and one allow event', async () => {
    const before = (await stack.auditEvents('connector-1')).length;
    const r = await curl('http://erp.virtual:8000/api/orders/1?page=2&password=hunter2', TOKEN, ['-A', 'it-test/1.0']);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { id: 1, item: 'valve', quantity: 3 });
    const e = await nextEvent('connector-1', before);
    assertCommon(e, 'connector');
    assert.equal(e.decision, 'allow');
    assert.equal(e.deny_reason, '');
    assert.equal(e.rule_id, 'orders');
    assert.equal(e.status, 200);
    assert.equal(e.subaccount, 'acme');
    assert.equal(e.cloud_app, 'portal');
    assert.equal(e.location_id, '');
    assert.equal(e.protocol, 'http');
    assert.equal(e.method, 'GET');
    assert.equal(e.virtual_host, 'erp.virtual');
    assert.equal(e.virtual_port, 8000);
    assert.equal(e.internal_host, '127.0.0.1');
    assert.equal(e.internal_port, nginx.port);
    assert.equal(e.path, '/api/orders/1');
    assert.equal(e.query, 'page=2&password=REDACTED');
    assert.equal(e.user_agent, 'it-test/1.0');
    assert.equal(e.error_type, '');
    assert.equal(e.bytes_out, r.body.length);
    assert.ok(e.backend_ttfb_us > 0);
    const log = await nginx.accessLog({ atLeast: 1 });
    assert.equal(log.at(-1), 'GET /api/orders/1?page=2&password=hunter2 HTTP/1.1');
  });

  test('a path outside the rules gets 403 path_not_allowed and never reaches nginx', async () => {
    const before = (await stack.auditEvents('connector-1')).length;
    const seen = (await nginx.accessLog()).length;
    const r = await curl('http://erp.virtual:8000/index.html', TOKEN);
    assert.equal(r.status, 403);
    assert.match(r.headers, /x-tunnel-deny-reason: path_not_allowed/);
    assert.equal(JSON.parse(r.body).error.deny_reason, 'path_not_allowed');
    const e = await nextEvent('connector-1', before);
    assertCommon(e, 'connector');
    assert.equal(e.decision, 'deny');
    assert.equal(e.deny_reason, 'path_not_allowed');
    assert.equal(e.rule_id, '');
    assert.equal(e.status, 403);
    assert.equal(e.path, '/index.html');
    assert.equal(e.internal_host, '127.0.0.1');
    assert.equal(e.backend_connect_us, 0);
    assert.equal((await nginx.accessLog()).length, seen);
  });

  test('an unknown virtual host gets 403 no_mapping', async () => {
    const before = (await stack.auditEvents('connector-1')).length;
    const r = await curl('http://hr.virtual:8000/api/orders', TOKEN);
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.body).error.deny_reason, 'no_mapping');
    const e = await nextEvent('connector-1', before);
    assertCommon(e, 'connector');
    assert.equal(e.decision, 'deny');
    assert.equal(e.deny_reason, 'no_mapping');
    assert.equal(e.virtual_host, 'hr.virtual');
    assert.equal(e.internal_host, '');
    assert.equal(e.internal_port, 0);
    assert.equal(e.status, 403);
  });

  test('a bad token gets 407 and a relay event without subaccount', async () => {
    const before = (await stack.auditEvents('relay-1')).length;
    const r = await curl('http://erp.virtual:8000/api/orders', 'tw_wrong');
    assert.equal(r.status, 407);
    assert.match(r.headers, /proxy-authenticate: bearer/);
    const e = await nextEvent('relay-1', before);
    assertCommon(e, 'relay');
    assert.equal(e.decision, 'deny');
    assert.equal(e.deny_reason, 'unauthenticated');
    assert.equal(e.status, 407);
    assert.equal(e.subaccount, '');
    assert.equal(e.cloud_app, '');
    assert.equal(e.path, '/api/orders');
  });

  test('a stopped connector gets 503 no_connector and a relay event', async () => {
    await stack.connector('connector-1')?.stop();
    const before = (await stack.auditEvents('relay-1')).length;
    const r = await curl('http://erp.virtual:8000/api/orders', TOKEN);
    assert.equal(r.status, 503);
    assert.equal(JSON.parse(r.body).error.deny_reason, 'no_connector');
    const e = await nextEvent('relay-1', before);
    assertCommon(e, 'relay');
    assert.equal(e.deny_reason, 'no_connector');
    assert.equal(e.status, 503);
    assert.equal(e.subaccount, 'acme');
    assert.equal(e.cloud_app, 'portal');
    await stack.startConnector('connector-1');
    const again = await curl('http://erp.virtual:8000/api/orders', TOKEN);
    assert.equal(again.status, 200);
  });
});
