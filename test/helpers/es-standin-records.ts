// ExportRecord values for the Elasticsearch exporter tests: audit events from trafficEvents() and the
// crafted findings, shaped as the export runner hands them over (stored fields added).
import type { Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { EsKeys, type EsConfig } from '../../collector/export/elasticsearch/config.js';
import type { ExporterBaseConfig, ExportRecord } from '../../collector/export/types.js';
import { trafficEvents } from './audit-traffic.js';
import { craftedFindings } from './findings.js';

export function auditRecords(count: number, seed = 7, from = new Date('2026-03-02T08:00:00Z')): Extract<ExportRecord, { stream: 'audit' }>[] {
  const to = new Date(from.getTime() + 3_600_000);
  return trafficEvents({ count, from, to, seed }).map((event) => ({
    stream: 'audit' as const,
    id: event.event_id,
    event: { ...event, ingested_at: new Date(Date.parse(event.ts) + 1500).toISOString(), extra: '{}' },
  }));
}

export function findingRecords(now = Date.parse('2026-03-02T12:00:00Z'), version = 1_772_452_800_000): Extract<ExportRecord, { stream: 'findings' }>[] {
  const detected = new Date(now).toISOString();
  return craftedFindings(now).map((f) => ({
    stream: 'findings' as const,
    id: `${f.finding_id}:${version}`,
    finding: { ...f, first_detected_at: detected, detected_at: detected },
  }));
}

/** An elasticsearch exporter entry as the validated config gives it: the type's defaults filled in. */
export function esExporterConfig(keys: Partial<Static<typeof EsKeys>> & { nodes: string[] }, base: Partial<ExporterBaseConfig> = {}): EsConfig {
  const own = Value.Default(EsKeys, structuredClone(keys)) as Static<typeof EsKeys>;
  if (!Value.Check(EsKeys, own)) throw new Error(`invalid elasticsearch keys: ${[...Value.Errors(EsKeys, own)].map((e) => `${e.path} ${e.message}`).join('; ')}`);
  return { name: 'es-test', type: 'elasticsearch', enabled: true, streams: ['audit', 'findings'], ...base, ...own, batch_size: base.batch_size ?? own.batch_size };
}
