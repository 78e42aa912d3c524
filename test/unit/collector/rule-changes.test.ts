// A connector's rule change becomes one admin event in the collector's chain, with the changed
// subaccounts before and after; unchanged rules record nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { collectorAdminTrail } from '../../../collector/admin-trail.js';
import { diffRules, recordRuleChange } from '../../../collector/rule-changes.js';
import { insertRuleSnapshot, rulesHash, type RuleSet, type RuleSnapshot } from '../../../collector/store/rule-snapshots.js';
import { openTestStore, type TestStore } from '../../helpers/dashboard.js';

interface AdminRow { action: string; actor: string; via: string; target: string; reason: string; before: string; after: string; emitter: string; seq: string }

const mapping = (virtual: string, paths: string[]) => ({
  id: virtual, virtual, internal: '10.0.0.5:8443', protocol: 'https' as const, host_header: 'virtual' as const,
  resources: paths.map((p) => ({ id: `${virtual}${p}*`, path: p, match: 'prefix' as const, methods: ['GET'], active: true, websocket: false })),
});
const rules = (acmePaths: string[], withGlobex = true): RuleSet => ({
  subaccounts: [
    { subaccount: 'acme', trusted_apps: [], mappings: [mapping('erp.virtual:8000', acmePaths)] },
    ...(withGlobex ? [{ subaccount: 'globex', trusted_apps: ['portal'], mappings: [mapping('crm.virtual:443', ['/'])] }] : []),
  ],
} as unknown as RuleSet);
const snapshot = (r: RuleSet, change?: RuleSnapshot['change']): RuleSnapshot => ({
  schema: 'tunnelwatch.rules/1', connector_id: 'connector-7', location_id: '', taken_at: new Date().toISOString(), snapshot_hash: rulesHash(r), rules: r, ...(change ? { change } : {}),
});

describe('rule changes', () => {
  let t: TestStore;
  before(async () => {
    t = await openTestStore();
  });
  after(() => t.close());

  it('diffs by subaccount: added, removed, changed, with only those rules', () => {
    const d = diffRules(rules(['/api']), rules(['/api', '/admin'], false));
    assert.deepEqual([d.added, d.removed, d.changed], [[], ['globex'], ['acme']]);
    assert.deepEqual(d.before.map((s) => s.subaccount), ['acme', 'globex']);
    assert.deepEqual(d.after.map((s) => s.subaccount), ['acme']);
    assert.deepEqual(diffRules(undefined, rules(['/api'])).added, ['acme', 'globex']);
  });

  it('records the first report, nothing for the same rules again, and a reload with who and the diff', async () => {
    const trail = collectorAdminTrail(t.store, pino({ level: 'silent' }));
    const first = snapshot(rules(['/api']));
    assert.ok(await recordRuleChange(t.store, trail, first));
    await insertRuleSnapshot(t.store.client, first);
    assert.equal(await recordRuleChange(t.store, trail, snapshot(rules(['/api']))), undefined, 'same rules: no event');
    const changed = snapshot(rules(['/api', '/admin']), { via: 'reload', actor: 'SIGHUP by uid 0 on host-a' });
    const diff = await recordRuleChange(t.store, trail, changed);
    assert.deepEqual(diff?.changed, ['acme']);
    await insertRuleSnapshot(t.store.client, changed);

    const events = await t.store.query<AdminRow>(
      "SELECT action, actor, via, target, reason, before, after, emitter, seq FROM admin_events FINAL WHERE action = 'rules.change' ORDER BY seq",
    );
    assert.equal(events.length, 2);
    const [start, reload] = events;
    if (!start || !reload) throw new Error("two events expected");
    assert.equal(start.via, 'connector:start');
    assert.match(start.reason, /first rules reported: 2 subaccount/);
    assert.equal(start.before, '');
    assert.equal(reload.emitter, 'collector');
    assert.equal(reload.via, 'connector:reload');
    assert.equal(reload.actor, 'SIGHUP by uid 0 on host-a');
    assert.equal(reload.target, 'connector-7');
    assert.match(reload.reason, /changed acme/);
    const b = JSON.parse(reload.before) as { snapshot_hash: string; subaccounts: { subaccount: string; mappings: { resources: unknown[] }[] }[] };
    const a = JSON.parse(reload.after) as typeof b;
    assert.equal(b.snapshot_hash, first.snapshot_hash);
    assert.equal(a.snapshot_hash, changed.snapshot_hash);
    assert.deepEqual([b.subaccounts.map((s) => s.subaccount), a.subaccounts.map((s) => s.subaccount)], [['acme'], ['acme']]);
    assert.deepEqual([b.subaccounts[0]?.mappings[0]?.resources.length, a.subaccounts[0]?.mappings[0]?.resources.length], [1, 2]);
    assert.equal(Number(reload.seq), Number(start.seq) + 1, 'one chain');
  });
});
