import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { AuditEvent } from '../../../common/audit/event.js';
import { boundedLabel, callMetricsSink, MAX_SUBACCOUNTS, registerShipperMetrics, registerTunnelMetrics } from '../../../common/ops/tunnel-metrics.js';
import { auditEvent } from '../store/store-fixture.js';

/** The value of one series in Prometheus text, or undefined. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('relay and connector metrics', () => {
  it('count calls from audit events by subaccount, decision, status class, error type and deny reason, with latency histograms', async () => {
    const registry = new Registry();
    const sink = callMetricsSink(registry, 'connector');
    const e = (o: Partial<AuditEvent>): AuditEvent => auditEvent(o) as AuditEvent;
    for (let i = 0; i < 5; i++) sink.write(e({ subaccount: 'acme', status: 200, duration_us: 3_000, backend_connect_us: 400, backend_ttfb_us: 2_000 }), '');
    sink.write(e({ subaccount: 'acme', status: 502, error_type: 'connect_refused', duration_us: 1_000, backend_connect_us: 0, backend_ttfb_us: 0 }), '');
    sink.write(e({ subaccount: 'globex', decision: 'deny', status: 403, deny_reason: 'path_not_allowed', duration_us: 200, backend_connect_us: 0, backend_ttfb_us: 0, path: '/secret/<script>' }), '');
    const text = await registry.metrics();
    assert.equal(value(text, 'tunnelwatch_calls_total{subaccount="acme",decision="allow",status_class="2xx",error_type="",deny_reason=""}'), 5);
    assert.equal(value(text, 'tunnelwatch_calls_total{subaccount="acme",decision="allow",status_class="5xx",error_type="connect_refused",deny_reason=""}'), 1);
    assert.equal(value(text, 'tunnelwatch_calls_total{subaccount="globex",decision="deny",status_class="4xx",error_type="",deny_reason="path_not_allowed"}'), 1);
    assert.equal(value(text, 'tunnelwatch_call_duration_seconds_count{subaccount="acme",decision="allow"}'), 6);
    assert.equal(value(text, 'tunnelwatch_call_duration_seconds_bucket{le="0.001",subaccount="acme",decision="allow"}'), 1);
    assert.equal(value(text, 'tunnelwatch_backend_connect_seconds_count{subaccount="acme"}'), 5);
    assert.doesNotMatch(text, /secret|alice|203\.0\.113/, 'no path, principal or client IP in any label');
  });

  it('keep label cardinality bounded: subaccounts past the limit become _other, odd words become "invalid"', async () => {
    const next = boundedLabel(2);
    assert.deepEqual(['a', 'b', 'c', 'a', 'd'].map(next), ['a', 'b', '_other', 'a', '_other']);
    const registry = new Registry();
    const sink = callMetricsSink(registry, 'relay');
    for (let i = 0; i < MAX_SUBACCOUNTS + 50; i++) sink.write(auditEvent({ subaccount: `t-${i}` }) as AuditEvent, '');
    sink.write(auditEvent({ subaccount: 't-1', error_type: 'Weird Value!' as AuditEvent['error_type'] }) as AuditEvent, '');
    const text = await registry.metrics();
    const series = text.split('\n').filter((l) => l.startsWith('tunnelwatch_calls_total{'));
    assert.equal(series.length, MAX_SUBACCOUNTS + 2);
    assert.equal(value(text, 'tunnelwatch_calls_total{subaccount="_other",decision="allow",status_class="2xx",error_type="",deny_reason=""}'), 50);
    assert.ok(series.some((l) => l.includes('error_type="invalid"')));
  });

  it('read the spool and tunnel state at scrape time, with counters as counters', async () => {
    const registry = new Registry();
    let fill = 0.25;
    registerShipperMetrics(registry, () => ({ spool_bytes: 250, spool_max_bytes: 1000, spool_fill_ratio: fill, unshipped_events: 7, acked_seq: 1, kept_seq: 8, refusing: false, shipped_events_total: 40, shipped_bytes_total: 0, batches_total: 2, accepted_total: 40, duplicates_total: 0, failed_requests_total: 3, dead_letters_total: 0, dropped_events_total: 2, dropped_bytes_total: 0, last_success_time: 1_700_000_000_000, last_error: null, last_error_time: null }));
    registerTunnelMetrics(registry, 'relay', { sessions: () => [{ labels: { ha_role: 'master', active: 'true' }, value: 1 }, { labels: { ha_role: 'shadow', active: 'false' }, value: 1 }], streams: () => 4, connects: () => 3 });
    let text = await registry.metrics();
    assert.equal(value(text, 'tunnelwatch_audit_spool_fill_ratio'), 0.25);
    assert.equal(value(text, 'tunnelwatch_audit_unshipped_events'), 7);
    assert.equal(value(text, 'tunnelwatch_audit_dropped_events_total'), 2);
    assert.match(text, /# TYPE tunnelwatch_audit_dropped_events_total counter/);
    assert.equal(value(text, 'tunnelwatch_audit_last_success_timestamp_seconds'), 1_700_000_000);
    assert.equal(value(text, 'tunnelwatch_tunnel_sessions{ha_role="shadow",active="false"}'), 1);
    assert.equal(value(text, 'tunnelwatch_tunnel_streams'), 4);
    assert.equal(value(text, 'tunnelwatch_tunnel_connects_total'), 3);
    fill = 1;
    text = await registry.metrics();
    assert.equal(value(text, 'tunnelwatch_audit_spool_fill_ratio'), 1);
  });
});
