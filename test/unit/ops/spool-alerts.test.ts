// The spool watch over a scripted fill, with an injected clock: a clear at start when fine, medium at
// 80 %, high (same episode) once calls are refused, nothing while it hovers between 60 and 80 %, resolved
// below 60 %, and a new episode the next time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ShipperMetrics } from '../../../common/audit/shipper-metrics.js';
import { SpoolWatch, startSpoolAlerts } from '../../../common/ops/spool-alerts.js';
import type { OpsEvent } from '../../../common/ops/ops-events.js';

const MAX = 1_000_000;
const T0 = Date.UTC(2025, 2, 1, 12, 0, 0);

function metrics(fill: number, refusing = false): Pick<ShipperMetrics, 'spool_fill_ratio' | 'spool_bytes' | 'spool_max_bytes' | 'refusing' | 'unshipped_events' | 'last_error' | 'last_success_time'> {
  return { spool_fill_ratio: fill, spool_bytes: Math.round(fill * MAX), spool_max_bytes: MAX, refusing, unshipped_events: Math.round(fill * 1000), last_error: 'ECONNREFUSED', last_success_time: T0 - 60_000 };
}

test('fires at 80 %, escalates when refusing, holds in the gap, resolves below 60 %', () => {
  const w = new SpoolWatch('conn-1');
  const at = (s: number): Date => new Date(T0 + s * 10_000);
  const steps: [number, boolean][] = [[0.1, false], [0.5, false], [0.79, false], [0.8, false], [0.9, false], [1, true], [0.95, false], [0.7, false], [0.61, false], [0.59, false], [0.3, false], [0.85, false]];
  const out: (OpsEvent & { step: number })[] = [];
  steps.forEach(([fill, refusing], i) => {
    for (const e of w.observe(metrics(fill, refusing), at(i))) out.push({ ...e, step: i });
  });
  assert.deepEqual(out.map((e) => [e.step, e.state, e.severity ?? '', e.episode ?? '']), [
    [0, 'resolved', '', ''], // the clear at start
    [3, 'firing', 'medium', at(3).toISOString()],
    [5, 'firing', 'high', at(3).toISOString()],
    [9, 'resolved', 'high', at(3).toISOString()],
    [11, 'firing', 'medium', at(11).toISOString()],
  ]);
  const high = out[2] as OpsEvent;
  assert.deepEqual([high.detail.refusing, high.detail.fill_ratio, high.detail.spool_bytes, high.since], [true, 1, MAX, at(3).toISOString()]);
  assert.equal(out[3]?.detail.fill_ratio, 0.59);
  assert.equal(out[1]?.subject, 'conn-1');
});

test('no shipper (no collector): nothing to watch', () => {
  const w = new SpoolWatch('relay-1');
  assert.deepEqual(w.observe(undefined, new Date(T0)), []);
});

test('a full spool under drop_oldest (not refusing) is high too', () => {
  const w = new SpoolWatch('relay-1');
  const [e] = w.observe(metrics(1, false), new Date(T0));
  assert.deepEqual([e?.state, e?.severity], ['firing', 'high']);
});

test('startSpoolAlerts checks at start and on its interval, and stops', async () => {
  const events: OpsEvent[] = [];
  let fill = 0.9;
  const s = startSpoolAlerts({ subject: 'conn-1', metrics: () => metrics(fill), report: (e) => events.push(e), intervalMs: 20 });
  assert.deepEqual(events.map((e) => e.state), ['firing'], 'checked at start');
  fill = 0.2;
  await new Promise((r) => setTimeout(r, 60));
  s.stop();
  assert.deepEqual(events.map((e) => e.state), ['firing', 'resolved']);
  fill = 0.95;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(events.length, 2, 'nothing after stop');
});
