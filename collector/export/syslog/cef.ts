// ArcSight Common Event Format (Implementing ArcSight CEF, revisions 25/26):
//   CEF:0|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|Extension
// Keys are CEF dictionary names where one fits; the rest are custom keys "tunnelwatch<Field>" (CEF asks
// vendor keys to start with the vendor name and to be alphanumeric). The field-by-field mapping is the
// table in docs/siem-syslog.md; keep the two in step. Values longer than the dictionary allows are cut
// here, visibly, rather than by ArcSight, silently (length-cap.ts).
import { isIPv4, isIPv6 } from 'node:net';
import type { StoredFinding } from '../../detect/findings-store.js';
import type { ExportedAuditEvent } from '../types.js';
import { auditEventClass, auditName, findingEventClass, PRODUCT, PRODUCT_VERSION, VENDOR } from './event-class.js';
import { attributeEscaper, pipeHeaderEscape } from './escape.js';
import { epochMillis } from './fields.js';
import { capLength } from './length-cap.js';
import { auditUrgency, findingUrgency } from './severity.js';

/** Header fields: '\' and '|' get a backslash; CEF has no newline in the header, so CR and LF become spaces. */
export const cefHeaderEscape = pipeHeaderEscape;

/** Extension values: '\' and '=' get a backslash, CR becomes \r and LF \n; '|' stays as it is. */
export const cefValueEscape = attributeEscaper('=');

/**
 * Longest value of each string key Tunnelwatch sends, in UTF-16 code units of the unescaped value (see
 * length-cap.ts): the Length column of the ArcSight Extension Dictionary (Implementing ArcSight CEF,
 * revisions 25-27). Keys not listed are numbers, times, addresses or our own tunnelwatch* keys, which the
 * dictionary gives no length.
 */
export const CEF_KEY_LENGTHS: ReadonlyMap<string, number> = new Map([
  ['externalId', 40], ['cat', 1023], ['act', 63], ['outcome', 63], ['reason', 1023], ['deviceFacility', 1023],
  ['deviceExternalId', 255], ['suser', 1023], ['app', 31], ['requestMethod', 1023], ['dhost', 1023],
  ['request', 1023], ['requestClientApplication', 1023], ['msg', 1023],
  ['cs1', 4000], ['cs2', 4000], ['cs3', 4000], ['cs4', 4000], ['cs5', 4000], ['cs6', 4000],
  ['cs1Label', 1023], ['cs2Label', 1023], ['cs3Label', 1023], ['cs4Label', 1023], ['cs5Label', 1023], ['cs6Label', 1023],
  ['cn1Label', 1023], ['cn2Label', 1023], ['cn3Label', 1023], ['cfp1Label', 1023], ['c6a2Label', 1023],
  ['deviceCustomDate1Label', 1023], ['flexString1', 1023], ['flexString1Label', 128],
  ['flexNumber1Label', 128], ['flexNumber2Label', 128],
]);

/** Header lengths of the same specification; Device Version is 31, not 63 like Vendor and Product. */
export const CEF_HEADER_LENGTHS = { deviceVendor: 63, deviceProduct: 63, deviceVersion: 31, deviceEventClassId: 1023, name: 512 } as const;

/**
 * `in` and `out` are Integer in the dictionary, a 32-bit signed int in ArcSight ESM: a longer stream is
 * sent as this, with the exact count beside it (tunnelwatchBytesIn, tunnelwatchBytesOut).
 */
export const CEF_INT_MAX = 2_147_483_647;

/** Header fields are one line: the newlines become spaces before the cut, so it counts what is received. */
function headerField(value: string, max: number, cut: string[], name: string): string {
  const line = /[\r\n]/.test(value) ? value.replace(/\r\n|[\r\n]/g, ' ') : value;
  const capped = capLength(line, max);
  if (capped !== line) cut.push(name);
  return cefHeaderEscape(capped);
}

/** The constant start of every message; our own names are held to the limits too. */
const PREFIX = ((): string => {
  const h = CEF_HEADER_LENGTHS;
  return `CEF:0|${headerField(VENDOR, h.deviceVendor, [], '')}|${headerField(PRODUCT, h.deviceProduct, [], '')}|${headerField(PRODUCT_VERSION, h.deviceVersion, [], '')}|`;
})();

/**
 * key=value pairs separated by single spaces; a field with the empty value is left out. Parts are joined
 * once at the end (a flat string; `+=` would build a rope that costs GC when flattened).
 */
class Extension {
  private readonly parts: string[] = [];
  /** The keys (and header fields) cut to their length, sent as tunnelwatchTruncated. */
  readonly cut: string[] = [];

  add(key: string, value: string | number | undefined): this {
    if (value === undefined || value === '') return this;
    let text: string;
    if (typeof value === 'number') text = String(value);
    else {
      const max = CEF_KEY_LENGTHS.get(key);
      const capped = max === undefined ? value : capLength(value, max);
      if (capped !== value) this.cut.push(key);
      text = cefValueEscape(capped);
    }
    // One part per pair: fewer, larger parts join faster than key, '=' and value pushed apart.
    this.parts.push(`${this.parts.length === 0 ? '' : ' '}${key}=${text}`);
    return this;
  }

  /** A custom slot of the dictionary (cs1..cs6, cn1..cn3, cfp1, flexString1, ...) with its label. */
  labelled(key: string, label: string, value: string | number): this {
    if (value === '') return this;
    return this.add(key, value).add(`${key}Label`, label);
  }

  /** A byte count: ArcSight's int when it fits, else its largest value and the exact count under `exactKey`. */
  bytes(key: string, exactKey: string, value: number): this {
    return value > CEF_INT_MAX ? this.add(key, CEF_INT_MAX).add(exactKey, value) : this.add(key, value);
  }

  /** The pairs, after `first` (one more pair) when it is given. */
  toString(first?: string): string {
    if (first === undefined) return this.parts.join('');
    return this.parts.length === 0 ? first : `${first} ${this.parts.join('')}`;
  }
}

function cef(eventClass: string, name: string, severity: number, ext: Extension): string {
  const h = CEF_HEADER_LENGTHS;
  const header = `${PREFIX}${headerField(eventClass, h.deviceEventClassId, ext.cut, 'deviceEventClassId')}|${headerField(name, h.name, ext.cut, 'name')}|${severity}|`;
  // Known only now, the header's cuts included; sent first, where a UDP cut (which drops the last keys)
  // cannot take it and a reader sees it before the values it speaks of.
  return header + ext.toString(ext.cut.length > 0 ? `tunnelwatchTruncated=${ext.cut.join(',')}` : undefined);
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
    .bytes('in', 'tunnelwatchBytesIn', e.bytes_in)
    .bytes('out', 'tunnelwatchBytesOut', e.bytes_out)
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
