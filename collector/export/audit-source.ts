// Audit events for the exporters, by (ingested_at, event_id), from audit_events and audit_events_archive
// (events already past the retention when they arrived are audit events too). Not FINAL: a duplicate row
// that a merge has not collapsed yet is read twice and sent twice, which at-least-once allows; repeats
// within one page are dropped here.
import { AUDIT_FIELDS } from '../../common/audit/event.js';
import type { Store } from '../store/store.js';
import { decodePosition, encodePosition, type PositionedRecord, type SourceOptions, type StreamLag } from './source.js';
import type { ExportedAuditEvent } from './types.js';

const START = '1970-01-01 00:00:00.000';
const T = "DateTime64(3, 'UTC')";
const INTEGER = new Set(['duration_us', 'seq', 'virtual_port', 'internal_port', 'status', 'bytes_in', 'bytes_out', 'backend_connect_us', 'backend_ttfb_us']);
const COLUMNS = [...AUDIT_FIELDS, 'extra', 'ingested_at'].join(', ');
const AFTER = `ingested_at >= {t:${T}} AND (ingested_at, event_id) > ({t:${T}}, {id:String})`;
// PREWHERE reads ingested_at alone first and the other columns only of the granules holding rows in the
// window: caught up, that is the newest parts only, not the whole table.
const PAGE = `PREWHERE ingested_at >= {t:${T}} AND ingested_at <= {upto:${T}} WHERE (ingested_at, event_id) > ({t:${T}}, {id:String})`;

type Row = Record<string, string | number>;

/** ClickHouse DateTime64(3) text ('2026-11-27 21:40:54.123') as RFC 3339 UTC. */
function iso(text: string): string {
  return `${text.replace(' ', 'T')}Z`;
}

function toEvent(row: Row): ExportedAuditEvent {
  const event: Record<string, unknown> = {};
  for (const field of AUDIT_FIELDS) {
    const value = row[field];
    event[field] = INTEGER.has(field) ? Number(value) : field === 'ts' ? iso(String(value)) : String(value ?? '');
  }
  event.ingested_at = iso(String(row.ingested_at));
  event.extra = row.extra === '' || row.extra === undefined ? '{}' : String(row.extra);
  return event as unknown as ExportedAuditEvent;
}

/** The server's clock minus the settle margin: one value for both tables, so they are cut at the same time. */
async function upTo(store: Store, settleMs: number): Promise<string> {
  const [row] = await store.query<{ upto: string }>('SELECT toString(now64(3) - toIntervalMillisecond({settle:UInt32})) AS upto', { settle: settleMs });
  return row?.upto ?? START;
}

export async function readAudit(store: Store, options: SourceOptions, position: string | undefined, limit: number): Promise<PositionedRecord[]> {
  const [t, id] = decodePosition(position, START);
  const upto = await upTo(store, options.settleMs);
  const rows = await store.query<Row>(
    `SELECT ${COLUMNS} FROM (
       SELECT ${COLUMNS} FROM audit_events ${PAGE}
       UNION ALL SELECT ${COLUMNS} FROM audit_events_archive ${PAGE}
     ) ORDER BY ingested_at, event_id LIMIT {limit:UInt32}`,
    { t, id, upto, limit },
  );
  const out: PositionedRecord[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    const eventId = String(row.event_id);
    const next = encodePosition(String(row.ingested_at), eventId);
    if (seen.has(eventId)) {
      // Still move past it, so the cursor is where the read ended.
      const last = out.at(-1);
      if (last) out[out.length - 1] = { record: last.record, position: next };
      continue;
    }
    seen.add(eventId);
    out.push({ record: { stream: 'audit', id: eventId, event: toEvent(row) }, position: next });
  }
  return out;
}

export async function auditLag(store: Store, position: string | undefined): Promise<StreamLag> {
  const [t, id] = decodePosition(position, START);
  const [row] = await store.query<{ n: string; oldest: string }>(
    `SELECT count() AS n, toString(min(ingested_at)) AS oldest FROM (
       SELECT ingested_at FROM audit_events WHERE ${AFTER}
       UNION ALL SELECT ingested_at FROM audit_events_archive WHERE ${AFTER})`,
    { t, id },
  );
  const records = Number(row?.n ?? 0);
  return {
    records,
    oldestMs: records > 0 && row ? Date.parse(iso(row.oldest)) : undefined,
    positionMs: position ? Date.parse(iso(t)) : undefined,
  };
}
