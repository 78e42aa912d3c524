// A real TCP protocol through CONNECT: ldapsearch -> socat (HTTP CONNECT with Basic proxy auth) -> relay
// -> tunnel -> connector -> slapd, plus the CONNECT refusals, each with the audit event it must write.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent } from '../../common/audit/event.js';
import { freePort } from '../helpers/ports.js';
import { run, startProcess, type RunResult, type StartedProcess } from '../helpers/processes.js';
import { proxyConnect, refusalOf } from '../helpers/proxy-client.js';
import { waitRoutableConnect } from '../helpers/routable.js';
import { startSlapd, type Slapd } from '../helpers/slapd.js';
import { startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

const TOKEN = 'tw_test_acme_ldapapp_0123456789abcdef';
const CONNECTOR = 'connector-tcp';

let slapd: Slapd;
let stack: TunnelStack;
let bridge: StartedProcess;
let bridgePort: number;
let closedPort: number;

/** The newest event of an emitter once it has more than `before` events. */
async function nextEvent(emitter: string, before: number): Promise<AuditEvent> {
  const events = await stack.waitForAudit(emitter, before + 1);
  return events.at(-1) as AuditEvent;
}

/** ldapsearch against the socat bridge, i.e. through the tunnel; LDAPNOINIT keeps ~/.ldaprc out of it. */
function ldapsearch(args: string[]): Promise<RunResult> {
  return run('ldapsearch', ['-x', '-H', `ldap://127.0.0.1:${bridgePort}`, '-o', 'nettimeout=5', ...args], { env: { LDAPNOINIT: '1' }, timeoutMs: 15_000 });
}

describe('LDAP through CONNECT to slapd', () => {
  before(async () => {
    slapd = await startSlapd();
    closedPort = await freePort();
    stack = await startTunnelStack({
      tokens: [{ subaccount: 'acme', cloudApp: 'ldapapp', token: TOKEN }],
      connectors: [
        {
          id: CONNECTOR,
          subaccounts: {
            acme: {
              mappings: [
                { virtual: 'ldap.virtual:389', internal: `127.0.0.1:${slapd.port}`, protocol: 'tcp', id: 'acme-ldap' },
                // Nothing listens on closedPort: the connector must report connect_refused.
                { virtual: 'dead.virtual:389', internal: `127.0.0.1:${closedPort}`, protocol: 'tcp', id: 'acme-dead' },
                {
                  virtual: 'erp.virtual:8000',
                  internal: `127.0.0.1:${slapd.port}`,
                  protocol: 'http',
                  resources: [{ id: 'erp-all', path: '/', match: 'prefix', methods: [] }],
                },
              ],
            },
          },
        },
      ],
    });
    // An unmapped name: the connector answers 403 once the relay routes acme, and slapd sees nothing.
    await waitRoutableConnect(stack.proxyPort, 'nowhere.virtual:389', TOKEN);
    bridgePort = await freePort();
    // socat's proxy-authorization sends `Basic base64(user:pass)`; the relay takes the password as the token.
    bridge = await startProcess(
      'socat',
      [
        '-d',
        '-d',
        `TCP-LISTEN:${bridgePort},bind=127.0.0.1,reuseaddr,fork`,
        `PROXY:127.0.0.1:ldap.virtual:389,proxyport=${stack.proxyPort},proxy-authorization=ldapapp:${TOKEN}`,
      ],
      { readyWhen: /listening on/, timeoutMs: 10_000 },
    );
  });
  after(async () => {
    await bridge?.stop();
    await stack?.stop();
    await slapd?.stop();
  });

  test('an anonymous search finds alice through the tunnel, with one tcp allow event and no relay event', async () => {
    const before = (await stack.auditEvents(CONNECTOR)).length;
    const relayBefore = (await stack.auditEvents('relay-1')).length;
    const r = await ldapsearch(['-b', slapd.baseDn, '(uid=alice)', 'cn', 'mail']);
    assert.equal(r.code, 0, `ldapsearch failed:\n${r.stdout}\n${r.stderr}\n--- socat ---\n${bridge.stderr().slice(-3000)}`);
    assert.match(r.stdout, /^dn: uid=alice,ou=people,dc=example,dc=com$/m);
    assert.match(r.stdout, /^cn: Alice Analyst$/m);
    assert.match(r.stdout, /^mail: alice@example\.com$/m);
    assert.match(r.stdout, /^# numEntries: 1$/m);

    const e = await nextEvent(CONNECTOR, before);
    assert.equal(e.emitter, 'connector');
    assert.equal(e.emitter_id, CONNECTOR);
    assert.equal(e.subaccount, 'acme');
    assert.equal(e.cloud_app, 'ldapapp');
    assert.equal(e.location_id, '');
    assert.equal(e.client_ip, '127.0.0.1');
    assert.equal(e.protocol, 'tcp');
    assert.equal(e.method, '');
    assert.equal(e.path, '');
    assert.equal(e.query, '');
    assert.equal(e.status, 0);
    assert.equal(e.decision, 'allow');
    assert.equal(e.deny_reason, '');
    assert.equal(e.rule_id, 'acme-ldap');
    assert.equal(e.error_type, '');
    assert.equal(e.virtual_host, 'ldap.virtual');
    assert.equal(e.virtual_port, 389);
    assert.equal(e.internal_host, '127.0.0.1');
    assert.equal(e.internal_port, slapd.port);
    assert.ok(e.bytes_in > 0, `bytes_in ${e.bytes_in}`);
    assert.ok(e.bytes_out > 0, `bytes_out ${e.bytes_out}`);
    // The search result (entry, attributes, DNs) is far bigger downstream than the request upstream.
    assert.ok(e.bytes_out > e.bytes_in, `bytes_out ${e.bytes_out} <= bytes_in ${e.bytes_in}`);
    assert.ok(e.backend_connect_us > 0);
    assert.ok(e.duration_us > 0);
    assert.match(e.trace_id, /^[0-9a-f]{32}$/);
    // A call the connector answered has no relay event.
    assert.equal((await stack.auditEvents('relay-1')).length, relayBefore);
  });

  test('a simple bind as alice with the right password works through the tunnel', async () => {
    const before = (await stack.auditEvents(CONNECTOR)).length;
    const alice = slapd.users.alice;
    const r = await ldapsearch(['-D', alice.dn, '-w', alice.password, '-b', alice.dn, '-s', 'base', '(objectClass=*)', 'uid']);
    assert.equal(r.code, 0, `bind as alice failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^uid: alice$/m);
    const e = await nextEvent(CONNECTOR, before);
    assert.equal(e.decision, 'allow');
    assert.equal(e.rule_id, 'acme-ldap');
    assert.ok(e.bytes_in > 0 && e.bytes_out > 0);
  });

  test('a simple bind with a wrong password fails with LDAP error 49 through the tunnel', async () => {
    const before = (await stack.auditEvents(CONNECTOR)).length;
    const alice = slapd.users.alice;
    const r = await ldapsearch(['-D', alice.dn, '-w', 'not-her-password', '-b', alice.dn, '-s', 'base']);
    // ldapsearch exits with the LDAP result code: 49 is invalidCredentials (not -1/255 "can't contact").
    assert.equal(r.code, 49, `expected invalidCredentials:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /Invalid credentials \(49\)/);
    // The tunnel carried the exchange: the connector records an allowed tcp call that saw bytes both ways.
    const e = await nextEvent(CONNECTOR, before);
    assert.equal(e.decision, 'allow');
    assert.equal(e.protocol, 'tcp');
    assert.equal(e.status, 0);
    assert.ok(e.bytes_in > 0 && e.bytes_out > 0);
  });

  test('CONNECT to a virtual host:port without a mapping gets 403 no_mapping', async () => {
    const before = (await stack.auditEvents(CONNECTOR)).length;
    const r = await proxyConnect(stack.proxyPort, 'nowhere.virtual:389', { token: TOKEN });
    assert.equal(r.status, 403);
    assert.equal(r.headers['x-tunnel-deny-reason'], 'no_mapping');
    assert.equal(refusalOf(r.body)?.deny_reason, 'no_mapping');
    const e = await nextEvent(CONNECTOR, before);
    assert.equal(e.decision, 'deny');
    assert.equal(e.deny_reason, 'no_mapping');
    assert.equal(e.rule_id, '');
    assert.equal(e.status, 403);
    assert.equal(e.method, '');
    assert.equal(e.path, '');
    assert.equal(e.virtual_host, 'nowhere.virtual');
    assert.equal(e.virtual_port, 389);
    assert.equal(e.internal_host, '');
    assert.equal(e.internal_port, 0);
    assert.equal(e.bytes_in, 0);
  });

  test('CONNECT to an http mapping gets 403 protocol_not_allowed and never reaches the backend', async () => {
    const before = (await stack.auditEvents(CONNECTOR)).length;
    const r = await proxyConnect(stack.proxyPort, 'erp.virtual:8000', { token: TOKEN });
    assert.equal(r.status, 403);
    assert.equal(r.headers['x-tunnel-deny-reason'], 'protocol_not_allowed');
    assert.equal(refusalOf(r.body)?.deny_reason, 'protocol_not_allowed');
    const e = await nextEvent(CONNECTOR, before);
    assert.equal(e.decision, 'deny');
    assert.equal(e.deny_reason, 'protocol_not_allowed');
    assert.equal(e.rule_id, '');
    assert.equal(e.status, 403);
    assert.equal(e.method, '');
    assert.equal(e.virtual_host, 'erp.virtual');
    assert.equal(e.internal_port, slapd.port);
    assert.equal(e.backend_connect_us, 0);
  });

  test('a tcp mapping whose backend port is closed gets 502 connect_refused', async () => {
    const before = (await stack.auditEvents(CONNECTOR)).length;
    const r = await proxyConnect(stack.proxyPort, 'dead.virtual:389', { token: TOKEN });
    assert.equal(r.status, 502);
    assert.equal(r.headers['x-tunnel-error-type'], 'connect_refused');
    assert.equal(refusalOf(r.body)?.error_type, 'connect_refused');
    const e = await nextEvent(CONNECTOR, before);
    assert.equal(e.decision, 'allow');
    assert.equal(e.rule_id, 'acme-dead');
    assert.equal(e.error_type, 'connect_refused');
    assert.equal(e.status, 502);
    assert.equal(e.protocol, 'tcp');
    assert.equal(e.internal_host, '127.0.0.1');
    assert.equal(e.internal_port, closedPort);
    assert.equal(e.bytes_in, 0);
  });

  test('CONNECT with an unknown token gets 407 and a relay event, and never reaches the connector', async () => {
    const before = (await stack.auditEvents('relay-1')).length;
    const connectorBefore = (await stack.auditEvents(CONNECTOR)).length;
    const r = await proxyConnect(stack.proxyPort, 'ldap.virtual:389', { authorization: `Basic ${Buffer.from('ldapapp:tw_wrong').toString('base64')}` });
    assert.equal(r.status, 407);
    assert.match(r.headers['proxy-authenticate'] ?? '', /Basic/);
    const e = await nextEvent('relay-1', before);
    assert.equal(e.emitter, 'relay');
    assert.equal(e.deny_reason, 'unauthenticated');
    assert.equal(e.status, 407);
    assert.equal(e.protocol, 'tcp');
    assert.equal(e.method, '');
    assert.equal(e.subaccount, '');
    assert.equal(e.virtual_host, 'ldap.virtual');
    assert.equal(e.virtual_port, 389);
    assert.equal((await stack.auditEvents(CONNECTOR)).length, connectorBefore);
  });
});
