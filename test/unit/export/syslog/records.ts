// Export records for the syslog tests: realistic traffic (test/helpers/audit-traffic.ts), crafted
// findings (test/helpers/findings.ts), and records whose text fields hold every character the three
// formats must escape: | = \ ] " ^, newlines (LF, CRLF, lone CR), tab, a trailing backslash, text that
// looks like a CEF key, and non-ASCII (Latin, CJK, an emoji outside the BMP).
import type { AuditEvent } from '../../../../common/audit/event.js';
import type { StoredFinding } from '../../../../collector/detect/findings-store.js';
import type { Finding } from '../../../../collector/detect/types.js';
import type { ExportRecord } from '../../../../collector/export/types.js';
import type { Store } from '../../../../collector/store/store.js';
import { trafficEvents } from '../../../helpers/audit-traffic.js';
import { readAllAudit } from '../../../helpers/export-records.js';
import { craftedFindings } from '../../../helpers/findings.js';

export const NASTY = 'a|b=c\\d]e"f^g\th\nLF\r\nCRLF\rCR ünïcödé 日本語 😀 suser=admin \\';

export function auditRecord(e: AuditEvent, extra = '{}'): ExportRecord {
  return { stream: 'audit', id: e.event_id, event: { ...e, ingested_at: new Date(Date.parse(e.ts) + 1500).toISOString(), extra } };
}

export function findingRecord(f: Finding, version: number, detectedMs: number): ExportRecord {
  const stored: StoredFinding = { ...f, first_detected_at: new Date(detectedMs - 60_000).toISOString(), detected_at: new Date(detectedMs).toISOString() };
  return { stream: 'findings', id: `${f.finding_id}:${version}`, finding: stored };
}

export function trafficRecords(count: number, seed = 7): ExportRecord[] {
  const to = new Date('2026-11-27T22:00:00.000Z');
  return trafficEvents({ count, from: new Date(to.getTime() - 3_600_000), to, seed }).map((e) => auditRecord(e));
}

/** Audit events with the escaping cases in every free-text field, one allowed, one denied, one IPv6. */
export function nastyAuditRecords(): ExportRecord[] {
  const [a, b, c] = trafficEvents({ count: 3, from: new Date('2026-11-27T21:00:00.000Z'), to: new Date('2026-11-27T21:00:03.000Z'), seed: 3, denyShare: 0 });
  if (!a || !b || !c) throw new Error('trafficEvents gave fewer events');
  const allowed: AuditEvent = {
    ...a, decision: 'allow', deny_reason: '', error_type: '', status: 200,
    path: `/api/${NASTY}/end\\`, query: `q=${NASTY}&x=1`, user_agent: `Mozilla/5.0 "x" [y] ${NASTY}`,
    principal: `ädmin=root|x\\y]"z ${NASTY}`, cloud_app: `app ${NASTY}`, location_id: `loc ${NASTY}`,
    rule_id: `rule ${NASTY}`, internal_host: 'erp-backend.internal', emitter_id: `conn=1|2\\`,
  };
  const denied: AuditEvent = {
    ...b, decision: 'deny', deny_reason: 'path_not_allowed', rule_id: '', status: 403, error_type: '',
    internal_host: '', internal_port: 0, path: `/admin/${NASTY}`, principal: '', user_agent: '', query: '',
  };
  const ipv6: AuditEvent = { ...c, client_ip: '2001:db8::42', error_type: 'connect_refused', status: 502, decision: 'allow', deny_reason: '' };
  return [auditRecord(allowed, JSON.stringify({ note: NASTY, n: 1 })), auditRecord(denied), auditRecord(ipv6)];
}

export function findingRecords(now = Date.parse('2026-11-27T22:00:00.000Z')): ExportRecord[] {
  const crafted = craftedFindings(now).map((f, i) => findingRecord(f, 1000 + i, now - i * 1000));
  const nasty: Finding = {
    finding_id: 'f-nasty', detector: 'deny_burst', severity: 'critical', score: 99.5, subaccount: '',
    entity_type: 'principal', entity: `ädmin=root|x\\y]"z ${NASTY}`,
    window_start: new Date(now - 600_000).toISOString(), window_end: new Date(now - 300_000).toISOString(),
    title: `Burst | from "app" \\ x=y ] ^ ünï\nsecond line`,
    explanation: `observed=212 | baseline="3"\r\nthreshold ^ 25 ] ${NASTY}`,
    evidence: { denied: 212, note: NASTY, sample_event_ids: ['01a2-aaaa', 'x"y]z'] },
  };
  return [...crafted, findingRecord(nasty, 2000, now)];
}

/**
 * Audit records as the exporters get them from a real store: the events inserted, then read back through
 * the export source, so each carries its stored row (`row`) as well as the decoded event. It reads every
 * audit record of the store: give it a store that holds no others.
 */
export async function storedAuditRecords(store: Store, events: readonly AuditEvent[]): Promise<ExportRecord[]> {
  await store.insertAuditEvents(events);
  return readAllAudit(store);
}

/** nastyAuditRecords' events as events to store: the extra fields become extension fields of the first. */
export function nastyAuditEvents(): AuditEvent[] {
  return nastyAuditRecords().map((r, i) => {
    if (r.stream !== 'audit') throw new Error('audit records only');
    const { ingested_at: _ingested, extra: _extra, ...event } = r.event;
    return (i === 0 ? { ...event, note: NASTY, n: 1 } : event) as AuditEvent;
  });
}
