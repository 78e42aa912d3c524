import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { readFindings, readFindingsById, writeFindings } from '../../../collector/detect/findings-store.js';
import { detectRange } from '../../../collector/detect/run.js';
import { at, background, call, emit, load, range, spread, useStore } from './fixtures.js';

describe('findings in the store', () => {
  const s = useStore();
  before(async () => {
    await load(s.store, background(9));
    await load(s.store, emit(spread(80, at(8, 10, 1), at(8, 10, 4), (ts, i) => call(ts, {
      cloud_app: 'analytics', principal: '', client_ip: `203.0.113.${1 + (i % 20)}`, decision: 'deny', deny_reason: 'path_not_allowed', status: 403, rule_id: '', path: `/admin/${i}`,
    }))));
    await load(s.store, emit(spread(60, at(8, 14, 2), at(8, 14, 4), (ts) => call(ts, {
      subaccount: '', cloud_app: '', principal: '', client_ip: '198.51.100.66', decision: 'deny', deny_reason: 'unauthenticated', status: 407, rule_id: '',
    })), 'connector-inject-2'));
  });

  const count = async (final: boolean) => Number((await s.store.query<{ c: string }>(`SELECT count() AS c FROM findings${final ? ' FINAL' : ''}`))[0]?.c);

  it('re-running over the same data gives the same finding ids and no duplicate rows', async () => {
    const first = await detectRange(s.store, range(at(8, 0), at(9, 0)));
    assert.ok(first.length >= 2, JSON.stringify(first.map((f) => f.title)));
    const w1 = await writeFindings(s.store, first, new Date(at(9, 0)));
    assert.equal(w1.created.length, first.length);
    const second = await detectRange(s.store, range(at(8, 0), at(9, 0)));
    assert.deepEqual(second.map((f) => f.finding_id), first.map((f) => f.finding_id));
    const w2 = await writeFindings(s.store, second, new Date(at(9, 1)));
    assert.deepEqual([w2.created.length, w2.updated.length, w2.unchanged], [0, 0, first.length]);
    assert.equal(await count(false), first.length);
    // A wider range judges the same windows the same way.
    const wider = await detectRange(s.store, range(at(6, 0), at(9, 0)));
    for (const f of first) assert.ok(wider.some((w) => w.finding_id === f.finding_id), f.title);
  });

  it('an update replaces the finding (FINAL shows one row) and keeps when it was first detected', async () => {
    const [f] = await readFindings(s.store, { detectors: ['deny_burst'] });
    assert.ok(f);
    const w = await writeFindings(s.store, [{ ...f, score: 99, severity: 'critical', window_end: new Date(Date.parse(f.window_end) + 300_000).toISOString() }], new Date(at(9, 5)));
    assert.equal(w.updated.length, 1);
    const [again] = await readFindingsById(s.store, [f.finding_id]);
    assert.deepEqual([again?.score, again?.severity, again?.first_detected_at], [99, 'critical', f.first_detected_at]);
    assert.equal(again?.detected_at, new Date(at(9, 5)).toISOString());
    const total = await count(true);
    assert.equal((await readFindings(s.store)).length, total);
    assert.equal((await s.store.query<{ c: string }>('SELECT count() AS c FROM findings FINAL WHERE finding_id = {id:String}', { id: f.finding_id }))[0]?.c, '1');
  });

  it('reads by time, subaccount and least severity; evidence comes back as an object', async () => {
    const relay = await readFindings(s.store, { subaccounts: [''] });
    assert.deepEqual(relay.map((f) => f.detector), ['auth_failure_burst']);
    assert.equal(relay[0]?.evidence.observed, 60);
    assert.deepEqual(await readFindings(s.store, { from: new Date(at(8, 15)), to: new Date(at(9, 0)) }), []);
    assert.ok((await readFindings(s.store, { minSeverity: 'critical' })).every((f) => f.severity === 'critical'));
  });
});
