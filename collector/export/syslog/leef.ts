// IBM QRadar Log Event Extended Format, version 2.0:
//   LEEF:2.0|Vendor|Product|Version|EventID|^|key=value^key=value...
// The attribute delimiter is '^', declared in the sixth header field. Predefined LEEF keys where one fits
// (src, dst, dstPort, usrName, proto, srcBytes, dstBytes, sev, cat, devTime with devTimeFormat); every
// other field keeps its spec name as the key. The field-by-field mapping is the table in
// docs/siem-syslog.md; keep the two in step. The few lengths QRadar sets are kept (length-cap.ts).
import { isIP } from 'node:net';
import type { StoredFinding } from '../../detect/findings-store.js';
import type { ExportedAuditEvent } from '../types.js';
import { auditEventClass, findingEventClass, PRODUCT, PRODUCT_VERSION, VENDOR } from './event-class.js';
import { attributeEscaper, pipeHeaderEscape } from './escape.js';
import { isoMillis } from './fields.js';
import { capLength } from './length-cap.js';
import { auditUrgency, findingUrgency, leefSev } from './severity.js';

export const DELIMITER = '^';
/** Java SimpleDateFormat (what QRadar parses devTime with) for RFC 3339 UTC with milliseconds. */
export const DEV_TIME_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSX";

/** Header fields: '\' and '|' get a backslash; CR and LF become spaces (a header is one line). */
export const leefHeaderEscape = pipeHeaderEscape;

/**
 * Attribute values: '\' and the delimiter '^' get a backslash, CR becomes \r and LF \n. '=' needs none
 * (a key ends at the first '='), and neither does '|' (only the header is pipe-delimited).
 */
export const leefValueEscape = attributeEscaper(DELIMITER);

/**
 * Longest value, in UTF-16 code units of the unescaped value (length-cap.ts), of the attributes whose
 * length the LEEF 2.0 specification limits (IBM, "Predefined LEEF event attributes"). It gives the other
 * keys we send no length: QRadar does not normalise them, a custom property reads them from the payload.
 */
export const LEEF_KEY_LENGTHS: ReadonlyMap<string, number> = new Map([['usrName', 255]]);

/** "The EventID field cannot exceed 255 characters" (IBM, "LEEF event components"). */
export const LEEF_EVENT_ID_LENGTH = 255;

/** key=value pairs joined by the delimiter, built as parts and joined once (see cef.ts). */
class Attributes {
  private readonly parts: string[] = [];
  /** The keys (and `EventID`) cut to their length, sent as `truncated`. */
  readonly cut: string[] = [];

  /** A field with the empty value is left out. */
  add(key: string, value: string | number | undefined): this {
    if (value === undefined || value === '') return this;
    let text: string;
    if (typeof value === 'number') text = String(value);
    else {
      const max = LEEF_KEY_LENGTHS.get(key);
      const capped = max === undefined ? value : capLength(value, max);
      if (capped !== value) this.cut.push(key);
      text = leefValueEscape(capped);
    }
    this.parts.push(`${this.parts.length === 0 ? '' : DELIMITER}${key}=${text}`);
    return this;
  }

  /** An IP-typed predefined key takes the value only when it is an address; otherwise the field's own key does. */
  addIp(key: string, field: string, value: string): this {
    return isIP(value) ? this.add(key, value) : this.add(field, value);
  }

  /** The pairs, after `first` (one more pair) when it is given. */
  toString(first?: string): string {
    if (first === undefined) return this.parts.join('');
    return this.parts.length === 0 ? first : `${first}${DELIMITER}${this.parts.join('')}`;
  }
}

function leef(eventId: string, attrs: Attributes): string {
  // A header is one line: newlines become spaces before the cut, so it counts what QRadar receives.
  const line = /[\r\n]/.test(eventId) ? eventId.replace(/\r\n|[\r\n]/g, ' ') : eventId;
  const id = capLength(line, LEEF_EVENT_ID_LENGTH);
  if (id !== line) attrs.cut.push('EventID');
  // First, as in CEF (cef.ts): out of reach of a UDP cut, and read before the values it speaks of.
  const first = attrs.cut.length > 0 ? `truncated=${attrs.cut.join(',')}` : undefined;
  return `LEEF:2.0|${VENDOR}|${PRODUCT}|${PRODUCT_VERSION}|${leefHeaderEscape(id)}|${DELIMITER}|${attrs.toString(first)}`;
}

export function leefAudit(e: ExportedAuditEvent): string {
  const a = new Attributes()
    .add('cat', 'audit')
    .add('sev', leefSev(auditUrgency(e)))
    .add('devTime', isoMillis(e.ts))
    .add('devTimeFormat', DEV_TIME_FORMAT)
    .add('event_id', e.event_id)
    .add('schema', e.schema)
    .add('decision', e.decision)
    .add('deny_reason', e.deny_reason)
    .add('status', e.status)
    .add('error_type', e.error_type)
    .add('subaccount', e.subaccount)
    .add('location_id', e.location_id)
    .add('cloud_app', e.cloud_app)
    .add('usrName', e.principal)
    .addIp('src', 'client_ip', e.client_ip)
    .add('proto', 'TCP')
    .add('protocol', e.protocol)
    .add('method', e.method)
    .add('virtual_host', e.virtual_host)
    .add('virtual_port', e.virtual_port)
    .addIp('dst', 'internal_host', e.internal_host)
    .add('dstPort', e.internal_port > 0 ? e.internal_port : undefined)
    .add('path', e.path)
    .add('query', e.query)
    .add('user_agent', e.user_agent)
    .add('rule_id', e.rule_id)
    // Exact, unlike CEF's `in`: LEEF gives srcBytes and dstBytes no width and QRadar does not normalise
    // them (a custom property reads them), so a clamp would only lose the count.
    .add('srcBytes', e.bytes_in)
    .add('dstBytes', e.bytes_out)
    .add('duration_us', e.duration_us)
    .add('backend_connect_us', e.backend_connect_us)
    .add('backend_ttfb_us', e.backend_ttfb_us)
    .add('trace_id', e.trace_id)
    .add('span_id', e.span_id)
    .add('emitter', e.emitter)
    .add('emitter_id', e.emitter_id)
    .add('seq', e.seq)
    .add('prev_hash', e.prev_hash)
    .add('hash', e.hash)
    .add('ingested_at', e.ingested_at)
    .add('extra', e.extra);
  return leef(auditEventClass(e), a);
}

export function leefFinding(id: string, f: StoredFinding): string {
  const a = new Attributes()
    .add('cat', 'finding')
    .add('sev', leefSev(findingUrgency(f.severity)))
    .add('devTime', isoMillis(f.detected_at))
    .add('devTimeFormat', DEV_TIME_FORMAT)
    .add('export_id', id)
    .add('finding_id', f.finding_id)
    .add('detector', f.detector)
    .add('severity', f.severity)
    .add('score', f.score)
    .add('subaccount', f.subaccount)
    .add('entity_type', f.entity_type)
    .add('entity', f.entity)
    .add('window_start', f.window_start)
    .add('window_end', f.window_end)
    .add('title', f.title)
    .add('explanation', f.explanation)
    .add('evidence', JSON.stringify(f.evidence))
    .add('first_detected_at', f.first_detected_at);
  return leef(findingEventClass(f), a);
}
