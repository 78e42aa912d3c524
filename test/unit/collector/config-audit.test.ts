// Changes to collector.yaml's users, tokens, LDAP mapping and exporters between two starts become admin
// events with before and after; secrets only as fingerprints; an unchanged start records nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { validateConfig } from '../../../common/config/load-config.js';
import { collectorAdminTrail } from '../../../collector/admin-trail.js';
import { fingerprint, recordConfigAtStart } from '../../../collector/config-audit.js';
import { CollectorConfigSchema, type CollectorConfig } from '../../../collector/config-schema.js';
import { openTestStore, type TestStore } from '../../helpers/dashboard.js';

const HASH_A = 'scrypt$16384$8$1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
const HASH_B = 'scrypt$16384$8$1$b3RoZXJzYWx0$bmV3aGFzaG5ld2hhc2g';
const TOKEN = 'a'.repeat(64);

function config(users: { name: string; role: string; password_hash: string }[], webhooks: string[]): CollectorConfig {
  return validateConfig(CollectorConfigSchema, {
    collector: { listen: '127.0.0.1:4318', ingest_tokens: [{ name: 'relay', sha256: TOKEN }] },
    store: { data_dir: './data' },
    dashboard: { listen: '127.0.0.1:8443', users },
    exporters: webhooks.map((url, i) => ({ name: `hook-${i}`, type: 'webhook', url, secret_file: 'hook.secret' })),
  }, 'collector.yaml', { env: {} }) as CollectorConfig;
}

interface Row { target: string; reason: string; before: string; after: string; via: string }

describe('collector configuration audit at start', () => {
  let t: TestStore;
  before(async () => {
    t = await openTestStore();
  });
  after(() => t.close());
  const events = (): Promise<Row[]> => t.store.query<Row>("SELECT target, reason, before, after, via FROM admin_events FINAL WHERE action = 'config.change' ORDER BY seq");

  it('records every configured section the first time, nothing on an unchanged restart, and the changed section after an edit', async () => {
    const trail = collectorAdminTrail(t.store, pino({ level: 'silent' }));
    const first = config([{ name: 'alice', role: 'analyst', password_hash: HASH_A }], ['https://soc.example/hook']);
    assert.deepEqual(await recordConfigAtStart(t.store, trail, first, '/etc/tw/collector.yaml'), ['collector.ingest_tokens', 'dashboard.users', 'exporters']);
    assert.deepEqual(await recordConfigAtStart(t.store, trail, first, '/etc/tw/collector.yaml'), []);

    const edited = config([{ name: 'alice', role: 'admin', password_hash: HASH_B }, { name: 'bob', role: 'viewer', password_hash: HASH_A }], ['https://soc.example/hook']);
    assert.deepEqual(await recordConfigAtStart(t.store, trail, edited, '/etc/tw/collector.yaml'), ['dashboard.users']);
    const rows = await events();
    assert.equal(rows.length, 4);
    const change = rows[3] as Row;
    assert.equal(change.target, 'dashboard.users');
    assert.equal(change.via, 'file:/etc/tw/collector.yaml');
    assert.match(change.reason, /changed in the configuration file/);
    const before = JSON.parse(change.before) as { name: string; role: string; password_hash: string }[];
    const afterUsers = JSON.parse(change.after) as typeof before;
    assert.deepEqual(before.map((u) => [u.name, u.role]), [['alice', 'analyst']]);
    assert.deepEqual(afterUsers.map((u) => [u.name, u.role]), [['alice', 'admin'], ['bob', 'viewer']]);
    assert.equal(afterUsers[0]?.password_hash, fingerprint(HASH_B), 'a password change shows as a new fingerprint');
    for (const r of rows) {
      for (const secret of [HASH_A, HASH_B, TOKEN]) assert.ok(!`${r.before}${r.after}`.includes(secret), 'no hash or digest in an event');
    }
  });
});
