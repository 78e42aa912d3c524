import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { detectRange } from '../../../collector/detect/run.js';
import { binomialZ } from '../../../collector/detect/score.js';
import type { CallRecord } from '../../../common/audit/event.js';
import { at, call, emit, HOUR, iso, load, onlyDetectors, range, spread, useStore } from './fixtures.js';

const only = onlyDetectors(['peer_deviation'], { peer_deviation: { min_calls: 20 } });
const PEERS = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'];

/** 24 calls an hour for each tenant over 9 days from T0; `change` alters call i of an hour (hours since T0). */
function hourly(subs: readonly string[], change: (sub: string, hour: number, i: number) => Partial<CallRecord>): CallRecord[] {
  const out: CallRecord[] = [];
  for (let hour = 0; hour < 9 * 24; hour++) {
    const start = at(0, 0) + hour * HOUR;
    for (const sub of subs) out.push(...spread(24, start, start + HOUR, (ts, i) => call(ts, { subaccount: sub, ...change(sub, hour, i) })));
  }
  return out;
}

/** The three hours from `from` o'clock on day 8. */
const onDay8 = (hour: number, from: number) => hour >= 8 * 24 + from && hour < 8 * 24 + from + 3;

/** One in twelve calls refused; p3 refuses 15 of 24 on day 8 from 12:00 to 15:00. */
function traffic(): CallRecord[] {
  return hourly(PEERS, (sub, hour, i) => ((sub === 'p3' && onDay8(hour, 12) ? i % 8 < 5 : i % 12 === 0) ? { decision: 'deny', deny_reason: 'path_not_allowed', status: 403, rule_id: '' } : {}));
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

/**
 * q6 always has one call in twelve answered 404 (8.3 %), its peers none. On day 8 it has 5 in 24 for three
 * hours from 12:00 (20.8 %: 2.5 x its own median, but a binomial z of 3.2 on 72 calls, what chance gives
 * a tenant this small now and then) and 12 in 24 for three hours from 18:00 (50 %).
 */
function steadyDeviant(): CallRecord[] {
  return hourly(['q1', 'q2', 'q3', 'q4', 'q5', 'q6'], (sub, hour, i) => {
    const every = sub !== 'q6' ? 0 : onDay8(hour, 12) ? 5 : onDay8(hour, 18) ? 2 : 12;
    return every > 0 && i % every === 0 ? { status: 404 } : {};
  });
}

describe('peer_deviation against a tenant that is always different', () => {
  const s = useStore();
  before(async () => {
    await load(s.store, emit(steadyDeviant()));
  });

  it('judges the tenant against its own past with the same binomial test: chance wobble is quiet, a real change is not', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.deepEqual(findings.map((f) => [f.subaccount, f.evidence.feature, f.window_start]), [['q6', 'client_error_rate', iso(at(8, 18))]], JSON.stringify(findings, null, 2));
    const f = findings[0]!;
    assert.ok(Math.abs((f.evidence.own_median as number) - 1 / 12) < 1e-9, JSON.stringify(f.evidence));
    assert.ok((f.evidence.own_z as number) > 5, JSON.stringify(f.evidence));
    assert.match(f.explanation, /binomial z of at least 5 against it \(it is /);
  });
});

describe('binomialZ', () => {
  it('is the normal deviate of the exact binomial tail: far below the normal approximation for small counts, close to it for large ones', () => {
    // P(X >= 3 | 30, 0.005) = 5.1e-4, the tail of z 3.29; the approximation says 7.4.
    assert.ok(Math.abs(binomialZ(3, 30, 0.005) - 3.29) < 0.05, String(binomialZ(3, 30, 0.005)));
    // 600 of 10,000 against 5 %: the approximation says 4.59; the binomial's heavier right tail a little less.
    const large = binomialZ(600, 10_000, 0.05);
    assert.ok(large > 4.3 && large < 4.59, String(large));
    // Tails far below the smallest double stay finite and ordered.
    assert.ok(Number.isFinite(binomialZ(2000, 2000, 0.01)) && binomialZ(2000, 2000, 0.01) > binomialZ(1000, 2000, 0.01));
    assert.equal(binomialZ(5, 10, 0.5), 0);
  });
});

describe('peer_deviation on answers the backends gave with a 5xx status', () => {
  const s = useStore();
  before(async () => {
    // r3's backends answer 8 of every 24 calls with a 500 of their own (error_type '': they did answer)
    // on day 8 from 12:00 to 15:00; nobody else's do, and nothing failed in transport.
    await load(s.store, emit(hourly(['r1', 'r2', 'r3', 'r4', 'r5', 'r6'], (sub, hour, i) => (sub === 'r3' && onDay8(hour, 12) && i % 3 === 0 ? { status: 500, bytes_out: 200 } : {}))));
  });

  it('flags the subaccount whose share of 5xx answers left its peers\' and its own', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.deepEqual(findings.map((f) => [f.subaccount, f.window_start, f.window_end, f.evidence.feature]), [['r3', iso(at(8, 12)), iso(at(8, 15)), 'server_error_rate']], JSON.stringify(findings, null, 2));
    assert.match(findings[0]!.title, /5xx rate of allowed calls 33\.3 % against 0\.0 % for the others/);
  });
});

describe('peer_deviation with two tenants deviating at once', () => {
  const s = useStore();
  before(async () => {
    // One call in 24 refused everywhere; on day 8 from 12:00 to 15:00 t3 refuses 6 in 24 (a policy rollout)
    // while t5 refuses 20 in 24 (its own, unrelated incident).
    const refused = { decision: 'deny', deny_reason: 'method_not_allowed', status: 403, rule_id: '' } as const;
    await load(s.store, emit(hourly(['t1', 't2', 't3', 't4', 't5', 't6'], (sub, hour, i) => {
      const every = !onDay8(hour, 12) ? (i % 24 === 0) : sub === 't3' ? i % 4 === 0 : sub === 't5' ? i % 6 !== 0 : i % 24 === 0;
      return every ? refused : {};
    })));
  });

  it('flags both: the other\'s incident does not raise the bar for the first', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.deepEqual(findings.map((f) => [f.subaccount, f.window_start, f.evidence.feature]).sort(), [['t3', iso(at(8, 12)), 'deny_rate'], ['t5', iso(at(8, 12)), 'deny_rate']], JSON.stringify(findings, null, 2));
    const t3 = findings.find((f) => f.subaccount === 't3')!;
    assert.ok((t3.evidence.peers_pooled_rate as number) > 0.15, JSON.stringify(t3.evidence));
    assert.ok(Math.abs((t3.evidence.peers_rate as number) - 1 / 24) < 1e-9, JSON.stringify(t3.evidence));
  });
});
