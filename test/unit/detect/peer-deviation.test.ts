import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { detectRange } from '../../../collector/detect/run.js';
import type { CallRecord } from '../../../common/audit/event.js';
import { at, call, emit, HOUR, iso, load, onlyDetectors, range, spread, useStore } from './fixtures.js';

const only = onlyDetectors(['peer_deviation'], { peer_deviation: { min_calls: 20 } });
const PEERS = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'];

/** 24 calls an hour per tenant, one in twelve refused; p3 refuses 15 of 24 on day 8 from 12:00 to 15:00. */
function traffic(): CallRecord[] {
  const out: CallRecord[] = [];
  for (let hour = 0; hour < 9 * 24; hour++) {
    for (const sub of PEERS) {
      const burst = sub === 'p3' && hour >= 8 * 24 + 12 && hour < 8 * 24 + 15;
      out.push(...spread(24, at(0, 0) + hour * HOUR, at(0, 0) + (hour + 1) * HOUR, (ts, i) => call(ts, {
        subaccount: sub,
        ...((burst ? i % 8 < 5 : i % 12 === 0) ? { decision: 'deny', deny_reason: 'path_not_allowed', status: 403, rule_id: '' } : {}),
      })));
    }
  }
  return out;
}

describe('peer_deviation', () => {
  const s = useStore();
  before(async () => {
    await load(s.store, emit(traffic()));
  });

  it('flags the subaccount whose deny rate left its peers\' and its own', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.equal(findings.length, 1, JSON.stringify(findings, null, 2));
    const f = findings[0]!;
    assert.deepEqual([f.detector, f.subaccount, f.entity_type, f.entity], ['peer_deviation', 'p3', 'subaccount', 'p3']);
    assert.deepEqual([f.window_start, f.window_end], [iso(at(8, 12)), iso(at(8, 15))]);
    assert.equal(f.evidence.feature, 'deny_rate');
    assert.equal(f.evidence.peers, 5);
    assert.match(f.title, /deny rate 62\.5 % against 8\.3 % for the others/);
    assert.ok((f.evidence.z as number) > 5);
  });

  it('stays quiet while all tenants look alike', async () => {
    assert.deepEqual(await detectRange(s.store, range(at(3, 0), at(8, 0)), only), []);
  });
});
