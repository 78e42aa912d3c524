// ArcSight Common Event Format (Implementing ArcSight CEF, revisions 25/26):
//   CEF:0|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|Extension
// Keys are CEF dictionary names where one fits; the rest are custom keys "tunnelwatch<Field>" (CEF asks
// vendor keys to start with the vendor name and to be alphanumeric). The field-by-field mapping is the
// table in docs/siem-syslog.md; keep the two in step.
import { isIPv4, isIPv6 } from 'node:net';
import type { StoredFinding } from '../../detect/findings-store.js';
import type { ExportedAuditEvent } from '../types.js';
import { auditEventClass, auditName, findingEventClass, PRODUCT, PRODUCT_VERSION, VENDOR } from './event-class.js';
import { attributeEscaper, pipeHeaderEscape } from './escape.js';
import { epochMillis } from './fields.js';
import { auditUrgency, findingUrgency } from './severity.js';

/** Header fields: '\' and '|' get a backslash; CEF has no newline in the header, so CR and LF become spaces. */
export const cefHeaderEscape = pipeHeaderEscape;

/** Extension values: '\' and '=' get a backslash, CR becomes \r and LF \n; '|' stays as it is. */
export const cefValueEscape = attributeEscaper('=');

/**
 * key=value pairs separated by single spaces; a field with the empty value is left out. Parts are joined
 * once at the end (a flat string; `+=` would build a rope that costs GC when flattened).
 */
class Extension {
  private readonly parts: string[] = [];

  add(key: string, value: string | number | undefined): this {
    if (value === undefined || value === '') return this;
    // One part per pair: fewer, larger parts join faster than key, '=' and value pushed apart.
    this.parts.push(`${this.parts.length === 0 ? '' : ' '}${key}=${typeof value === 'number' ? String(value) : cefValueEscape(value)}`);
    return this;
  }

  /** A custom slot of the dictionary (cs1..cs6, cn1..cn3, cfp1, flexString1, ...) with its label. */
  labelled(key: string, label: string, value: string | number): this {
    if (value === '') return this;
    return this.add(key, value).add(`${key}Label`, label);
  }

  toString(): string {
    return this.parts.join('');
  }
}

function cef(eventClass: string, name: string, severity: number, ext: Extension): string {
  return `CEF:0|${VENDOR}|${PRODUCT}|${PRODUCT_VERSION}|${cefHeaderEscape(eventClass)}|${cefHeaderEscape(name)}|${severity}|${ext.toString()}`;
}

/** CEF 0 `src` takes IPv4 only; IPv6 goes to the dictionary's source IPv6 slot c6a2. */
function addClientIp(ext: Extension, ip: string): void {
  if (isIPv4(ip)) ext.add('src', ip);
  else if (isIPv6(ip)) ext.labelled('c6a2', 'Source IPv6 Address', ip);
  else ext.add('tunnelwatchClientIp', ip);
}

export function cefAudit(e: ExportedAuditEvent): string {
  const ext = new Extension()
    .add('externalId', e.event_id)
    .add('rt', epochMillis(e.ts))
    .add('cat', 'audit')
    .add('act', e.decision)
    .add('outcome', e.decision === 'allow' && e.error_type === '' ? 'success' : 'failure')
    .add('reason', e.deny_reason)
    .add('deviceFacility', e.emitter)
    .add('deviceExternalId', e.emitter_id)
    .labelled('cn2', 'seq', e.seq)
    .labelled('cs1', 'subaccount', e.subaccount)
    .labelled('cs2', 'location_id', e.location_id)
    .labelled('cs3', 'cloud_app', e.cloud_app)
    .add('suser', e.principal);
  addClientIp(ext, e.client_ip);
  ext
    .add('app', e.protocol)
    .add('requestMethod', e.method)
    .add('dhost', e.virtual_host)
    .add('dpt', e.virtual_port)
    .labelled('cs4', 'internal_host', e.internal_host)
    .labelled('cn3', 'internal_port', e.internal_port)
    .add('request', e.path)
    .labelled('cs5', 'query', e.query)
    .add('requestClientApplication', e.user_agent)
    .labelled('cs6', 'rule_id', e.rule_id)
    .labelled('flexNumber1', 'status', e.status)
    .labelled('flexString1', 'error_type', e.error_type)
    .add('in', e.bytes_in)
    .add('out', e.bytes_out)
    .labelled('cn1', 'duration_us', e.duration_us)
    .labelled('flexNumber2', 'backend_connect_us', e.backend_connect_us)
    .add('tunnelwatchBackendTtfbUs', e.backend_ttfb_us)
    .add('tunnelwatchTraceId', e.trace_id)
    .add('tunnelwatchSpanId', e.span_id)
    .add('tunnelwatchSchema', e.schema)
    .add('tunnelwatchPrevHash', e.prev_hash)
    .add('tunnelwatchHash', e.hash)
    .add('tunnelwatchIngestedAt', e.ingested_at)
    .add('tunnelwatchExtra', e.extra);
  return cef(auditEventClass(e), auditName(e), auditUrgency(e).cef, ext);
}

export function cefFinding(id: string, f: StoredFinding): string {
  const ext = new Extension()
    .add('externalId', f.finding_id)
    .add('tunnelwatchExportId', id)
    .add('rt', epochMillis(f.detected_at))
    .add('cat', 'finding')
    .labelled('cs4', 'detector', f.detector)
    .labelled('cs5', 'severity', f.severity)
    .labelled('cfp1', 'score', f.score)
    .labelled('cs1', 'subaccount', f.subaccount)
    .labelled('cs2', 'entity_type', f.entity_type)
    .labelled('cs3', 'entity', f.entity)
    .add('start', epochMillis(f.window_start))
    .add('end', epochMillis(f.window_end))
    .add('msg', f.explanation)
    .add('tunnelwatchEvidence', JSON.stringify(f.evidence))
    .labelled('deviceCustomDate1', 'first_detected_at', epochMillis(f.first_detected_at) ?? '');
  return cef(findingEventClass(f), f.title, findingUrgency(f.severity).cef, ext);
}
