// The index templates `tunnelwatch siem setup elasticsearch` installs (docs/siem-elasticsearch.md): one
// component template with the mappings of every field ecs.ts writes, and one data-stream index template per
// dataset, above the built-in logs-*-* template (priority 100), composed of ours and an optional
// `<template>@custom` the operator may create for lifecycle, shards or extra fields. Bump TEMPLATE_VERSION
// whenever a body changes: setup then replaces the installed one (new backing indices pick it up).
import type { ExportStream } from '../types.js';
import { datasetOf, ECS_VERSION } from './ecs.js';

export const TEMPLATE_VERSION = 1;
export const TEMPLATE_PRIORITY = 200;
export const MAPPINGS_COMPONENT = 'tunnelwatch@mappings';

type Mapping = Record<string, unknown>;
const keyword: Mapping = { type: 'keyword', ignore_above: 1024 };
const long: Mapping = { type: 'long' };
const date: Mapping = { type: 'date' };
const ip: Mapping = { type: 'ip' };
const obj = (properties: Record<string, Mapping>): Mapping => ({ properties });
const keywords = (...names: string[]): Record<string, Mapping> => Object.fromEntries(names.map((n) => [n, keyword]));
const endpoint = (): Mapping => obj({ ...keywords('address', 'domain'), ip, port: long, bytes: long });

/** Mappings of every field of the audit and finding documents; a test checks ecs.ts writes no other. */
export function fieldMappings(): Mapping {
  return {
    // Fields of our documents are all mapped here; other writers (ingest pipelines) may still add some.
    dynamic: true,
    properties: {
      '@timestamp': date,
      message: { type: 'match_only_text' },
      ecs: obj(keywords('version')),
      data_stream: obj({ type: { type: 'constant_keyword' }, dataset: { type: 'constant_keyword' }, namespace: { type: 'constant_keyword' } }),
      event: obj({
        ...keywords('kind', 'category', 'type', 'action', 'outcome', 'id', 'dataset', 'module', 'provider', 'hash', 'reason'),
        duration: long, sequence: long, severity: long, risk_score: { type: 'float' }, risk_score_norm: { type: 'float' },
        created: date, start: date, end: date,
      }),
      observer: obj(keywords('vendor', 'product', 'type', 'name')),
      network: obj({ ...keywords('transport', 'protocol'), bytes: long }),
      source: endpoint(),
      destination: endpoint(),
      server: endpoint(),
      organization: obj(keywords('id')),
      user: obj(keywords('name')),
      user_agent: obj({ original: { ...keyword, fields: { text: { type: 'match_only_text' } } } }),
      trace: obj(keywords('id')),
      span: obj(keywords('id')),
      rule: obj(keywords('id', 'name', 'description', 'category', 'ruleset')),
      error: obj(keywords('type')),
      url: obj({ path: { type: 'wildcard' }, ...keywords('query', 'domain'), port: long }),
      http: obj({
        request: obj({ method: keyword, body: obj({ bytes: long }) }),
        response: obj({ status_code: long, body: obj({ bytes: long }) }),
      }),
      related: obj({ ip, ...keywords('user', 'hosts', 'hash') }),
      tunnelwatch: obj({
        ...keywords('schema', 'emitter', 'emitter_id', 'prev_hash', 'hash', 'subaccount', 'location_id', 'cloud_app', 'protocol', 'decision', 'deny_reason'),
        seq: long, bytes_in: long, bytes_out: long, duration_us: long, backend_connect_us: long, backend_ttfb_us: long,
        ingested_at: date,
        // Fields a later audit-event version adds, until this mapping learns them: kept and searchable,
        // never a mapping conflict.
        extra: { type: 'flattened' },
        finding: obj({
          ...keywords('id', 'severity', 'entity_type', 'entity'),
          explanation: { type: 'match_only_text' },
          // Each detector has its own evidence keys and value types: flattened indexes all of them as
          // keywords under one field, so no detector can cause a mapping conflict or a field explosion.
          evidence: { type: 'flattened' },
          first_detected_at: date, detected_at: date,
        }),
      }),
    },
  };
}

const meta = (description: string) => ({ managed_by: 'tunnelwatch', tunnelwatch_template_version: TEMPLATE_VERSION, ecs_version: ECS_VERSION, description });

export function mappingsComponent(): Record<string, unknown> {
  return {
    version: TEMPLATE_VERSION,
    _meta: meta('mappings of Tunnelwatch audit events and findings (ECS)'),
    template: { mappings: fieldMappings() },
  };
}

export function indexTemplateName(stream: ExportStream): string {
  return `logs-${datasetOf(stream)}`;
}

export function customComponentName(stream: ExportStream): string {
  return `${indexTemplateName(stream)}@custom`;
}

export function indexTemplate(stream: ExportStream): Record<string, unknown> {
  const dataset = datasetOf(stream);
  return {
    index_patterns: [`logs-${dataset}-*`],
    priority: TEMPLATE_PRIORITY,
    data_stream: {},
    composed_of: [MAPPINGS_COMPONENT, customComponentName(stream)],
    ignore_missing_component_templates: [customComponentName(stream)],
    version: TEMPLATE_VERSION,
    _meta: meta(stream === 'audit' ? 'Tunnelwatch audit events (one per tunnelled call or refusal)' : 'Tunnelwatch findings of the anomaly detectors (alerts)'),
    template: {
      mappings: {
        properties: {
          data_stream: { properties: { type: { type: 'constant_keyword', value: 'logs' }, dataset: { type: 'constant_keyword', value: dataset } } },
        },
      },
    },
  };
}
