// Exporter stuck from export health, with an injected clock: an exporter with an old record waiting and no
// success for stuck_after_s fires (high), once; one that delivers, is idle, or is only behind while it
// delivers does not; a success after the episode began resolves it; a disabled exporter resolves too; at
// start an exporter that is fine clears what an earlier run left open.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExporterHealth, StreamHealth } from '../../../collector/export/health.js';
import { StuckWatch } from '../../../collector/export/stuck-alerts.js';

const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const at = (s: number): Date => new Date(T0 + s * 1000);

function health(name: string, lag: number, lagSeconds: number, lastSuccessS: number | null, state: ExporterHealth['state'] = 'retrying'): ExporterHealth {
  const stream: StreamHealth = { stream: 'findings', lag_records: lag, lag_seconds: lagSeconds, position_at: null, last_success_at: lastSuccessS === null ? null : at(lastSuccessS).toISOString(), sent: 0 };
  return {
    name, type: 'webhook', state, streams: [stream], last_success_at: stream.last_success_at,
    last_error: { kind: 'retryable', reason: 'HTTP 500', at: at(0).toISOString() }, errors: { retryable: 3, failure: 0, dead_letter: 0, store: 0 }, dead_letters: 0,
  };
}

test('fires once when an old record waits and nothing was delivered for stuck_after_s; resolves on the next success', () => {
  const w = new StuckWatch(300, at(0));
  assert.deepEqual(w.observe([health('soar', 10, 100, null)], at(100)).map((e) => [e.state, e.episode]), [['resolved', undefined]], 'a clear at start');
  assert.deepEqual(w.observe([health('soar', 10, 299, null)], at(299)), [], 'not yet');
  const [fired] = w.observe([health('soar', 40, 301, null)], at(301));
  assert.deepEqual([fired?.state, fired?.severity, fired?.subject, fired?.episode, fired?.since], ['firing', 'high', 'soar', at(0).toISOString(), at(0).toISOString()]);
  assert.deepEqual([fired?.detail.lag_records, fired?.detail.lag_seconds, fired?.detail.exporter_state, fired?.detail.last_error, fired?.detail.stuck_after_s], [40, 301, 'retrying', 'HTTP 500', 300]);
  assert.deepEqual(w.observe([health('soar', 60, 400, null)], at(400)), [], 'once per episode');
  const [resolved] = w.observe([health('soar', 30, 5, 410, 'ok')], at(420));
  assert.deepEqual([resolved?.state, resolved?.episode], ['resolved', at(0).toISOString()]);
  // Stuck again later: a new episode from the last success.
  const [again] = w.observe([health('soar', 5, 900, 410)], at(1000));
  assert.deepEqual([again?.state, again?.episode], ['firing', at(410).toISOString()]);
});

test('not stuck: idle with a fresh record after a long quiet, or behind but delivering', () => {
  const w = new StuckWatch(300, at(0));
  w.observe([health('a', 0, 0, 0, 'ok'), health('b', 0, 0, 0, 'ok')], at(1));
  // a: idle for an hour, then one record arrives (2 s old): its last success is old, its record is not.
  // b: 50,000 records behind, the oldest 20 min old, but it delivered 10 s ago.
  assert.deepEqual(w.observe([health('a', 1, 2, 0, 'ok'), health('b', 50_000, 1200, 3590, 'ok')], at(3600)), []);
});

test('a disabled exporter is never stuck, and disabling one resolves its alert', () => {
  const w = new StuckWatch(60, at(0));
  w.observe([health('x', 5, 10, null)], at(10));
  assert.equal(w.observe([health('x', 5, 70, null)], at(70))[0]?.state, 'firing');
  assert.equal(w.observe([health('x', 5, 80, null, 'disabled')], at(80))[0]?.state, 'resolved');
  assert.deepEqual(w.observe([health('x', 5, 500, null, 'disabled')], at(500)), []);
});
