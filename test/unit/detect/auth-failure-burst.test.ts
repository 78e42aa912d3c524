import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { detectRange } from '../../../collector/detect/run.js';
import { at, background, call, emit, iso, load, onlyDetectors, range, spread, useStore } from './fixtures.js';

const only = onlyDetectors(['auth_failure_burst']);
const unauthenticated = (ip: string) => (ts: number, i: number) => call(ts, {
  subaccount: '', cloud_app: '', principal: '', client_ip: ip, decision: 'deny', deny_reason: 'unauthenticated', status: 407,
  rule_id: '', internal_host: '', internal_port: 0, path: `/api/orders/${i}`, user_agent: 'python-requests/2.31.0',
});

describe('auth_failure_burst', () => {
  const s = useStore();
  before(async () => {
    await load(s.store, background(9));
    await load(s.store, emit(spread(60, at(8, 14, 2), at(8, 14, 4), unauthenticated('198.51.100.66'))));
    // On the store's second day: too little history to trust a baseline.
    await load(s.store, emit(spread(40, at(1, 9, 0), at(1, 9, 3), unauthenticated('198.51.100.9')), 'connector-inject-2'));
  });

  it('flags 60 unauthenticated attempts from one IP at the relay, subaccount ""', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.equal(findings.length, 1, JSON.stringify(findings, null, 2));
    const f = findings[0]!;
    assert.deepEqual([f.detector, f.subaccount, f.entity_type, f.entity], ['auth_failure_burst', '', 'client_ip', '198.51.100.66']);
    assert.deepEqual([f.window_start, f.window_end], [iso(at(8, 14, 0)), iso(at(8, 14, 15))]);
    assert.equal(f.evidence.observed, 60);
    assert.deepEqual(f.evidence.user_agents, ['python-requests/2.31.0']);
    assert.match(f.explanation, /made 60 attempts the relay refused as unauthenticated in 15 minutes/);
    assert.ok(f.score >= 55, String(f.score));
  });

  it('reports a burst during the warm-up at low severity and says why', async () => {
    const [f, ...rest] = await detectRange(s.store, range(at(1, 0), at(2, 0)), only);
    assert.equal(rest.length, 0);
    assert.equal(f?.entity, '198.51.100.9');
    assert.equal(f?.severity, 'low');
    assert.match(f?.explanation ?? '', /warm-up/);
  });

  it('stays quiet over days of ordinary traffic', async () => {
    assert.deepEqual(await detectRange(s.store, range(at(3, 0), at(8, 0)), only), []);
  });
});
