// API tokens: list, create (the token is in the answer once), revoke. Admins only, and only within their
// own subaccount scope: an admin limited to some subaccounts cannot mint a token that sees more.
import type { FastifyInstance } from 'fastify';
import { TunnelwatchError } from '../../common/errors.js';
import { ErrorResponse, principalOf } from '../api/query-kit.js';
import type { DashboardContext } from '../context.js';
import type { DashboardAuth } from './auth-service.js';
import type { TokenInfo } from './api-tokens.js';
import { requestMeta, scopeCovers, scopeText } from './route-kit.js';
import { CreatedToken, NewTokenBody, TokenIdParams, TokenList, TokenView, type NewTokenBodyT } from './schemas.js';

const TAGS = ['tokens'];

/** What admin events keep of a token: no secret, no hash. */
function tokenState(info: TokenInfo): string {
  return JSON.stringify(info);
}

export async function tokenRoutes(app: FastifyInstance, ctx: DashboardContext, authOf: () => Promise<DashboardAuth>): Promise<void> {
  app.get('/api/v1/tokens', {
    config: { access: 'admin' },
    schema: {
      tags: TAGS,
      summary: 'API tokens',
      description: 'Every API token within the caller\'s subaccount scope: those of the config file (dashboard.api_tokens) and those created here, revoked ones included. Never the tokens themselves.',
      response: { 200: TokenList, 401: ErrorResponse, 403: ErrorResponse, 503: ErrorResponse },
    },
  }, async (request) => {
    const principal = principalOf(request);
    const tokens = await (await authOf()).tokens.list();
    return { tokens: tokens.filter((t) => scopeCovers(principal.subaccounts, t.subaccounts)) };
  });

  app.post<{ Body: NewTokenBodyT }>('/api/v1/tokens', {
    config: { access: 'admin' },
    schema: {
      tags: TAGS,
      summary: 'Create an API token',
      description: 'Creates a token and returns it this once (only its SHA-256 is stored). Recorded as a token.create admin event; if that event cannot be stored, the token is withdrawn and the answer is 503.',
      body: NewTokenBody,
      response: { 201: CreatedToken, 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 503: ErrorResponse },
    },
  }, async (request, reply) => {
    const principal = principalOf(request);
    const auth = await authOf();
    const scope = request.body.subaccounts ?? principal.subaccounts;
    if (!scopeCovers(principal.subaccounts, scope)) {
      throw new TunnelwatchError('TW_ERR_DASH_FORBIDDEN', `a token may see no more than its creator: ${principal.name} sees ${scopeText(principal.subaccounts)}`);
    }
    const { token, info } = await auth.tokens.create(
      { name: request.body.name, role: request.body.role, subaccounts: scope, ...(request.body.expires_days ? { expiresDays: request.body.expires_days } : {}) },
      principal.name,
    );
    const meta = requestMeta(request);
    try {
      await ctx.adminAudit.record({
        action: 'token.create', outcome: 'success', actor: principal.name, actor_role: principal.role, via: principal.via,
        target: info.name, client_ip: meta.clientIp, user_agent: meta.userAgent, reason: '', before: '', after: tokenState(info),
      });
    } catch (err) {
      // Nobody has seen the token yet; withdrawing it keeps every usable token on the record.
      await auth.tokens.revoke(info.id, 'withdrawn: admin event not stored').catch((e: unknown) => ctx.log.error({ err: e }, 'unrecorded token could not be withdrawn'));
      throw err;
    }
    return reply.code(201).send({ token, info });
  });

  app.delete<{ Params: { id: string } }>('/api/v1/tokens/:id', {
    config: { access: 'admin' },
    schema: {
      tags: TAGS,
      summary: 'Revoke an API token',
      description: 'Revokes a token created in the dashboard; it stops working at once (in other dashboard processes on the same store within 10 s). Revoking a revoked token changes nothing. Config-file tokens are revoked by removing them from the file. Recorded as a token.revoke admin event.',
      params: TokenIdParams,
      response: { 200: TokenView, 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 503: ErrorResponse },
    },
  }, async (request) => {
    const principal = principalOf(request);
    const auth = await authOf();
    const current = await auth.tokens.get(request.params.id);
    if (!current) throw new TunnelwatchError('TW_ERR_DASH_NOT_FOUND', `no API token ${request.params.id}`);
    if (current.source === 'config') throw new TunnelwatchError('TW_ERR_DASH_BAD_REQUEST', `${current.name} comes from the config file: remove it from dashboard.api_tokens and restart`);
    if (!scopeCovers(principal.subaccounts, current.subaccounts)) {
      throw new TunnelwatchError('TW_ERR_DASH_FORBIDDEN', `token ${current.name} sees ${scopeText(current.subaccounts)}, more than ${principal.name}`);
    }
    const result = await auth.tokens.revoke(current.id, principal.name);
    if (!result) throw new TunnelwatchError('TW_ERR_DASH_NOT_FOUND', `no API token ${request.params.id}`);
    if (result.before.revoked_at !== '') return result.after;
    const meta = requestMeta(request);
    try {
      await ctx.adminAudit.record({
        action: 'token.revoke', outcome: 'success', actor: principal.name, actor_role: principal.role, via: principal.via,
        target: current.name, client_ip: meta.clientIp, user_agent: meta.userAgent, reason: '',
        before: tokenState(result.before), after: tokenState(result.after),
      });
    } catch (err) {
      throw new TunnelwatchError('TW_ERR_DASH_STORE_UNAVAILABLE', `the token is revoked, but the admin event could not be stored (${(err as Error).message})`, { cause: err });
    }
    return result.after;
  });
}
