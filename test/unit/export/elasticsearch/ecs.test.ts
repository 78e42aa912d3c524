// The ECS mapping (docs/ecs-mapping.md) with real values: what each audit field and finding field becomes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditEcsJson, auditToEcs, dataStreamName, findingToEcs, SEVERITY_NUMBER } from '../../../../collector/export/elasticsearch/ecs.js';
import { fieldMappings, indexTemplate } from '../../../../collector/export/elasticsearch/templates.js';
import type { ExportedAuditEvent } from '../../../../collector/export/types.js';
import { auditRecords, findingRecords } from '../../../helpers/es-standin-records.js';

type Doc = Record<string, unknown>;
const at = (doc: Doc, path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o as Doc | undefined)?.[k], doc);

const denied: ExportedAuditEvent = {
  schema: 'tunnelwatch.audit/1', event_id: '0195f3a2-7c1e-7000-8000-00000000d001', ts: '2026-03-02T08:15:30.250Z',
  duration_us: 1250, emitter: 'relay', emitter_id: 'relay-eu-1', seq: 4711, prev_hash: 'a'.repeat(64), hash: 'b'.repeat(64),
  subaccount: 'acme', location_id: 'plant-2', cloud_app: 'erp-portal', principal: 'alice@acme.example', client_ip: '2001:db8::7',
  protocol: 'https', method: 'DELETE', virtual_host: 'erp.virtual', virtual_port: 443, internal_host: '10.1.2.3', internal_port: 8443,
  path: '/admin/users', query: 'token=REDACTED&x=1', user_agent: 'curl/8.5.0', decision: 'deny', rule_id: '', deny_reason: 'method_not_allowed',
  status: 403, error_type: '', bytes_in: 0, bytes_out: 97, backend_connect_us: 0, backend_ttfb_us: 0,
  trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7', ingested_at: '2026-03-02T08:15:31.000Z', extra: '{"geo":"eu","v2_field":3}',
};

const tcp: ExportedAuditEvent = {
  ...denied, event_id: '0195f3a2-7c1e-7000-8000-00000000d002', protocol: 'tcp', method: '', path: '', query: '', user_agent: '', status: 0,
  decision: 'allow', deny_reason: '', rule_id: 'ldap-tcp', error_type: 'reset', principal: '', client_ip: '198.51.100.4',
  internal_host: 'ldap.corp.internal', internal_port: 389, bytes_in: 512, bytes_out: 2048, extra: '{}',
};

describe('ECS mapping of an audit event', () => {
  it('maps a denied HTTPS call field by field', () => {
    const d = auditToEcs(denied, 'prod');
    assert.equal(d['@timestamp'], '2026-03-02T08:15:30.250Z');
    assert.deepEqual(d.data_stream, { type: 'logs', dataset: 'tunnelwatch.audit', namespace: 'prod' });
    assert.deepEqual(at(d, 'event.category'), ['network', 'web']);
    assert.deepEqual(at(d, 'event.type'), ['access', 'denied']);
    assert.equal(at(d, 'event.kind'), 'event');
    assert.equal(at(d, 'event.action'), 'call-denied');
    assert.equal(at(d, 'event.outcome'), 'failure');
    assert.equal(at(d, 'event.reason'), 'method_not_allowed');
    assert.equal(at(d, 'event.id'), denied.event_id);
    assert.equal(at(d, 'event.duration'), 1_250_000, 'microseconds become nanoseconds');
    assert.equal(at(d, 'event.sequence'), 4711);
    assert.equal(at(d, 'event.hash'), 'b'.repeat(64));
    assert.equal(at(d, 'event.provider'), 'relay');
    assert.equal(at(d, 'event.created'), '2026-03-02T08:15:31.000Z');
    assert.deepEqual(d.source, { ip: '2001:db8::7', address: '2001:db8::7', bytes: 0 });
    assert.deepEqual(d.destination, { address: '10.1.2.3', ip: '10.1.2.3', port: 8443, bytes: 97 });
    assert.deepEqual(d.server, { address: 'erp.virtual', domain: 'erp.virtual', port: 443 });
    assert.deepEqual(d.url, { path: '/admin/users', query: 'token=REDACTED&x=1', domain: 'erp.virtual', port: 443 });
    assert.equal(at(d, 'http.request.method'), 'DELETE');
    assert.equal(at(d, 'http.response.status_code'), 403);
    assert.equal(at(d, 'user.name'), 'alice@acme.example');
    assert.equal(at(d, 'user_agent.original'), 'curl/8.5.0');
    assert.equal(at(d, 'organization.id'), 'acme');
    assert.equal(at(d, 'trace.id'), denied.trace_id);
    assert.equal(at(d, 'span.id'), denied.span_id);
    assert.equal(at(d, 'network.protocol'), 'http');
    assert.equal(d.rule, undefined, 'a denied call matched no allow rule');
    assert.deepEqual(at(d, 'related.user'), ['erp-portal', 'alice@acme.example']);
    assert.deepEqual(at(d, 'related.hosts'), ['erp.virtual', '10.1.2.3']);
    assert.equal(at(d, 'observer.name'), 'relay-eu-1');
    assert.equal(at(d, 'tunnelwatch.prev_hash'), 'a'.repeat(64));
    assert.equal(at(d, 'tunnelwatch.location_id'), 'plant-2');
    assert.equal(at(d, 'tunnelwatch.cloud_app'), 'erp-portal');
    assert.deepEqual(at(d, 'tunnelwatch.extra'), { geo: 'eu', v2_field: 3 });
  });

  it('maps a TCP call without HTTP or URL fields and with a backend error', () => {
    const d = auditToEcs(tcp, 'default');
    assert.deepEqual(at(d, 'event.category'), ['network']);
    assert.deepEqual(at(d, 'event.type'), ['access', 'allowed']);
    assert.equal(at(d, 'event.outcome'), 'failure', 'an allowed call whose backend reset failed');
    assert.equal(at(d, 'event.reason'), undefined);
    assert.equal(d.http, undefined);
    assert.equal(d.url, undefined);
    assert.equal(d.user, undefined);
    assert.equal(d.user_agent, undefined);
    assert.equal(at(d, 'network.protocol'), undefined);
    assert.equal(at(d, 'network.bytes'), 2560);
    assert.deepEqual(d.destination, { address: 'ldap.corp.internal', domain: 'ldap.corp.internal', port: 389, bytes: 2048 });
    assert.equal(at(d, 'rule.id'), 'ldap-tcp');
    assert.equal(at(d, 'error.type'), 'reset');
    assert.equal(at(d, 'tunnelwatch.extra'), undefined);
  });

  it('writes hostile text as valid JSON that reads back as the same values', () => {
    // Quotes, backslashes, control characters, line separators, a lone surrogate, non-ASCII, markup.
    const nasty = ['a"b', 'back\\slash', 'nl\n\r\tx', '\u0000\u001f\u007f', '\u2028\u2029', '\ud800lone', 'Grüße 日本 🙂', '</script><b>'];
    nasty.forEach((text, i) => {
      const e: ExportedAuditEvent = {
        ...denied, path: `/p/${text}`, query: `?q=${text}`, principal: text, user_agent: text, cloud_app: text, deny_reason: text as ExportedAuditEvent['deny_reason'],
        virtual_host: text, subaccount: text, emitter_id: text, extra: i % 2 === 0 ? '{not json' : JSON.stringify({ note: text }),
      };
      const d = JSON.parse(auditEcsJson(e, 'default')) as Doc;
      // A lone surrogate is written as its \u escape and so reads back as itself.
      assert.equal(at(d, 'url.path'), `/p/${text}`);
      assert.equal(at(d, 'url.query'), `q=${text}`);
      assert.equal(at(d, 'user.name'), text);
      assert.equal(at(d, 'user_agent.original'), text);
      assert.equal(at(d, 'event.reason'), text);
      assert.equal(at(d, 'server.domain'), text);
      assert.equal(at(d, 'organization.id'), text);
      assert.equal(at(d, 'observer.name'), text);
      assert.deepEqual(at(d, 'related.user'), [text]);
      assert.deepEqual(at(d, 'tunnelwatch.extra'), i % 2 === 0 ? '{not json' : { note: text }, 'extension fields that do not parse are kept as text');
    });
  });

  it('gives the same bytes for the same event', () => {
    for (const { event } of auditRecords(50)) assert.equal(auditEcsJson(event, 'ns'), auditEcsJson({ ...event }, 'ns'));
  });

  it('maps generated traffic consistently: outcome, type and ids follow the event', () => {
    for (const { event } of auditRecords(300)) {
      const d = auditToEcs(event, 'default');
      assert.equal(at(d, 'event.id'), event.event_id);
      assert.deepEqual(at(d, 'event.type'), ['access', event.decision === 'allow' ? 'allowed' : 'denied']);
      assert.equal(at(d, 'event.outcome'), event.decision === 'deny' || event.error_type !== '' ? 'failure' : 'success');
      assert.equal(at(d, 'http.response.status_code'), event.status);
      assert.equal(at(d, 'event.duration'), event.duration_us * 1000);
      assert.equal(at(d, 'destination.port'), event.internal_port === 0 ? undefined : event.internal_port);
      assert.equal(at(d, 'rule.id'), event.rule_id === '' ? undefined : event.rule_id);
      assert.equal(at(d, 'tunnelwatch.seq'), event.seq);
    }
  });
});

describe('ECS mapping of a finding', () => {
  it('maps a finding to an alert with rule, severity, risk score and window', () => {
    const rec = findingRecords().find((r) => r.finding.finding_id === 'f-acme-deny-burst');
    assert.ok(rec);
    const d = findingToEcs(rec.finding, rec.id, 'default');
    assert.equal(at(d, 'event.kind'), 'alert');
    assert.equal(at(d, 'event.id'), rec.id);
    assert.equal(at(d, 'event.severity'), SEVERITY_NUMBER.high);
    assert.equal(at(d, 'event.risk_score'), 82);
    assert.equal(at(d, 'event.start'), rec.finding.window_start);
    assert.equal(at(d, 'event.end'), rec.finding.window_end);
    assert.equal(d.message, 'Burst of denied calls from erp-portal in acme');
    assert.equal(at(d, 'rule.id'), 'deny_burst');
    assert.equal(at(d, 'rule.name'), 'deny_burst');
    assert.match(String(at(d, 'rule.description')), /\w/, 'the detector summary');
    assert.equal(at(d, 'organization.id'), 'acme');
    assert.equal(at(d, 'tunnelwatch.finding.entity_type'), 'cloud_app');
    assert.equal(at(d, 'tunnelwatch.finding.entity'), 'erp-portal');
    assert.match(String(at(d, 'tunnelwatch.finding.explanation')), /212 denied calls/);
    assert.deepEqual(at(d, 'tunnelwatch.finding.evidence.sample_event_ids'), ['01a2-aaaa', '01a2-bbbb']);
    assert.deepEqual(d.data_stream, { type: 'logs', dataset: 'tunnelwatch.finding', namespace: 'default' });
  });

  it('puts a client IP entity in source.ip and leaves organization out for a cross-subaccount finding', () => {
    const rec = findingRecords().find((r) => r.finding.finding_id === 'f-cross-ip');
    assert.ok(rec);
    const d = findingToEcs(rec.finding, rec.id, 'default');
    assert.equal(at(d, 'source.ip'), '203.0.113.66');
    assert.equal(d.organization, undefined);
    assert.equal(at(d, 'event.severity'), 47);
  });

  it('names data streams by the Elastic scheme', () => {
    assert.equal(dataStreamName('audit', 'prod'), 'logs-tunnelwatch.audit-prod');
    assert.equal(dataStreamName('findings', 'default'), 'logs-tunnelwatch.finding-default');
  });
});

describe('index template mappings', () => {
  type Mapping = { type?: string; properties?: Record<string, Mapping> };
  const leafTypes = new Map<string, string>();
  const walk = (props: Record<string, Mapping>, prefix: string): void => {
    for (const [k, m] of Object.entries(props)) {
      const p = prefix ? `${prefix}.${k}` : k;
      if (m.properties) walk(m.properties, p);
      else leafTypes.set(p, m.type ?? 'object');
    }
  };
  walk((fieldMappings() as { properties: Record<string, Mapping> }).properties, '');

  const leaves = (doc: unknown, prefix = ''): string[] => {
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return [prefix];
    return Object.entries(doc).flatMap(([k, v]) => {
      const p = prefix ? `${prefix}.${k}` : k;
      return leafTypes.get(p) === 'flattened' ? [p] : leaves(v, p);
    });
  };

  it('maps every field the documents have, with ip, date and long types where ECS has them', () => {
    const docs = [auditToEcs(denied, 'default'), auditToEcs(tcp, 'default'), ...findingRecords().map((r) => findingToEcs(r.finding, r.id, 'default'))];
    for (const doc of docs) for (const path of leaves(doc)) assert.ok(leafTypes.has(path), `${path} is not in the mappings`);
    assert.equal(leafTypes.get('source.ip'), 'ip');
    assert.equal(leafTypes.get('@timestamp'), 'date');
    assert.equal(leafTypes.get('event.duration'), 'long');
    assert.equal(leafTypes.get('tunnelwatch.finding.evidence'), 'flattened');
  });

  it('makes data-stream index templates above the built-in logs template', () => {
    const t = indexTemplate('audit');
    assert.deepEqual(t.index_patterns, ['logs-tunnelwatch.audit-*']);
    assert.ok((t.priority as number) > 100);
    assert.deepEqual(t.data_stream, {});
  });
});
