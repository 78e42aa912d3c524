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

/** The distinct non-empty values of two (a Set per document cost more than the rest of the mapping). */
function nonEmpty2(a: string, b: string): string[] {
  if (a === '') return b === '' ? [] : [b];
  return b === '' || b === a ? [a] : [a, b];
}

function hostAndPort(host: string, port: number): EcsDocument | undefined {
  if (host === '' && port === 0) return undefined;
  const out: EcsDocument = {};
  if (host !== '') {
    out.address = host;
    if (isIP(host)) out.ip = host;
    else out.domain = host;
  }
  if (port !== 0) out.port = port;
  return out;
}

function parseExtra(extra: string): unknown {
  if (extra === '' || extra === '{}') return undefined;
  try {
    return JSON.parse(extra) as unknown;
  } catch {
    return extra;
  }
}

// Optional keys are assigned after a literal rather than spread into it (`...(x ? {k} : {})`): the same
// keys in the same order, so the same JSON, at a third of the cost (an object spread is a runtime call).
export function auditToEcs(e: ExportedAuditEvent, namespace: string): EcsDocument {
  const isHttp = e.protocol === 'http' || e.protocol === 'https';
  const denied = e.decision === 'deny';
  const clientIsIp = e.client_ip !== '' && isIP(e.client_ip) !== 0;
  const event: EcsDocument = {
    kind: 'event',
    category: isHttp ? ['network', 'web'] : ['network'],
    type: ['access', denied ? 'denied' : 'allowed'],
    action: denied ? 'call-denied' : 'call-allowed',
    outcome: denied || e.error_type !== '' ? 'failure' : 'success',
    id: e.event_id,
    duration: e.duration_us * 1000,
    dataset: AUDIT_DATASET,
    module: 'tunnelwatch',
    provider: e.emitter,
    sequence: e.seq,
    hash: e.hash,
    created: e.ingested_at,
  };
  if (denied && e.deny_reason !== '') event.reason = e.deny_reason;
  const network: EcsDocument = { transport: 'tcp' };
  if (isHttp) network.protocol = 'http';
  network.bytes = e.bytes_in + e.bytes_out;
  const tunnelwatch: EcsDocument = {
    schema: e.schema,
    emitter: e.emitter,
    emitter_id: e.emitter_id,
    seq: e.seq,
    prev_hash: e.prev_hash,
    hash: e.hash,
    subaccount: e.subaccount,
    location_id: e.location_id,
    cloud_app: e.cloud_app,
    protocol: e.protocol,
    decision: e.decision,
    deny_reason: e.deny_reason,
    bytes_in: e.bytes_in,
    bytes_out: e.bytes_out,
    duration_us: e.duration_us,
    backend_connect_us: e.backend_connect_us,
    backend_ttfb_us: e.backend_ttfb_us,
    ingested_at: e.ingested_at,
  };
  const doc: EcsDocument = {
    '@timestamp': e.ts,
    ecs: { version: ECS_VERSION },
    data_stream: { type: 'logs', dataset: AUDIT_DATASET, namespace },
    event,
    observer: { vendor: 'Tunnelwatch', product: 'Tunnelwatch', type: 'proxy', name: e.emitter_id },
    network,
    source: clientIsIp ? { ip: e.client_ip, address: e.client_ip, bytes: e.bytes_in } : e.client_ip !== '' ? { address: e.client_ip, bytes: e.bytes_in } : { bytes: e.bytes_in },
    related: {
      ip: clientIsIp ? [e.client_ip] : [],
      user: nonEmpty2(e.cloud_app, e.principal),
      hosts: nonEmpty2(e.virtual_host, e.internal_host),
      hash: [e.hash],
    },
    tunnelwatch,
  };
  const destination = hostAndPort(e.internal_host, e.internal_port);
  if (destination) {
    destination.bytes = e.bytes_out;
    doc.destination = destination;
  }
  const server = hostAndPort(e.virtual_host, e.virtual_port);
  if (server) doc.server = server;
  if (e.subaccount !== '') doc.organization = { id: e.subaccount };
  if (e.principal !== '') doc.user = { name: e.principal };
  if (e.user_agent !== '') doc.user_agent = { original: e.user_agent };
  if (e.trace_id !== '') doc.trace = { id: e.trace_id };
  if (e.span_id !== '') doc.span = { id: e.span_id };
  if (e.rule_id !== '') doc.rule = { id: e.rule_id };
  if (e.error_type !== '') doc.error = { type: e.error_type };
  if (isHttp) {
    const query = e.query.startsWith('?') ? e.query.slice(1) : e.query;
    const url: EcsDocument = {};
    if (e.path !== '') url.path = e.path;
    if (query !== '') url.query = query;
    if (e.virtual_host !== '') url.domain = e.virtual_host;
    if (e.virtual_port !== 0) url.port = e.virtual_port;
    doc.url = url;
    const request: EcsDocument = {};
    if (e.method !== '') request.method = e.method;
    request.body = { bytes: e.bytes_in };
    const response: EcsDocument = {};
    if (e.status !== 0) response.status_code = e.status;
    response.body = { bytes: e.bytes_out };
    doc.http = { request, response };
  }
  const extra = parseExtra(e.extra);
  if (extra !== undefined) tunnelwatch.extra = extra;
  return doc;
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
