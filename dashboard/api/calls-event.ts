// An audit event as the calls and trace routes return it: every field of the v1 spec, in the spec's
// shape (shared/spec/audit-event-v1.md), plus the fields of later versions the store kept in `extra`.
// Rows map back to events with the store's own rowToAuditEvent, so the API, the exports and
// store.getAuditEvents() agree byte for byte.
import { Type, type TSchema } from '@sinclair/typebox';
import { AUDIT_FIELDS } from '../../common/audit/event.js';
import { AUDIT_SELECT_COLUMNS, rowToAuditEvent, type AuditEventRecord, type StoredAuditEvent } from '../../collector/store/audit-row.js';

const INTEGER_FIELDS = new Set(['duration_us', 'seq', 'virtual_port', 'internal_port', 'status', 'bytes_in', 'bytes_out', 'backend_connect_us', 'backend_ttfb_us']);

const DESCRIPTIONS: Record<string, string> = {
  ts: 'RFC 3339 UTC with milliseconds: when the emitter received the call',
  duration_us: 'from receipt to the last byte sent back (µs)',
  decision: 'allow or deny',
  deny_reason: '"" when allowed',
  error_type: '"" when the backend answered',
  backend_connect_us: 'time to open or take the backend connection (µs); 0 if none',
  backend_ttfb_us: 'backend time to first response byte (µs); 0 if none',
  trace_id: 'W3C trace id: GET /api/v1/traces/{trace_id}',
};

const properties: Record<string, TSchema> = {};
for (const field of AUDIT_FIELDS) {
  const description = DESCRIPTIONS[field] ?? 'see shared/spec/audit-event-v1.md';
  properties[field] = INTEGER_FIELDS.has(field) ? Type.Integer({ minimum: 0, description }) : Type.String({ description });
}

/** One audit event; fields a later spec version adds are kept (additionalProperties). */
export const AuditEventSchema = Type.Object(properties, {
  additionalProperties: true,
  description: 'an audit event, tunnelwatch.audit/1 (shared/spec/audit-event-v1.md)',
});

/** SELECT list that rowToAuditEvent reads (the spec's columns and `extra`). */
export const EVENT_COLUMNS = AUDIT_SELECT_COLUMNS.join(', ');

export type EventRow = AuditEventRecord;

export function toEvent(row: EventRow): StoredAuditEvent {
  return rowToAuditEvent(row);
}
