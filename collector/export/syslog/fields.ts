// Every field of a record as text, by name, in the spec's order: what the RFC 5424 structured data
// carries one for one. Names are the spec's field names (shared/spec/audit-event-v1.md), so a receiver
// reads them without a table.
import type { StoredFinding } from '../../detect/findings-store.js';
import { AUDIT_FIELDS } from '../../../common/audit/event.js';
import type { ExportedAuditEvent, ExportRecord } from '../types.js';

/** Field names and, in the same order, their values as text (two arrays: no tuple per field). */
export interface FieldValues {
  readonly names: readonly string[];
  readonly values: readonly string[];
}

/** The audit event's fields, then the two the store adds. */
export const AUDIT_EXPORT_FIELDS: readonly (keyof ExportedAuditEvent)[] = [...AUDIT_FIELDS, 'ingested_at', 'extra'];

/** A finding's fields; `export_id` ("<finding_id>:<version>") tells two versions of one finding apart. */
export const FINDING_EXPORT_FIELDS = [
  'export_id', 'finding_id', 'detector', 'severity', 'score', 'subaccount', 'entity_type', 'entity',
  'window_start', 'window_end', 'title', 'explanation', 'evidence', 'first_detected_at', 'detected_at',
] as const;

export function auditFields(e: ExportedAuditEvent): FieldValues {
  return { names: AUDIT_EXPORT_FIELDS, values: AUDIT_EXPORT_FIELDS.map((name) => text(e[name])) };
}

export function findingFields(id: string, f: StoredFinding): FieldValues {
  const values = FINDING_EXPORT_FIELDS.map((name) => (name === 'export_id' ? id : name === 'evidence' ? JSON.stringify(f.evidence) : text((f as unknown as Record<string, unknown>)[name])));
  return { names: FINDING_EXPORT_FIELDS, values };
}

export function recordFields(r: ExportRecord): FieldValues {
  return r.stream === 'audit' ? auditFields(r.event) : findingFields(r.id, r.finding);
}

function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/**
 * A time as RFC 3339 UTC with milliseconds, from RFC 3339 or ClickHouse's "YYYY-MM-DD hh:mm:ss[.fff]"
 * (UTC); undefined when it is not a time.
 */
export function isoMillis(value: string): string | undefined {
  if (ISO_MS.test(value)) return value;
  const ms = epochMillis(value);
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

export function epochMillis(value: string): number | undefined {
  if (value === '') return undefined;
  let v = value.includes('T') ? value : value.replace(' ', 'T');
  if (!/(Z|[+-]\d\d:?\d\d)$/.test(v)) v += 'Z';
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : undefined;
}
