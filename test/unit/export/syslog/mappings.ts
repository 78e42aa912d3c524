// The documented field mappings of docs/siem-syslog.md, read backwards: from what a receiver parsed
// (SD params, CEF extension, LEEF attributes) to the spec's fields. Tests compare the result with the
// record that was sent, field by field, so a mapping that drifts from the docs fails.
import type { StoredFinding } from '../../../../collector/detect/findings-store.js';
import type { ExportedAuditEvent, ExportRecord } from '../../../../collector/export/types.js';
import type { Cef, Leef, SdElement } from './decoders.js';

export type Fields = Record<string, string>;

const AUDIT_KEYS: readonly (keyof ExportedAuditEvent)[] = [
  'schema', 'event_id', 'ts', 'duration_us', 'emitter', 'emitter_id', 'seq', 'prev_hash', 'hash',
  'subaccount', 'location_id', 'cloud_app', 'principal', 'client_ip', 'protocol', 'method',
  'virtual_host', 'virtual_port', 'internal_host', 'internal_port', 'path', 'query', 'user_agent',
  'decision', 'rule_id', 'deny_reason', 'status', 'error_type', 'bytes_in', 'bytes_out',
  'backend_connect_us', 'backend_ttfb_us', 'trace_id', 'span_id', 'ingested_at', 'extra',
];
const FINDING_KEYS = ['finding_id', 'detector', 'severity', 'score', 'subaccount', 'entity_type', 'entity', 'window_start', 'window_end', 'title', 'explanation', 'evidence', 'first_detected_at', 'detected_at'] as const;

/** What a record says, every field as text (numbers in decimal, evidence as JSON). */
export function expectedFields(r: ExportRecord): Fields {
  if (r.stream === 'audit') return Object.fromEntries(AUDIT_KEYS.map((k) => [k, String(r.event[k])]));
  const f = r.finding as StoredFinding & Record<string, unknown>;
  return { export_id: r.id, ...Object.fromEntries(FINDING_KEYS.map((k) => [k, k === 'evidence' ? JSON.stringify(f.evidence) : String(f[k])])) };
}

export function fieldsFromSd(elements: readonly SdElement[], sdId: string): Fields {
  const el = elements.find((e) => e.id === sdId);
  if (!el) throw new Error(`no SD-ELEMENT ${sdId}`);
  return Object.fromEntries(el.params);
}

const iso = (ms: string | undefined): string => (ms === undefined ? '' : new Date(Number(ms)).toISOString());

function labelled(ext: ReadonlyMap<string, string>, key: string, label: string): string {
  const value = ext.get(key);
  if (value !== undefined && ext.get(`${key}Label`) !== label) throw new Error(`${key}Label is ${ext.get(`${key}Label`)}, not ${label}`);
  return value ?? '';
}

export function fieldsFromCef(stream: ExportRecord['stream'], cef: Cef): Fields {
  const x = cef.ext;
  const g = (k: string): string => x.get(k) ?? '';
  if (stream === 'findings') {
    return {
      export_id: g('tunnelwatchExportId'), finding_id: g('externalId'), detector: labelled(x, 'cs4', 'detector'),
      severity: labelled(x, 'cs5', 'severity'), score: labelled(x, 'cfp1', 'score'), subaccount: labelled(x, 'cs1', 'subaccount'),
      entity_type: labelled(x, 'cs2', 'entity_type'), entity: labelled(x, 'cs3', 'entity'), window_start: iso(x.get('start')),
      window_end: iso(x.get('end')), title: cef.name, explanation: g('msg'), evidence: g('tunnelwatchEvidence'),
      first_detected_at: iso(x.get('deviceCustomDate1')), detected_at: iso(x.get('rt')),
    };
  }
  return {
    schema: g('tunnelwatchSchema'), event_id: g('externalId'), ts: iso(x.get('rt')), duration_us: labelled(x, 'cn1', 'duration_us'),
    emitter: g('deviceFacility'), emitter_id: g('deviceExternalId'), seq: labelled(x, 'cn2', 'seq'), prev_hash: g('tunnelwatchPrevHash'),
    hash: g('tunnelwatchHash'), subaccount: labelled(x, 'cs1', 'subaccount'), location_id: labelled(x, 'cs2', 'location_id'),
    cloud_app: labelled(x, 'cs3', 'cloud_app'), principal: g('suser'),
    client_ip: x.get('src') ?? (x.has('c6a2') ? labelled(x, 'c6a2', 'Source IPv6 Address') : g('tunnelwatchClientIp')),
    protocol: g('app'), method: g('requestMethod'), virtual_host: g('dhost'), virtual_port: g('dpt'),
    internal_host: labelled(x, 'cs4', 'internal_host'), internal_port: labelled(x, 'cn3', 'internal_port'), path: g('request'),
    query: labelled(x, 'cs5', 'query'), user_agent: g('requestClientApplication'), decision: g('act'), rule_id: labelled(x, 'cs6', 'rule_id'),
    deny_reason: g('reason'), status: labelled(x, 'flexNumber1', 'status'), error_type: labelled(x, 'flexString1', 'error_type'),
    bytes_in: x.get('tunnelwatchBytesIn') ?? g('in'), bytes_out: x.get('tunnelwatchBytesOut') ?? g('out'), backend_connect_us: labelled(x, 'flexNumber2', 'backend_connect_us'),
    backend_ttfb_us: g('tunnelwatchBackendTtfbUs'), trace_id: g('tunnelwatchTraceId'), span_id: g('tunnelwatchSpanId'),
    ingested_at: g('tunnelwatchIngestedAt'), extra: g('tunnelwatchExtra'),
  };
}

export function fieldsFromLeef(stream: ExportRecord['stream'], leef: Leef): Fields {
  const a = leef.attrs;
  const g = (k: string): string => a.get(k) ?? '';
  if (stream === 'findings') {
    const out: Fields = { detected_at: g('devTime') };
    for (const k of ['export_id', ...FINDING_KEYS]) if (k !== 'detected_at') out[k] = g(k);
    return out;
  }
  const out: Fields = {};
  for (const k of AUDIT_KEYS) out[k] = g(k);
  return {
    ...out,
    ts: g('devTime'), principal: g('usrName'), client_ip: a.get('src') ?? g('client_ip'),
    internal_host: a.get('dst') ?? g('internal_host'), internal_port: a.get('dstPort') ?? '0',
    bytes_in: g('srcBytes'), bytes_out: g('dstBytes'),
  };
}
