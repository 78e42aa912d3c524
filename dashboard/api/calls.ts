// The calls explorer: audit events filtered and paged newest first, one event by id, and exports of the
// whole filtered set. Reads audit_events FINAL (each event once, whether merged or not); every query is
// limited to the caller's subaccounts.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { TunnelwatchError } from '../../common/errors.js';
import type { DashboardContext } from '../context.js';
import { canSeeSubaccount } from '../roles.js';
import { createCursorCodec, MAX_CURSOR_LENGTH } from './calls-cursor.js';
import { countCalls, countsFromRollups } from './calls-count.js';
import { AuditEventSchema, toEvent } from './calls-event.js';
import { sendExport } from './calls-export.js';
import { CallFilterProperties, callFilter } from './calls-filter.js';
import { newestFirst } from './calls-read.js';
import { ErrorResponse, principalOf } from './query-kit.js';

const TAGS = ['calls'];

const ListQuery = Type.Object({
  ...CallFilterProperties,
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 100, description: 'calls per page (1-500)' }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_CURSOR_LENGTH, description: 'the `next` of the previous page (same filters, same from/to)' })),
}, { additionalProperties: false });
type ListQueryT = Static<typeof ListQuery>;

const CountQuery = Type.Object(CallFilterProperties, { additionalProperties: false });
type CountQueryT = Static<typeof CountQuery>;

const ExportQuery = Type.Object({
  ...CallFilterProperties,
  format: Type.Union([Type.Literal('csv'), Type.Literal('ndjson')], { description: 'csv (RFC 4180, header row, formula cells neutralised) or ndjson (one audit event a line)' }),
}, { additionalProperties: false });
type ExportQueryT = Static<typeof ExportQuery>;

const ListResponse = Type.Object({
  calls: Type.Array(AuditEventSchema, { description: 'newest first' }),
  next: Type.Union([Type.String(), Type.Null()], { description: 'cursor of the next page; null on the last page' }),
  total: Type.Union([Type.Integer(), Type.Null()], {
    description: 'calls in the filtered set, on the first page only. Null when a cursor is given, and when counting would read the events '
      + 'themselves (a filter on app, principal, path, emitter or an exact status over a range with more than one page): '
      + 'GET /api/v1/calls/count then counts them',
  }),
  from: Type.String({ description: 'the range applied (RFC 3339)' }),
  to: Type.String(),
});

const CountResponse = Type.Object({
  total: Type.Integer({ description: 'calls in the filtered set' }),
  from: Type.String({ description: 'the range applied (RFC 3339)' }),
  to: Type.String(),
});

const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 503: ErrorResponse };

export async function callRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  const cursors = createCursorCodec();

  app.get<{ Querystring: ListQueryT }>('/api/v1/calls', {
    config: { access: 'analyst' },
    schema: {
      tags: TAGS,
      summary: 'Calls (audit events), filtered, newest first',
      description: 'Pages by keyset: pass `next` back as `cursor` with the same filters and the same from/to. A subaccount outside your scope is a 403; without one, only your subaccounts are searched.',
      querystring: ListQuery,
      response: { 200: ListResponse, ...errors },
    },
  }, async (request) => {
    const principal = principalOf(request);
    const q = request.query;
    const filter = callFilter(principal, q);
    const after = q.cursor !== undefined ? cursors.decode(q.cursor, filter.key, filter.range) : undefined;
    const rows = await newestFirst(ctx, filter, after, q.limit + 1);
    const more = rows.length > q.limit;
    const page = more ? rows.slice(0, q.limit) : rows;
    const last = page[page.length - 1];
    // Counted once, for the first page: later pages of the same query would count the same set again. A
    // first page that holds the whole set is its own count; otherwise only the rollups count here, since
    // counting the events can take seconds on a long range and the page must not wait for it.
    let total: number | null = null;
    if (!after) {
      if (!more) total = page.length;
      else if (countsFromRollups(ctx, filter)) total = await countCalls(ctx, filter);
    }
    return {
      calls: page.map(toEvent),
      next: more && last ? cursors.encode({ ts: String(last.ts), eventId: String(last.event_id) }, filter.key) : null,
      total,
      from: filter.range.from.toISOString(),
      to: filter.range.to.toISOString(),
    };
  });

  app.get<{ Querystring: CountQueryT }>('/api/v1/calls/count', {
    config: { access: 'analyst' },
    schema: {
      tags: TAGS,
      summary: 'How many calls match the filters',
      description: 'Same filters as GET /api/v1/calls. Exact. Filters the rollups hold (subaccount, virtual host, decision, status class, error type, deny reason) are counted from them in milliseconds; others read the events of the whole range (about a second per ten million events).',
      querystring: CountQuery,
      response: { 200: CountResponse, ...errors },
    },
  }, async (request) => {
    const filter = callFilter(principalOf(request), request.query);
    return { total: await countCalls(ctx, filter), from: filter.range.from.toISOString(), to: filter.range.to.toISOString() };
  });

  app.get<{ Querystring: ExportQueryT }>('/api/v1/calls/export', {
    config: { access: 'analyst' },
    // A HEAD would run (and record) a whole export only to throw the body away.
    exposeHeadRoute: false,
    schema: {
      tags: TAGS,
      summary: 'Export the whole filtered set as CSV or NDJSON',
      description: 'Same filters as GET /api/v1/calls. Streams every matching call, oldest first, as an attachment. CSV: RFC 4180, a header row, the spec\'s fields then `extra` (JSON of fields of later versions); cells starting with = + - @ tab or CR get a leading \'. Each export is recorded as an admin audit event (calls.export).',
      querystring: ExportQuery,
      produces: ['text/csv', 'application/x-ndjson'],
      response: {
        200: {
          description: 'the download (Content-Disposition: attachment)',
          content: {
            'text/csv': { schema: { type: 'string' } },
            'application/x-ndjson': { schema: { type: 'string' } },
          },
        },
        ...errors,
      },
    },
  }, async (request, reply) => {
    const principal = principalOf(request);
    const { format, ...filters } = request.query;
    return sendExport(ctx, request, reply, principal, callFilter(principal, filters), format);
  });

  app.get<{ Params: { event_id: string } }>('/api/v1/calls/:event_id', {
    config: { access: 'analyst' },
    schema: {
      tags: TAGS,
      summary: 'One call (audit event) by event id',
      description: '404 when the event is unknown or belongs to a subaccount outside your scope.',
      params: Type.Object({ event_id: Type.String({ minLength: 1, maxLength: 200, description: 'the event_id (UUIDv7)' }) }),
      response: { 200: AuditEventSchema, 404: ErrorResponse, ...errors },
    },
  }, async (request) => {
    const principal = principalOf(request);
    let events;
    try {
      events = await ctx.store.getAuditEvents([request.params.event_id]);
    } catch (err) {
      if (err instanceof TunnelwatchError) throw err;
      ctx.log.error({ err }, 'dashboard query failed');
      throw new TunnelwatchError('TW_ERR_DASH_STORE_UNAVAILABLE', (err as Error).message.split('\n')[0]?.slice(0, 300), { cause: err });
    }
    const event = events[0];
    // Out of scope looks exactly like unknown: a scoped analyst learns nothing about other tenants' ids.
    if (!event || !canSeeSubaccount(principal, event.subaccount)) throw new TunnelwatchError('TW_ERR_DASH_NOT_FOUND', `no call ${request.params.event_id}`);
    return event;
  });
}
