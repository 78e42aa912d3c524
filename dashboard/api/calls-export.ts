// Exports of a filtered set of calls: the whole set, oldest first, read from the store in keyset pages and
// (calls-read.ts) written to the reply as the client takes it (a Readable over an async generator is only pulled when the
// socket drains, so a slow client holds one page, not millions of rows). CSV follows RFC 4180; NDJSON
// lines are the events exactly as the spec shapes them.
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AUDIT_FIELDS } from '../../common/audit/event.js';
import type { DashboardContext } from '../context.js';
import type { Principal } from '../roles.js';
import { toEvent, type EventRow } from './calls-event.js';
import type { CallFilter } from './calls-filter.js';
import { oldestFirst } from './calls-read.js';

export type ExportFormat = 'csv' | 'ndjson';

/** Rows per chunk handed to the socket. */
const CHUNK_ROWS = 500;

export const CSV_COLUMNS: readonly string[] = [...AUDIT_FIELDS, 'extra'];

/** A spreadsheet would run a cell starting with one of these as a formula (CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV cell: formula starts neutralised with a leading ', then quoted per RFC 4180 when needed. */
export function csvCell(value: unknown): string {
  let s = value === undefined || value === null ? '' : String(value);
  if (FORMULA_START.test(s)) s = `'${s}`;
  return NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

/** A stored row as one CSV record: the spec's fields, then `extra` (JSON of later fields, '' when none). */
export function csvRecord(row: EventRow): string {
  const event = toEvent(row) as unknown as Record<string, unknown>;
  let line = '';
  for (const field of AUDIT_FIELDS) line += `${csvCell(event[field])},`;
  return `${line}${csvCell(row.extra ?? '')}\r\n`;
}

export function ndjsonRecord(row: EventRow): string {
  return `${JSON.stringify(toEvent(row))}\n`;
}

function fileTime(d: Date): string {
  return d.toISOString().slice(0, 19).replace(/[-:]/g, '') + 'Z';
}

/** e.g. tunnelwatch-calls-acme-20261127T204054Z-20261127T214054Z.csv */
export function exportFileName(filter: CallFilter, format: ExportFormat): string {
  const subaccount = typeof filter.summary.subaccount === 'string' ? `-${filter.summary.subaccount}` : '';
  return `tunnelwatch-calls${subaccount}-${fileTime(filter.range.from)}-${fileTime(filter.range.to)}.${format}`;
}

/**
 * Streams the filtered set as a download and records the export (who, filters, format, rows, whether it
 * completed) as an admin audit event once the last row is written or the download is cut short.
 */
export async function sendExport(ctx: DashboardContext, request: FastifyRequest, reply: FastifyReply, principal: Principal, filter: CallFilter, format: ExportFormat): Promise<FastifyReply> {
  // The first batch is read before the headers go out, so a store failure is a clean 503, not a broken file.
  const batches = oldestFirst(ctx, filter);
  const first = await batches.next();
  const encode = format === 'csv' ? csvRecord : ndjsonRecord;
  const record = async (outcome: 'success' | 'failure', rows: number, why: string): Promise<void> => {
    try {
      await ctx.adminAudit.record({
        action: 'calls.export',
        outcome,
        actor: principal.name,
        actor_role: principal.role,
        via: principal.via,
        target: 'calls',
        client_ip: request.ip,
        user_agent: String(request.headers['user-agent'] ?? ''),
        reason: `${why}: ${rows} calls as ${format}`,
        after: JSON.stringify({ format, rows, filters: filter.summary }),
      });
    } catch (err) {
      ctx.log.error({ err, action: 'calls.export' }, 'cannot record the export as an admin event');
    }
  };

  async function* chunks(): AsyncGenerator<string> {
    let rows = 0;
    let done = false;
    try {
      if (format === 'csv') yield csvHeader();
      for (let batch = first; !batch.done; batch = await batches.next()) {
        const batchRows = batch.value;
        for (let i = 0; i < batchRows.length; i += CHUNK_ROWS) {
          let text = '';
          const end = Math.min(batchRows.length, i + CHUNK_ROWS);
          for (let j = i; j < end; j++) text += encode(batchRows[j] as EventRow);
          rows += end - i;
          yield text;
        }
      }
      done = true;
      await record('success', rows, 'exported');
    } finally {
      if (!done) {
        await batches.return(undefined);
        await record('failure', rows, 'export cut short after');
      }
    }
  }

  return reply
    .type(format === 'csv' ? 'text/csv; charset=utf-8; header=present' : 'application/x-ndjson; charset=utf-8')
    .header('content-disposition', `attachment; filename="${exportFileName(filter, format)}"`)
    .send(Readable.from(chunks(), { objectMode: true, highWaterMark: 1 }));
}
