// Changes to collector.yaml's users, tokens, LDAP mapping and exporters between two starts become admin
// events with before and after; secrets only as fingerprints; an unchanged start records nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { validateConfig } from '../../../common/config/load-config.js';
import { collectorAdminTrail } from '../../../collector/admin-trail.js';
import { CONFIG_REPORT_SCHEMA, fingerprint, type ConfigReport, type ConfigSnapshot } from '../../../common/config/config-report.js';
import { recordConfigAtStart, recordEmitterConfig } from '../../../collector/config-audit.js';
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
    assert.deepEqual(await recordConfigAtStart(t.store, trail, first, '/etc/tw/collector.yaml'), ['collector.ingest_tokens', 'dashboard.users', 'exporters', 'detection']);
    assert.deepEqual(await recordConfigAtStart(t.store, trail, first, '/etc/tw/collector.yaml'), []);

    const edited = config([{ name: 'alice', role: 'admin', password_hash: HASH_B }, { name: 'bob', role: 'viewer', password_hash: HASH_A }], ['https://soc.example/hook']);
    assert.deepEqual(await recordConfigAtStart(t.store, trail, edited, '/etc/tw/collector.yaml'), ['dashboard.users']);
    const rows = await events();
    assert.equal(rows.length, 5);
    const change = rows[4] as Row;
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

  it('records a relay\'s reported sections once each: a re-sent report adds nothing, a reload only what it changed', async () => {
    const trail = collectorAdminTrail(t.store, pino({ level: 'silent' }));
    const snap = (via: ConfigSnapshot['via'], tokens: string[], actor = 'relay start on host-a (pid 1)'): ConfigSnapshot => ({
      taken_at: new Date().toISOString(), via, actor, actor_role: via === 'api' ? 'relay-admin-token' : 'config-file', client_ip: via === 'api' ? '10.0.0.9' : '',
      sections: { tokens: tokens.map((d) => ({ subaccount: 'acme', cloud_app: 'portal', sha256: fingerprint(d) })), 'admin.tokens': null, 'tunnel.connectors': [{ cn: 'conn-1', subaccounts: ['acme'] }] },
    });
    const report = (...snapshots: ConfigSnapshot[]): ConfigReport => ({ schema: CONFIG_REPORT_SCHEMA, emitter: 'relay', emitter_id: 'relay-1', snapshots });
    const start = report(snap('start', ['a'.repeat(64)]));
    assert.deepEqual(await recordEmitterConfig(t.store, trail, start), ['relay relay-1: tokens', 'relay relay-1: tunnel.connectors'], 'null and empty sections are not recorded the first time');
    assert.deepEqual(await recordEmitterConfig(t.store, trail, start), [], 'a re-sent report');
    const two = report(snap('sighup', ['b'.repeat(64)], 'SIGHUP to pid 1 on host-a'), snap('api', ['b'.repeat(64), 'c'.repeat(64)], 'admin token ops'));
    assert.deepEqual(await recordEmitterConfig(t.store, trail, two), ['relay relay-1: tokens', 'relay relay-1: tokens']);
    assert.deepEqual(await recordEmitterConfig(t.store, trail, two), [], 'the same two again');
    const rows = await t.store.query<Row & { actor: string; client_ip: string }>("SELECT target, reason, before, after, via, actor, client_ip FROM admin_events FINAL WHERE action = 'config.change' AND target = 'relay relay-1: tokens' ORDER BY seq");
    assert.deepEqual(rows.map((r) => [r.via, r.actor, r.client_ip]), [['relay:start', 'relay start on host-a (pid 1)', ''], ['relay:sighup', 'SIGHUP to pid 1 on host-a', ''], ['relay:api', 'admin token ops', '10.0.0.9']]);
    assert.equal(rows[1]?.before, rows[0]?.after, 'each change starts from the one before');
    assert.ok(rows[1]?.before.includes(fingerprint('a'.repeat(64))) && rows[1].after.includes(fingerprint('b'.repeat(64))));
    assert.match(rows[2]?.reason ?? '', /changed by a reload through the admin API/);
    for (const r of rows) assert.ok(!`${r.before}${r.after}`.includes('b'.repeat(64)), 'digests only as fingerprints');
  });
});
