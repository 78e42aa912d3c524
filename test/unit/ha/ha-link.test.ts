// The HA link's identities (connector/ha/ha-link.ts, ha-server.ts, ha-pki.ts): certificates from the tunnel
// CA with serverAuth and clientAuth, a listener that admits only the peer and the connector itself, and a
// client that accepts only the peer it expects, whatever address answers.
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createLogger } from '../../../common/log.js';
import { HaClient } from '../../../connector/ha/ha-link.js';
import { checkHaCertificate, issueHaFiles } from '../../../connector/ha/ha-pki.js';
import { startHaServer, type RunningHaServer } from '../../../connector/ha/ha-server.js';
import { initPki } from '../../../connector/pki/pki.js';
import type { TlsMaterial } from '../../../connector/tunnel/tls-files.js';

let dir: string;
let server: RunningHaServer;
const material: Record<string, TlsMaterial> = {};
const log = createLogger({ name: 'test', level: 'silent' });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tw-ha-link-'));
  await initPki(dir, { connectors: ['conn-a', 'conn-b', 'conn-x'] });
  const ca = await readFile(join(dir, 'ca.crt'));
  for (const id of ['conn-a', 'conn-b', 'conn-x']) {
    await issueHaFiles(dir, id);
    material[id] = { cert: await readFile(join(dir, `${id}-ha.crt`)), key: await readFile(join(dir, `${id}-ha.key`)), ca };
  }
  server = await startHaServer({
    listen: '127.0.0.1:0',
    tls: material['conn-a']!,
    allowed: new Set(['conn-a', 'conn-b']),
    routes: [{ method: 'GET', path: '/ha/v1/state', handle: async (req) => ({ status: 200, body: { connector_id: 'conn-a', caller: req.caller } }) }],
    log,
  });
});
after(async () => {
  await server?.close();
});

const client = (as: string, expectId = 'conn-a') => new HaClient({ address: `127.0.0.1:${server.port}`, expectId, tls: material[as]! });

test('the HA certificate has CN = connector id and serverAuth + clientAuth; a tunnel certificate (clientAuth only) or another CN is refused', async () => {
  checkHaCertificate(material['conn-a']!.cert, 'conn-a', 'conn-a-ha.crt');
  assert.throws(() => checkHaCertificate(material['conn-a']!.cert, 'conn-b', 'conn-a-ha.crt'), /TW_ERR_HA_CERTIFICATE|CN "conn-a", connector.id is "conn-b"/);
  const tunnelCert = await readFile(join(dir, 'conn-a.crt'));
  assert.throws(() => checkHaCertificate(tunnelCert, 'conn-a', 'conn-a.crt'), /lacks the extended key usage serverAuth/);
});

test('the peer and the connector itself are admitted; the caller is known by its certificate CN', async () => {
  for (const as of ['conn-b', 'conn-a']) {
    const c = client(as);
    const r = await c.request<{ caller: string }>('GET', '/ha/v1/state', undefined, 3000);
    c.close();
    assert.equal(r.status, 200);
    assert.equal(r.body?.caller, as);
  }
});

test('another connector of the same CA is refused with 403 TW_ERR_HA_FORBIDDEN', async () => {
  const c = client('conn-x');
  const r = await c.request<{ code: string }>('GET', '/ha/v1/state', undefined, 3000);
  c.close();
  assert.equal(r.status, 403);
  assert.equal(r.body?.code, 'TW_ERR_HA_FORBIDDEN');
});

test('unknown routes get 404; the client refuses a listener that is not the peer it expects', async () => {
  const c = client('conn-b');
  const r = await c.request<{ code: string }>('POST', '/ha/v1/nothing', {}, 3000);
  assert.equal(r.status, 404);
  assert.equal(r.body?.code, 'TW_ERR_HA_NOT_FOUND');
  c.close();
  const wrong = client('conn-b', 'conn-x');
  await assert.rejects(wrong.request('GET', '/ha/v1/state', undefined, 3000), /presented CN "conn-a", expected "conn-x"/);
  wrong.close();
});

test('a client without a certificate from the CA does not get past the TLS handshake', async () => {
  const other = await mkdtemp(join(tmpdir(), 'tw-ha-other-'));
  await initPki(other, { connectors: ['conn-b'] });
  await issueHaFiles(other, 'conn-b');
  const foreign = { cert: await readFile(join(other, 'conn-b-ha.crt')), key: await readFile(join(other, 'conn-b-ha.key')), ca: material['conn-b']!.ca };
  const c = new HaClient({ address: `127.0.0.1:${server.port}`, expectId: 'conn-a', tls: foreign });
  await assert.rejects(c.request('GET', '/ha/v1/state', undefined, 3000));
  c.close();
});
