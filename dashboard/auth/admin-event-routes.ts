// The sign-in log: admin events, newest first, filtered by time, action, outcome and user. Admin events
// name users of every tenant, so only admins whose scope is all subaccounts may read them.
import type { FastifyInstance } from 'fastify';
import { TunnelwatchError } from '../../common/errors.js';
import { chTime, ErrorResponse, num, principalOf, query, resolveRange } from '../api/query-kit.js';
import type { DashboardContext } from '../context.js';
import { ADMIN_EVENT_COLUMNS, eventFromRow } from './admin-events.js';
import { AdminEventPage, AdminEventsQuery, type AdminEventsQueryT } from './schemas.js';

const WEEK_MS = 7 * 86_400_000;

export async function adminEventRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  app.get<{ Querystring: AdminEventsQueryT }>('/api/v1/admin/events', {
    config: { access: 'admin' },
    schema: {
      tags: ['admin'],
      summary: 'Admin events (sign-in log)',
      description: 'Sign-ins, failed sign-ins (with the reason), sign-outs and API token changes, newest first, with their hash-chain fields (seq, prev_hash, hash) so that the chain can be checked. Needs an admin whose scope is all subaccounts.',
      querystring: AdminEventsQuery,
      response: { 200: AdminEventPage, 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 503: ErrorResponse },
    },
  }, async (request) => {
    const principal = principalOf(request);
    if (principal.subaccounts !== '*') {
      throw new TunnelwatchError('TW_ERR_DASH_FORBIDDEN', `the sign-in log names users of every subaccount; ${principal.name} sees only some`);
    }
    const q = request.query;
    const to = q.to ? new Date(q.to) : new Date();
    const range = resolveRange({ from: q.from ?? new Date(to.getTime() - WEEK_MS).toISOString(), to: to.toISOString() });
    // Only fixed fragments are added; every value is a bound parameter.
    let where = 'ts >= {from:DateTime64(3, \'UTC\')} AND ts < {to:DateTime64(3, \'UTC\')}';
    const params: Record<string, unknown> = { from: chTime(range.from), to: chTime(range.to), limit: q.limit, offset: q.offset };
    if (q.action?.length) {
      where += ' AND action IN {actions:Array(String)}';
      params.actions = q.action;
    }
    if (q.outcome) {
      where += ' AND outcome = {outcome:String}';
      params.outcome = q.outcome;
    }
    if (q.user) {
      where += ' AND (actor = {user:String} OR target = {user:String})';
      params.user = q.user;
    }
    const [rows, counts] = await Promise.all([
      query<Record<string, unknown>>(ctx,
        `SELECT ${ADMIN_EVENT_COLUMNS.join(', ')} FROM admin_events FINAL WHERE ${where}
         ORDER BY ts DESC, event_id DESC LIMIT {limit:UInt32} OFFSET {offset:UInt32}`, params),
      query<{ n: string }>(ctx, `SELECT count() AS n FROM admin_events FINAL WHERE ${where}`, params),
    ]);
    return {
      events: rows.map(eventFromRow),
      total: num(counts[0]?.n),
      limit: q.limit,
      offset: q.offset,
      from: range.from.toISOString(),
      to: range.to.toISOString(),
    };
  });
}
