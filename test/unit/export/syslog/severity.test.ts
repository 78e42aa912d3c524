import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditUrgency, findingUrgency, leefSev } from '../../../../collector/export/syslog/severity.js';
import type { ExportedAuditEvent } from '../../../../collector/export/types.js';
import { nastyAuditRecords } from './records.js';

const base = (nastyAuditRecords()[0] as { event: ExportedAuditEvent }).event;
const event = (patch: Partial<ExportedAuditEvent>): ExportedAuditEvent => ({ ...base, ...patch });

test('maps audit events to syslog, CEF and LEEF severities as docs/siem-syslog.md says', () => {
  const rows: [Partial<ExportedAuditEvent>, number, number][] = [
    [{ decision: 'allow', error_type: '', deny_reason: '' }, 6, 1],
    [{ decision: 'allow', error_type: 'backend_timeout', deny_reason: '' }, 5, 3],
    [{ decision: 'deny', deny_reason: 'no_connector' }, 5, 4],
    [{ decision: 'deny', deny_reason: 'rate_limited' }, 5, 4],
    [{ decision: 'deny', deny_reason: 'path_not_allowed' }, 4, 6],
    [{ decision: 'deny', deny_reason: 'unauthenticated' }, 4, 6],
    [{ decision: 'deny', deny_reason: 'app_not_trusted' }, 4, 6],
  ];
  for (const [patch, syslog, cef] of rows) assert.deepEqual(auditUrgency(event(patch)), { syslog, cef }, JSON.stringify(patch));
});

test('maps finding severities, and an unknown one as medium', () => {
  assert.deepEqual(findingUrgency('low'), { syslog: 5, cef: 3 });
  assert.deepEqual(findingUrgency('medium'), { syslog: 4, cef: 5 });
  assert.deepEqual(findingUrgency('high'), { syslog: 3, cef: 8 });
  assert.deepEqual(findingUrgency('critical'), { syslog: 2, cef: 10 });
  assert.deepEqual(findingUrgency('apocalyptic'), findingUrgency('medium'));
});

test('LEEF sev is the CEF figure, never below 1', () => {
  assert.equal(leefSev({ syslog: 6, cef: 0 }), 1);
  assert.equal(leefSev({ syslog: 2, cef: 10 }), 10);
});
