// Reloading a running relay (SIGHUP and POST /admin/v1/reload): a valid file swaps the cloud app tokens and
// the tunnel certificate at once, with calls in flight completing; an invalid one is refused whole and the
// tokens in force stay; each change reaches the collector and becomes an admin event `config.change` with
// before and after as fingerprints, never a token. Real relay, connector and collector processes.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { fingerprint } from '../../common/config/config-report.js';
import { issueRelayCertificate, loadCa } from '../../connector/pki/pki.js';
import { TUNNEL_ALPN } from '../../connector/tunnel/protocol.js';
import { queryStore, startCollectorProcess, type CollectorProcess } from '../helpers/collector-process.js';
import { jsonLogLines, waitFor, type StartedProcess } from '../helpers/processes.js';
import { proxyRequest } from '../helpers/proxy-client.js';
import { sha256, startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

const TOKEN_A = 'tw_relay_reload_token_a_0123456789';
const TOKEN_B = 'tw_relay_reload_token_b_0123456789';
const TOKEN_C = 'tw_relay_reload_token_c_0123456789';
const ADMIN = 'tw_relay_reload_admin_token_0123456789';
const RELOADED = 'configuration reloaded';
const REFUSED = 'configuration reload refused';

type RelayYaml = { tokens: { subaccount: string; cloud_app: string; sha256: string }[]; tunnel: { tls: { cert: string; key: string; ca: string } } };

const logLines = jsonLogLines;
const logCount = (p: StartedProcess | undefined, prefix: string): number => logLines(p).filter((l) => String(l.msg ?? '').startsWith(prefix)).length;

function adminPost(port: number, path: string, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('relay configuration reload', () => {
  let collector: CollectorProcess;
  let stack: TunnelStack;
  let backend: Server;
  let file: string;
  let oldCert = '';
  let newCert = '';
  const status = async (token: string, path = '/api/orders'): Promise<number> => (await proxyRequest(stack.proxyPort, `http://erp.virtual:8000${path}`, { token })).status;
  const relay = (): StartedProcess | undefined => stack.relay();
  const hup = async (prefix: string): Promise<void> => {
    const before = logCount(relay(), prefix);
    process.kill(relay()?.pid as number, 'SIGHUP');
    await waitFor(() => (logCount(relay(), prefix) > before ? true : undefined), { timeoutMs: 10_000, message: `"${prefix}" in the relay log` });
  };
  const edit = async (change: (doc: RelayYaml) => void): Promise<void> => {
    const doc = parse(await readFile(file, 'utf8')) as RelayYaml;
    change(doc);
    await writeFile(file, stringify(doc));
  };
  const entry = (token: string): RelayYaml['tokens'][number] => ({ subaccount: 'acme', cloud_app: 'portal', sha256: sha256(token) });
  const presented = (): Promise<string> => new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1', port: stack.tunnelPort, servername: 'localhost', ALPNProtocols: [TUNNEL_ALPN],
      ca: [], rejectUnauthorized: false,
      cert: readFileSync(join(stack.dir, 'pki', 'connector-1.crt')), key: readFileSync(join(stack.dir, 'pki', 'connector-1.key')),
    }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve(fp);
    });
    socket.on('error', reject);
  });

  before(async () => {
    backend = createServer((req, res) => {
      // /slow answers after 1.5 s: long enough to be in flight across a reload.
      const delay = req.url?.startsWith('/api/slow') ? 1500 : 0;
      setTimeout(() => res.end(`ok ${req.url}\n`), delay);
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    collector = await startCollectorProcess();
    const tokenFile = join(collector.dir, 'ingest.token');
    await writeFile(tokenFile, collector.token);
    stack = await startTunnelStack({
      tokens: [{ subaccount: 'acme', cloudApp: 'portal', token: TOKEN_A }],
      relayAdmin: { tokens: [{ name: 'ops', token: ADMIN }] },
      relayExtra: { audit: { dir: 'audit/relay-1', collector: { url: collector.url, token_file: tokenFile, flush_interval_ms: 50 } } },
      connectors: [{
        id: 'connector-1',
        subaccounts: { acme: { mappings: [{ virtual: 'erp.virtual:8000', internal: `127.0.0.1:${(backend.address() as AddressInfo).port}`, protocol: 'http', resources: [{ path: '/api', methods: ['GET'] }] }] } },
      }],
    });
    file = join(stack.dir, 'relay.yaml');
  });
  after(async () => {
    await stack?.stop();
    await collector?.stop();
    await new Promise((r) => backend?.close(r));
  });

  test('a valid reload (SIGHUP) swaps tokens and the tunnel certificate at once; a call in flight completes', async () => {
    assert.equal(await status(TOKEN_A), 200);
    assert.equal(await status(TOKEN_B), 407);
    const pid = relay()?.pid;
    oldCert = await presented();
    // A renewed certificate written over the old files, as an operator (or cert-manager) does.
    const pki = join(stack.dir, 'pki');
    const ca = await loadCa(await readFile(join(pki, 'ca.crt'), 'utf8'), await readFile(join(pki, 'ca.key'), 'utf8'));
    const renewed = await issueRelayCertificate(ca);
    newCert = new X509Certificate(renewed.certPem).fingerprint256;
    assert.notEqual(newCert, oldCert);

    const inFlight = proxyRequest(stack.proxyPort, 'http://erp.virtual:8000/api/slow', { token: TOKEN_A });
    await new Promise((r) => setTimeout(r, 300));
    await writeFile(join(pki, 'relay.crt'), renewed.certPem);
    await writeFile(join(pki, 'relay.key'), renewed.keyPem);
    await edit((doc) => {
      doc.tokens = [entry(TOKEN_B)];
    });
    await hup(RELOADED);
    const slow = await inFlight;
    assert.equal(slow.status, 200, 'the call admitted before the reload completes');
    assert.equal(slow.body, 'ok /api/slow\n');
    assert.equal(await status(TOKEN_B), 200, 'the new token is accepted');
    assert.equal(await status(TOKEN_A), 407, 'the removed token is refused');
    assert.equal(await presented(), newCert, 'new handshakes get the renewed certificate');
    assert.equal(relay()?.pid, pid, 'the same process');
    const line = logLines(relay()).findLast((l) => String(l.msg).startsWith(RELOADED));
    assert.match(String(line?.msg), /tokens/);
    assert.match(String(line?.msg), /tunnel\.tls/);
  });

  test('an invalid file is refused whole: the tokens and certificate in force stay', async () => {
    // A valid new token next to an invalid entry: nothing of it may apply.
    await edit((doc) => {
      doc.tokens = [entry(TOKEN_B), entry(TOKEN_C), { subaccount: 'acme', cloud_app: 'portal', sha256: 'not-a-digest' }];
    });
    await hup(REFUSED);
    assert.equal(await status(TOKEN_C), 407, 'the valid part of a refused file is not applied');
    assert.equal(await status(TOKEN_B), 200);
    // Valid tokens, but a key that does not go with the certificate.
    await edit((doc) => {
      doc.tokens = [entry(TOKEN_B), entry(TOKEN_C)];
      doc.tunnel.tls.key = 'pki/connector-1.key';
    });
    await hup(REFUSED);
    const refusal = logLines(relay()).findLast((l) => String(l.msg).startsWith(REFUSED));
    assert.match(String(refusal?.msg), /tunnel\.tls/);
    assert.equal(await status(TOKEN_C), 407);
    assert.equal(await status(TOKEN_B), 200);
    assert.equal(await presented(), newCert);
    // One token listed twice, the second time for another subaccount: refused, not "the last one wins".
    await edit((doc) => {
      doc.tunnel.tls.key = 'pki/relay.key';
      doc.tokens = [entry(TOKEN_B), { ...entry(TOKEN_B), subaccount: 'globex', cloud_app: 'shop' }];
    });
    await hup(REFUSED);
    const duplicate = logLines(relay()).findLast((l) => String(l.msg).startsWith(REFUSED));
    assert.match(String(duplicate?.msg), /tokens\[1\]\.sha256: the same token as tokens\[0\]/);
    assert.equal(await status(TOKEN_B), 200, 'the token keeps its subaccount');
    await edit((doc) => {
      doc.tokens = [entry(TOKEN_B)];
    });
  });

  test('POST /admin/v1/reload needs an admin token, applies a valid file and refuses an invalid one', async () => {
    await edit((doc) => {
      doc.tokens = [entry(TOKEN_B), entry(TOKEN_C)];
    });
    const none = await adminPost(stack.adminPort, '/admin/v1/reload');
    assert.deepEqual([none.status, none.body.code], [401, 'TW_ERR_RELAY_ADMIN_UNAUTHENTICATED']);
    const wrong = await adminPost(stack.adminPort, '/admin/v1/reload', TOKEN_B);
    assert.equal(wrong.status, 401);
    assert.equal(await status(TOKEN_C), 407, 'a refused request changed nothing');
    const ok = await adminPost(stack.adminPort, '/admin/v1/reload', ADMIN);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(ok.body.changed, ['tokens']);
    assert.equal(await status(TOKEN_C), 200);
    await edit((doc) => {
      (doc as unknown as { proxy: { listen: string } }).proxy.listen = '127.0.0.1:1';
    });
    const restart = await adminPost(stack.adminPort, '/admin/v1/reload', ADMIN);
    assert.equal(restart.status, 200);
    assert.deepEqual([restart.body.changed, restart.body.restart_needed], [[], ['proxy.listen']]);
    const saved = await readFile(file, 'utf8');
    await writeFile(file, 'tokens: [this is: not yaml');
    const bad = await adminPost(stack.adminPort, '/admin/v1/reload', ADMIN);
    assert.deepEqual([bad.status, bad.body.code], [422, 'TW_ERR_RELAY_ADMIN_RELOAD_REFUSED']);
    assert.equal(await status(TOKEN_C), 200);
    await writeFile(file, saved);
  });

  test('each applied change is an admin event in the collector with before and after as fingerprints', async () => {
    // Start, the SIGHUP reload and the API reload: three snapshots.
    await waitFor(() => {
      const sent = logLines(relay()).filter((l) => l.msg === 'configuration snapshot accepted by the collector').reduce((n, l) => n + Number(l.snapshots ?? 0), 0);
      return sent >= 3 ? true : undefined;
    }, { timeoutMs: 15_000, message: 'three configuration snapshots accepted' });
    await stack.stop();
    await collector.stop();
    type Row = { action: string; actor: string; actor_role: string; via: string; target: string; client_ip: string; reason: string; before: string; after: string; emitter: string };
    const [rows] = await queryStore<Row>(collector.dataDir, [
      { sql: "SELECT action, actor, actor_role, via, target, client_ip, reason, before, after, emitter FROM admin_events FINAL WHERE action IN ('config.change', 'config.reload') AND startsWith(target, 'relay ') ORDER BY seq" },
    ]);
    const tokens = (rows ?? []).filter((r) => r.target === 'relay relay-1: tokens');
    assert.deepEqual(tokens.map((r) => r.via), ['relay:start', 'relay:sighup', 'relay:api']);
    const [start, hup, api] = tokens as [Row, Row, Row];
    assert.equal(start.emitter, 'collector');
    assert.match(hup.actor, /^SIGHUP to pid \d+ on /);
    assert.match(hup.reason, /changed by a reload \(SIGHUP\)/);
    assert.ok(hup.before.includes(fingerprint(sha256(TOKEN_A))) && !hup.before.includes(fingerprint(sha256(TOKEN_B))), hup.before);
    assert.ok(hup.after.includes(fingerprint(sha256(TOKEN_B))) && !hup.after.includes(fingerprint(sha256(TOKEN_A))), hup.after);
    assert.deepEqual([api.actor, api.actor_role, api.client_ip], ['admin token ops', 'relay-admin-token', '127.0.0.1']);
    assert.ok(api.after.includes(fingerprint(sha256(TOKEN_C))));
    const tls = (rows ?? []).filter((r) => r.target === 'relay relay-1: tunnel.tls');
    assert.deepEqual(tls.map((r) => r.via), ['relay:start', 'relay:sighup']);
    assert.ok(tls[1]?.before.includes(oldCert) && tls[1].after.includes(newCert), 'the certificate change shows by fingerprint');
    for (const r of rows ?? []) {
      for (const secret of [TOKEN_A, TOKEN_B, TOKEN_C, ADMIN, sha256(TOKEN_A), sha256(TOKEN_B), sha256(TOKEN_C), sha256(ADMIN)]) {
        assert.ok(!`${r.before}${r.after}${r.reason}`.includes(secret), `no token or digest in ${r.target}`);
      }
      assert.doesNotMatch(r.after, /PRIVATE KEY/);
    }
  });
});
