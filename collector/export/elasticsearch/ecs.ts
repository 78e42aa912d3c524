// The ECS mapping of audit events and findings (docs/ecs-mapping.md documents every field; keep the two in
// step). Pure functions: the same record always gives the same document, so a resend is byte for byte
// the document Elasticsearch already holds under that _id. A field with the spec's empty value ("" or a
// 0 port/status) is left out rather than indexed as an empty keyword or an invalid ip.
import { isIP } from 'node:net';
import { detectorById } from '../../detect/registry.js';
import type { StoredFinding } from '../../detect/findings-store.js';
import type { ExportedAuditEvent, ExportStream } from '../types.js';

export const ECS_VERSION = '8.17.0';
export const AUDIT_DATASET = 'tunnelwatch.audit';
export const FINDING_DATASET = 'tunnelwatch.finding';

export type EcsDocument = Record<string, unknown>;

export function datasetOf(stream: ExportStream): string {
  return stream === 'audit' ? AUDIT_DATASET : FINDING_DATASET;
}

/** logs-<dataset>-<namespace>, the data stream naming scheme of Elastic. */
export function dataStreamName(stream: ExportStream, namespace: string): string {
  return `logs-${datasetOf(stream)}-${namespace}`;
}

/** Elastic's detection-rule severities, so findings sort with Kibana's own alerts. */
export const SEVERITY_NUMBER: Readonly<Record<string, number>> = { low: 21, medium: 47, high: 73, critical: 99 };

/** A string as a JSON string literal (the engine's own escaping: quotes, controls, lone surrogates). */
const str: (s: string) => string = JSON.stringify;

/** A number as JSON writes it (finite numbers print as String() does; NaN and infinities as null). */
function num(x: number): string {
  return Number.isFinite(x) ? String(x) : 'null';
}

/** The members of ECS's host object for a host and port (address, ip or domain, port), at least one non-empty. */
function hostAndPortJson(host: string, port: number): string {
  const address = host === '' ? '' : `"address":${str(host)}${isIP(host) ? ',"ip":' : ',"domain":'}${str(host)}`;
  if (port === 0) return address;
  return `${address === '' ? '' : `${address},`}"port":${num(port)}`;
}

/** A JSON array of up to two distinct non-empty strings (a Set per document cost more than the rest of the mapping). */
function nonEmpty2(a: string, b: string): string {
  if (a === '') return b === '' ? '[]' : `[${str(b)}]`;
  return b === '' || b === a ? `[${str(a)}]` : `[${str(a)},${str(b)}]`;
}

/** The extension fields as JSON: the stored object re-serialised, a string when they do not parse, '' when none. */
export function extraJson(extra: string): string {
  if (extra === '' || extra === '{}') return '';
  try {
    return JSON.stringify(JSON.parse(extra) as unknown);
  } catch {
    return str(extra);
  }
}

/**
 * The ECS document of an audit event as JSON text, which is what goes into the _bulk body: written field by
 * field into one string, with no object tree per document for the client to serialise (docs/benchmarks.md,
 * "Export"). Keys come in a fixed order, so the same event always gives the same bytes.
 */
export function auditEcsJson(e: ExportedAuditEvent, namespace: string): string {
  const isHttp = e.protocol === 'http' || e.protocol === 'https';
  const denied = e.decision === 'deny';
  const clientIsIp = e.client_ip !== '' && isIP(e.client_ip) !== 0;
  const hash = str(e.hash);
  const emitterId = str(e.emitter_id);
  const bytesIn = num(e.bytes_in);
  const bytesOut = num(e.bytes_out);
  let j = `{"@timestamp":${str(e.ts)},"ecs":{"version":"${ECS_VERSION}"},"data_stream":{"type":"logs","dataset":"${AUDIT_DATASET}","namespace":${str(namespace)}}`;
  j += `,"event":{"kind":"event","category":${isHttp ? '["network","web"]' : '["network"]'},"type":["access",${denied ? '"denied"' : '"allowed"'}]`;
  j += `,"action":${denied ? '"call-denied"' : '"call-allowed"'},"outcome":${denied || e.error_type !== '' ? '"failure"' : '"success"'},"id":${str(e.event_id)}`;
  j += `,"duration":${num(e.duration_us * 1000)},"dataset":"${AUDIT_DATASET}","module":"tunnelwatch","provider":${str(e.emitter)},"sequence":${num(e.seq)}`;
  j += `,"hash":${hash},"created":${str(e.ingested_at)}${denied && e.deny_reason !== '' ? `,"reason":${str(e.deny_reason)}` : ''}}`;
  j += `,"observer":{"vendor":"Tunnelwatch","product":"Tunnelwatch","type":"proxy","name":${emitterId}}`;
  j += `,"network":{"transport":"tcp"${isHttp ? ',"protocol":"http"' : ''},"bytes":${num(e.bytes_in + e.bytes_out)}}`;
  const client = e.client_ip === '' ? '' : str(e.client_ip);
  j += `,"source":{${clientIsIp ? `"ip":${client},"address":${client},` : client !== '' ? `"address":${client},` : ''}"bytes":${bytesIn}}`;
  j += `,"related":{"ip":${clientIsIp ? `[${client}]` : '[]'},"user":${nonEmpty2(e.cloud_app, e.principal)},"hosts":${nonEmpty2(e.virtual_host, e.internal_host)},"hash":[${hash}]}`;
  j += `,"tunnelwatch":{"schema":${str(e.schema)},"emitter":${str(e.emitter)},"emitter_id":${emitterId},"seq":${num(e.seq)},"prev_hash":${str(e.prev_hash)},"hash":${hash}`;
  j += `,"subaccount":${str(e.subaccount)},"location_id":${str(e.location_id)},"cloud_app":${str(e.cloud_app)},"protocol":${str(e.protocol)},"decision":${str(e.decision)}`;
  j += `,"deny_reason":${str(e.deny_reason)},"bytes_in":${bytesIn},"bytes_out":${bytesOut},"duration_us":${num(e.duration_us)}`;
  j += `,"backend_connect_us":${num(e.backend_connect_us)},"backend_ttfb_us":${num(e.backend_ttfb_us)},"ingested_at":${str(e.ingested_at)}`;
  const extra = extraJson(e.extra);
  j += extra === '' ? '}' : `,"extra":${extra}}`;
  if (e.internal_host !== '' || e.internal_port !== 0) j += `,"destination":{${hostAndPortJson(e.internal_host, e.internal_port)},"bytes":${bytesOut}}`;
  if (e.virtual_host !== '' || e.virtual_port !== 0) j += `,"server":{${hostAndPortJson(e.virtual_host, e.virtual_port)}}`;
  if (e.subaccount !== '') j += `,"organization":{"id":${str(e.subaccount)}}`;
  if (e.principal !== '') j += `,"user":{"name":${str(e.principal)}}`;
  if (e.user_agent !== '') j += `,"user_agent":{"original":${str(e.user_agent)}}`;
  if (e.trace_id !== '') j += `,"trace":{"id":${str(e.trace_id)}}`;
  if (e.span_id !== '') j += `,"span":{"id":${str(e.span_id)}}`;
  if (e.rule_id !== '') j += `,"rule":{"id":${str(e.rule_id)}}`;
  if (e.error_type !== '') j += `,"error":{"type":${str(e.error_type)}}`;
  if (isHttp) {
    const query = e.query.startsWith('?') ? e.query.slice(1) : e.query;
    let url = '';
    if (e.path !== '') url += `,"path":${str(e.path)}`;
    if (query !== '') url += `,"query":${str(query)}`;
    if (e.virtual_host !== '') url += `,"domain":${str(e.virtual_host)}`;
    if (e.virtual_port !== 0) url += `,"port":${num(e.virtual_port)}`;
    j += `,"url":{${url.slice(1)}}`;
    j += `,"http":{"request":{${e.method !== '' ? `"method":${str(e.method)},` : ''}"body":{"bytes":${bytesIn}}}`;
    j += `,"response":{${e.status !== 0 ? `"status_code":${num(e.status)},` : ''}"body":{"bytes":${bytesOut}}}}`;
  }
  const doc = `${j}}`;
  // Built by +, the text is a tree of its ~80 pieces until something flattens it; the client measures each
  // document (Buffer.byteLength) after the whole batch is mapped, and walking a tree that the garbage
  // collector has meanwhile copied cost twice the mapping itself. Reading a character flattens it now,
  // once (and the check keeps the read from being optimised away).
  if (doc.charCodeAt(0) !== 0x7b) throw new Error('ECS document does not start with {');
  return doc;
}

/** The ECS document of an audit event as an object (auditEcsJson parsed: one mapping, two forms). */
export function auditToEcs(e: ExportedAuditEvent, namespace: string): EcsDocument {
  return JSON.parse(auditEcsJson(e, namespace)) as EcsDocument;
}

/** The entity a finding names, where ECS has a field for it, so analysts can pivot from the alert. */
function entityFields(f: StoredFinding): EcsDocument {
  switch (f.entity_type) {
    case 'client_ip': return isIP(f.entity) ? { source: { ip: f.entity, address: f.entity }, related: { ip: [f.entity] } } : { source: { address: f.entity } };
    case 'principal': return { user: { name: f.entity }, related: { user: [f.entity] } };
    case 'cloud_app': return { related: { user: [f.entity] } };
    case 'user_agent': return { user_agent: { original: f.entity } };
    case 'backend': return { destination: { address: f.entity }, related: { hosts: [f.entity] } };
    default: return {};
  }
}

export function findingToEcs(f: StoredFinding, recordId: string, namespace: string): EcsDocument {
  const detector = detectorById(f.detector);
  return {
    '@timestamp': f.detected_at,
    ecs: { version: ECS_VERSION },
    data_stream: { type: 'logs', dataset: FINDING_DATASET, namespace },
    message: f.title,
    event: {
      kind: 'alert',
      category: ['network'],
      type: ['info'],
      id: recordId,
      dataset: FINDING_DATASET,
      module: 'tunnelwatch',
      severity: SEVERITY_NUMBER[f.severity] ?? 0,
      risk_score: f.score,
      risk_score_norm: f.score,
      start: f.window_start,
      end: f.window_end,
      created: f.first_detected_at,
      reason: f.explanation,
    },
    rule: {
      id: f.detector,
      name: f.detector,
      ...(detector ? { description: detector.summary } : {}),
      category: 'anomaly',
      ruleset: 'tunnelwatch-detectors',
    },
    ...(f.subaccount !== '' ? { organization: { id: f.subaccount } } : {}),
    ...entityFields(f),
    tunnelwatch: {
      subaccount: f.subaccount,
      finding: {
        id: f.finding_id,
        severity: f.severity,
        explanation: f.explanation,
        evidence: f.evidence,
        entity_type: f.entity_type,
        entity: f.entity,
        first_detected_at: f.first_detected_at,
        detected_at: f.detected_at,
      },
    },
  };
}
