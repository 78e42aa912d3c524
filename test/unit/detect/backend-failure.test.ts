import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { detectRange } from '../../../collector/detect/run.js';
import type { CallRecord } from '../../../common/audit/event.js';
import { at, background, call, emit, iso, load, MINUTE, onlyDetectors, range, spread, useStore } from './fixtures.js';

const only = onlyDetectors(['backend_failure']);

describe('backend_failure', () => {
  const s = useStore();
  before(async () => {
    await load(s.store, background(9));
    await load(s.store, emit(spread(40, at(8, 11, 10), at(8, 11, 14), (ts) => call(ts, {
      status: 502, error_type: 'connect_refused', bytes_out: 0, backend_ttfb_us: 0,
    }))));
    // The tunnel, not the backend: the connector away for a restart (no_connector at the relay, 02:00), and
    // the tunnel breaking under calls in flight (tunnel_down, 05:00). As many failures as the outage above.
    await load(s.store, emit([
      ...spread(40, at(8, 2, 3), at(8, 2, 9), (ts) => call(ts, { decision: 'deny', deny_reason: 'no_connector', status: 503, rule_id: '', internal_host: '', internal_port: 0, bytes_out: 0, backend_connect_us: 0, backend_ttfb_us: 0 })),
      ...spread(40, at(8, 5, 3), at(8, 5, 9), (ts) => call(ts, { status: 502, error_type: 'tunnel_down', bytes_out: 0, backend_ttfb_us: 0 })),
    ], 'relay-inject'));
  });

  it('flags the backend whose calls failed 40 times in one 15-minute window, naming the error and the share, and not the tunnel failures', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.equal(findings.length, 1, JSON.stringify(findings, null, 2));
    const f = findings[0]!;
    assert.deepEqual([f.detector, f.subaccount, f.entity_type, f.entity], ['backend_failure', 'acme', 'backend', 'erp.virtual:8000']);
    assert.deepEqual([f.window_start, f.window_end], [iso(at(8, 11, 0)), iso(at(8, 11, 15))]);
    assert.ok((f.evidence.failed_share as number) > 0.8, JSON.stringify(f.evidence));
    assert.ok((f.evidence.failures as Record<string, number>).connect_refused! >= 40);
    assert.deepEqual(Object.keys(f.evidence.failures as object).filter((k) => k === 'tunnel_down' || k === 'no_connector'), []);
    assert.deepEqual(f.evidence.internal_backends, ['10.0.0.5:8443']);
    assert.notEqual(f.severity, 'critical', 'operational findings stop at high');
  });

  it('stays quiet over days of ordinary traffic (3 % scattered errors)', async () => {
    assert.deepEqual(await detectRange(s.store, range(at(3, 0), at(8, 0)), only), []);
  });
});

describe('backend_failure for a weekly maintenance window', () => {
  const s = useStore();
  const outage = (day: number, hh: number, host: string) => spread(30, at(day, hh, 2), at(day, hh, 10), (ts) => call(ts, {
    virtual_host: host, status: 503, error_type: 'connect_refused', bytes_out: 0, backend_ttfb_us: 0,
  }));
  before(async () => {
    await load(s.store, background(16));
    // erp fails every Tuesday at 22:00 (days 1, 8, 15); crm at 03:00 on days 8 and 15 only, so on day 15
    // the baseline's first week (day 1) had no such failures.
    await load(s.store, emit([...outage(1, 22, 'erp.virtual'), ...outage(8, 22, 'erp.virtual'), ...outage(15, 22, 'erp.virtual'), ...outage(8, 3, 'crm.virtual'), ...outage(15, 3, 'crm.virtual')]));
  });

  it('keeps the failure that recurs every week of the baseline at low severity and says why; the other stays high', async () => {
    const findings = await detectRange(s.store, range(at(15, 0), at(16, 0)), only);
    const byBackend = Object.fromEntries(findings.map((f) => [f.entity, f]));
    assert.deepEqual(Object.keys(byBackend).sort(), ['crm.virtual:8000', 'erp.virtual:8000'], JSON.stringify(findings, null, 2));
    const erp = byBackend['erp.virtual:8000']!;
    assert.equal(erp.severity, 'low');
    assert.deepEqual(erp.evidence.recurs_weekly, [{ weeks: 1, failed: 30 }, { weeks: 2, failed: 30 }]);
    assert.match(erp.explanation, /It recurs weekly: .* 30 times 1 week before and 30 times 2 weeks before/);
    const crm = byBackend['crm.virtual:8000']!;
    assert.equal(crm.severity, 'high');
    assert.equal(crm.evidence.recurs_weekly, null);
  });

  it('raises the first occurrences as usual', async () => {
    const [erp] = await detectRange(s.store, range(at(8, 22), at(8, 23)), only);
    assert.equal(erp?.entity, 'erp.virtual:8000');
    assert.equal(erp?.severity, 'low', 'one earlier week in the baseline, and it failed: recurring');
    const [first] = await detectRange(s.store, range(at(1, 22), at(1, 23)), only);
    assert.equal(first?.entity, 'erp.virtual:8000');
    assert.equal(first?.evidence.recurs_weekly, null, 'no earlier week in the store');
  });
});

describe('backend_failure for a backend that answers 5xx itself', () => {
  const s = useStore();
  // legacy.virtual answers 8 calls every 15 minutes, one of them (two in every fourth window) a 500 of its
  // own (error_type '': it did answer): a normal trickle of 15 % server errors.
  const legacy = (ts: number, status: number) => call(ts, {
    virtual_host: 'legacy.virtual', virtual_port: 8080, internal_host: '10.0.0.30', internal_port: 8080, path: '/legacy/report', status, bytes_out: status >= 500 ? 300 : 4_000,
  });
  const trickle: CallRecord[] = [];
  for (let w = 0; w < 9 * 96; w++) {
    const start = at(0, 0) + w * 15 * MINUTE;
    trickle.push(...spread(8, start, start + 15 * MINUTE, (ts, i) => legacy(ts, i === 0 || (i === 4 && w % 4 === 0) ? 500 : 200)));
  }
  before(async () => {
    await load(s.store, background(9));
    await load(s.store, emit([
      ...trickle,
      // Day 8, 10:00: a busy quarter hour, 60 calls with the usual share of 500s (9, 15 %).
      ...spread(60, at(8, 10, 0), at(8, 10, 14), (ts, i) => legacy(ts, i % 20 < 3 ? 500 : 200)),
      // Day 8, 18:00-18:10: 15 more calls, 6 of them 500: twice its usual share, on too few calls to say so.
      ...spread(15, at(8, 18, 0), at(8, 18, 10), (ts, i) => legacy(ts, i % 5 < 2 ? 500 : 200)),
      // Day 8, 14:00-14:45: its database is gone, it answers 503 to 17 of every 20 calls.
      ...spread(120, at(8, 14, 0), at(8, 14, 44), (ts, i) => legacy(ts, i % 20 < 17 ? 503 : 200)),
    ], 'connector-legacy'));
  });

  it('flags the outage the backend answered with 503s (no transport error), naming them http_5xx', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.deepEqual(findings.map((f) => [f.entity, f.window_start, f.window_end]), [['legacy.virtual:8080', iso(at(8, 14, 0)), iso(at(8, 14, 45))]], JSON.stringify(findings, null, 2));
    const f = findings[0]!;
    assert.ok((f.evidence.failures as Record<string, number>).http_5xx! >= 30, JSON.stringify(f.evidence));
    assert.match(f.explanation, /http_5xx: answered with a 5xx status by the backend itself/);
    assert.ok((f.evidence.usual_failed_share as number) > 0.1 && (f.evidence.usual_failed_share as number) < 0.2, JSON.stringify(f.evidence));
    assert.equal(f.evidence.share_threshold, 2 * (f.evidence.usual_failed_share as number));
    assert.ok((f.evidence.sample_event_ids?.length ?? 0) > 0);
  });

  it('stays quiet for a busy quarter hour with the backend\'s usual share of 500s, a few calls at twice the share, and its ordinary days', async () => {
    assert.deepEqual(await detectRange(s.store, range(at(8, 9), at(8, 12)), only), []);
    assert.deepEqual(await detectRange(s.store, range(at(8, 17), at(8, 20)), only), []);
    assert.deepEqual(await detectRange(s.store, range(at(3, 0), at(8, 0)), only), []);
  });
});
