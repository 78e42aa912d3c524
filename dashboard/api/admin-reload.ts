// POST /api/v1/admin/reload: reloads collector.yaml in the collector the dashboard runs in, as SIGHUP does
// (collector/reload.ts): applied whole, or refused whole with the reason. The signed-in admin is the actor
// of the admin events the change becomes. The configuration spans every subaccount, so only admins whose
// scope is all subaccounts may reload it.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { TunnelwatchError } from '../../common/errors.js';
import { requestMeta } from '../auth/route-kit.js';
import type { DashboardContext } from '../context.js';
import { ErrorResponse, principalOf } from './query-kit.js';

const ReloadAnswer = Type.Object(
  {
    applied: Type.Boolean({ description: 'always true in a 200 answer (a refused reload answers 422)' }),
    message: Type.String({ description: 'what is in force now, in words' }),
    changed: Type.Array(Type.String(), { description: 'the audited sections the reload changed, each recorded as an admin event config.change (e.g. dashboard.users, exporters)' }),
    restart_needed: Type.Array(Type.String(), { description: 'settings that differ in the file but take effect only after a restart (e.g. collector.listen)' }),
  },
  { additionalProperties: false },
);

export async function adminReloadRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  app.post('/api/v1/admin/reload', {
    config: { access: 'admin' },
    schema: {
      tags: ['admin'],
      summary: 'Reload the collector configuration',
      description: 'Reads collector.yaml again and applies it whole, or refuses it whole (422, with the reason) when anything in it is invalid; the settings in force then stay. Applied live: ingest tokens, dashboard local users, config API tokens, LDAP settings, exporters (only the changed ones restart) and detection settings. Each changed section becomes an admin event config.change with before and after, with the signed-in user as actor. Needs an admin whose scope is all subaccounts. 409 on a dashboard that runs on its own (restart it instead). No request body.',
      response: { 200: ReloadAnswer, 401: ErrorResponse, 403: ErrorResponse, 409: ErrorResponse, 422: ErrorResponse, 503: ErrorResponse },
    },
  }, async (request) => {
    const principal = principalOf(request);
    if (principal.subaccounts !== '*') {
      throw new TunnelwatchError('TW_ERR_DASH_FORBIDDEN', `the configuration spans every subaccount; ${principal.name} sees only some`);
    }
    if (!ctx.reload) throw new TunnelwatchError('TW_ERR_DASH_RELOAD_UNAVAILABLE');
    const { clientIp, userAgent } = requestMeta(request);
    const result = await ctx.reload({ via: 'api', actor: principal.name, actorRole: principal.role, clientIp, userAgent });
    if (!result.applied) {
      ctx.log.error({ actor: principal.name }, `configuration reload refused, nothing changed: ${result.message}`);
      throw new TunnelwatchError('TW_ERR_DASH_RELOAD_REFUSED', result.message);
    }
    ctx.log.info({ actor: principal.name, changed: result.changed ?? [], restart_needed: result.restartNeeded ?? [] }, `configuration reloaded: ${result.message}`);
    return { applied: true, message: result.message, changed: [...(result.changed ?? [])], restart_needed: [...(result.restartNeeded ?? [])] };
  });
}
