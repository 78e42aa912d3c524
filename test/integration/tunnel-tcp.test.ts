// A real TCP protocol through CONNECT: ldapsearch -> socat (HTTP CONNECT with Basic proxy auth) -> relay
// -> tunnel -> connector -> slapd, plus the CONNECT refusals, each with the audit event it must write.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent } from '../../common/audit/event.js';
import { freePort } from '../helpers/ports.js';
import { run, startProcess, waitFor, type RunResult, type StartedProcess } from '../helpers/processes.js';
import { proxyConnect, refusalOf, socketClosed } from '../helpers/proxy-client.js';
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
let echo: net.Server;
let echoPort: number;
const echoSockets = new Set<net.Socket>();

/** Reads from the socket until `n` bytes arrived (or rejects after timeoutMs). */
function readBytes(socket: net.Socket, n: number, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => {
      socket.off('data', onData);
      reject(new Error(`got ${got} of ${n} bytes within ${timeoutMs} ms`));
    }, timeoutMs);
    const onData = (c: Buffer): void => {
      chunks.push(c);
      got += c.length;
      if (got >= n) {
        clearTimeout(timer);
        socket.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', onData);
  });
}

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
    // A TCP echo backend that also answers a half-close: it echoes, then ends its side.
    echo = net.createServer({ allowHalfOpen: true }, (s) => {
      echoSockets.add(s);
      s.on('close', () => echoSockets.delete(s));
      s.on('error', () => {});
      s.pipe(s);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
    echoPort = (echo.address() as AddressInfo).port;
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
                { virtual: 'echo.virtual:7', internal: `127.0.0.1:${echoPort}`, protocol: 'tcp', id: 'acme-echo' },
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
    for (const s of echoSockets) s.destroy();
    await new Promise<void>((resolve) => (echo ? echo.close(() => resolve()) : resolve()));
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

  test('a CONNECT stream carries bytes exactly, counted exactly in the audit event', async () => {
    const before = (await stack.auditEvents(CONNECTOR)).length;
    const payload = randomBytes(256 * 1024);
    const r = await proxyConnect(stack.proxyPort, 'echo.virtual:7', { token: TOKEN });
    assert.equal(r.status, 200, r.body);
    r.socket.write(payload);
    const back = await readBytes(r.socket, payload.length);
    assert.equal(back.length, payload.length);
    assert.ok(back.equals(payload), 'the echoed bytes differ from what was sent');
    r.socket.end();
    await socketClosed(r.socket, 5000);
    const e = await nextEvent(CONNECTOR, before);
    assert.equal(e.rule_id, 'acme-echo');
    assert.equal(e.bytes_in, payload.length);
    assert.equal(e.bytes_out, payload.length);
    assert.equal(e.status, 0);
    assert.equal(e.error_type, '');
  });

  test('bytes sent right behind the CONNECT head (before the 200) are not lost', async () => {
    const before = (await stack.auditEvents(CONNECTOR)).length;
    const early = Buffer.from('early-bytes-in-the-same-packet\n');
    const socket = net.connect({ host: '127.0.0.1', port: stack.proxyPort });
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const head = `CONNECT echo.virtual:7 HTTP/1.1\r\nhost: echo.virtual:7\r\nproxy-authorization: Bearer ${TOKEN}\r\n\r\n`;
    socket.write(Buffer.concat([Buffer.from(head), early]));
    let received = '';
    socket.on('data', (c: Buffer) => (received += c.toString('latin1')));
    const wanted = `\r\n\r\n${early.toString()}`;
    await waitFor(() => received.endsWith(wanted), { timeoutMs: 5000, message: `the echo of the early bytes (got ${JSON.stringify(received)})` }).catch(() => {
      throw new Error(`the early bytes did not come back: got ${JSON.stringify(received)}`);
    });
    assert.match(received, /^HTTP\/1\.1 200 /);
    socket.end();
    await socketClosed(socket, 5000);
    const e = await nextEvent(CONNECTOR, before);
    assert.equal(e.bytes_in, early.length);
    assert.equal(e.bytes_out, early.length);
  });

  test('a client half-close (FIN after its request) still gets the whole answer', async () => {
    const r = await proxyConnect(stack.proxyPort, 'echo.virtual:7', { token: TOKEN });
    assert.equal(r.status, 200, r.body);
    const request = Buffer.from('request-then-shutdown\n');
    const chunks: Buffer[] = [];
    r.socket.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((resolve) => r.socket.once('end', () => resolve()));
    r.socket.end(request);
    await Promise.race([ended, new Promise((_, reject) => setTimeout(() => reject(new Error('no end of the answer within 5 s')), 5000))]);
    assert.equal(Buffer.concat(chunks).toString(), request.toString());
  });
});
