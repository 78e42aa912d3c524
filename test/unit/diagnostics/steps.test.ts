// The parts of a check that need no backend: the auth and latency verdicts, report text, exit codes, and
// that runCheck turns even an impossible mapping into a report instead of an exception.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exitCodeOf, formatCheckReport, formatTotals } from '../../../connector/diagnostics/report-text.js';
import { runCheck } from '../../../connector/diagnostics/run-check.js';
import { authStep, latencyStep } from '../../../connector/diagnostics/steps/auth-latency.js';
import { printable } from '../../../connector/diagnostics/steps/step-kit.js';
import type { CheckReport } from '../../../connector/diagnostics/types.js';

const http = { protocol: 'http' as const, at: '10.0.0.5:8080', request: 'HEAD /', headers: {}, boundAs: '' };

test('401 warns auth_required with the scheme the backend asked for; 403 warns auth_forbidden; 200 is ok', () => {
  const r401 = authStep({ ...http, status: 401, headers: { 'www-authenticate': 'Negotiate, Basic realm="x"' } });
  assert.equal(r401.outcome, 'warn');
  assert.equal(r401.classification, 'auth_required');
  assert.match(r401.message, /^10\.0\.0\.5:8080 is reachable but answered 401 to HEAD \/ \(WWW-Authenticate: Negotiate\)/);
  const r403 = authStep({ ...http, status: 403 });
  assert.equal(r403.classification, 'auth_forbidden');
  assert.equal(r403.outcome, 'warn');
  assert.equal(authStep({ ...http, status: 302 }).outcome, 'ok');
});

test('tcp mappings have no auth step unless an LDAP bind succeeded', () => {
  assert.equal(authStep({ ...http, protocol: 'tcp', status: 0 }).outcome, 'skipped');
  const bound = authStep({ ...http, protocol: 'tcps', status: 0, boundAs: 'cn=monitor' });
  assert.equal(bound.outcome, 'ok');
  assert.match(bound.message, /simple bind as cn=monitor/);
});

test('latency adds the measured parts and warns above the threshold', () => {
  const fast = latencyStep({ dnsMs: 1, connectMs: 2, tlsMs: 3, responseMs: 4, warnMs: 100 });
  assert.equal(fast.outcome, 'ok');
  assert.equal(fast.message, 'reachable in 10 ms (dns 1, connect 2, tls 3, response 4 ms)');
  const slow = latencyStep({ dnsMs: 0, connectMs: 50, tlsMs: 0, responseMs: 70, warnMs: 100 });
  assert.equal(slow.classification, 'latency_high');
  assert.equal(slow.detail.total_ms, 120);
});

test('what a peer sent is shown on one line, escaped and cut', () => {
  assert.equal(printable('220 ok\r\n\x00'), '220 ok\\r\\n\\x00');
  assert.equal(printable('x'.repeat(130), 5), 'xxxxx…');
});

test('exit codes: any down is 1, degraded only is 2, all up is 0', () => {
  assert.equal(exitCodeOf(['up', 'degraded', 'down']), 1);
  assert.equal(exitCodeOf(['up', 'degraded']), 2);
  assert.equal(exitCodeOf(['up', 'up']), 0);
});

test('an impossible port becomes a failed tcp step, never an exception', async () => {
  const report = await runCheck(
    { connectorId: 'c', locationId: '', subaccount: 'acme', trigger: 'schedule', mapping: { virtual: 'a.virtual:1', internal: '127.0.0.1:70000', protocol: 'http', host_header: 'virtual', resources: [] } },
    { timeoutMs: 200, latencyWarnMs: 100, certWarnDays: 30, resolvePath: (p) => p },
  );
  assert.equal(report.state, 'down');
  assert.equal(report.classification, 'tcp_unreachable');
  assert.equal(report.steps.length, 6);
  assert.match(report.summary, /^cannot connect to 127\.0\.0\.1:70000 \(ERR_SOCKET_BAD_PORT/);
  assert.equal(report.trigger, 'schedule');
});

test('the text report shows every step, times, and a fix under each failure', () => {
  const report: CheckReport = {
    check_id: 'x', connector_id: 'c', location_id: '', subaccount: 'acme', virtual_host: 'erp.virtual:443', internal_host: '10.0.0.5:8443',
    protocol: 'https', trigger: 'cli', requested_by: '', started_at: '2025-01-01T00:00:00.000Z', duration_ms: 3, state: 'down',
    classification: 'tcp_refused', summary: 'refused',
    steps: [
      { step: 'dns', outcome: 'ok', duration_ms: 0, classification: 'ok', message: 'an IP', fix: '', detail: {} },
      { step: 'tcp', outcome: 'fail', duration_ms: 3, classification: 'tcp_refused', message: 'connection refused at 10.0.0.5:8443', fix: 'Check the port.', detail: {} },
      { step: 'tls', outcome: 'skipped', duration_ms: 0, classification: 'ok', message: 'not run', fix: '', detail: {} },
    ],
  };
  assert.equal(formatCheckReport(report), [
    'acme  erp.virtual:443 -> 10.0.0.5:8443 (https): DOWN, tcp_refused',
    '  step  result       time  message',
    '  dns   ok           0 ms  an IP',
    '  tcp   FAIL         3 ms  connection refused at 10.0.0.5:8443',
    '                           fix: Check the port.',
    '  tls   skipped         -  not run',
  ].join('\n'));
  assert.equal(formatTotals([report, { ...report, state: 'up' }]), '2 mappings checked: 1 up, 0 degraded, 1 down');
});
