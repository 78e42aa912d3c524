// Sign-in (POST), who am I (GET) and sign-out (DELETE) of /api/v1/session.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { TunnelwatchError } from '../../common/errors.js';
import { ErrorResponse, principalOf } from '../api/query-kit.js';
import type { DashboardContext } from '../context.js';
import { LoginThrottledError, sameOrigin, SESSION_COOKIE, type DashboardAuth } from './auth-service.js';
import { principalView, requestMeta } from './route-kit.js';
import { LoginBody, SessionView, type LoginBodyT } from './schemas.js';

const TAGS = ['session'];

export async function sessionRoutes(app: FastifyInstance, ctx: DashboardContext, authOf: () => Promise<DashboardAuth>): Promise<void> {
  app.post<{ Body: LoginBodyT }>('/api/v1/session', {
    config: { access: 'public' },
    schema: {
      tags: TAGS,
      summary: 'Sign in',
      description: 'Signs in with a user name and password (local users first, then LDAP) and sets the session cookie tw_session (HttpOnly, SameSite=Strict, Secure over HTTPS). '
        + 'Every attempt is recorded as an admin event. Wrong name, wrong password and no role all get the same 401. '
        + 'Attempts are limited per client address and per user name (dashboard.login_rate_limit): past it, 429 with Retry-After.',
      security: [],
      body: LoginBody,
      response: {
        200: SessionView,
        400: ErrorResponse,
        401: { ...ErrorResponse, description: 'TW_ERR_DASH_LOGIN_FAILED: wrong user name or password, or no dashboard role' },
        403: { ...ErrorResponse, description: 'TW_ERR_DASH_CSRF: the Origin header names another site' },
        429: { ...ErrorResponse, description: 'TW_ERR_DASH_LOGIN_THROTTLED: too many attempts; wait Retry-After seconds' },
        503: { ...ErrorResponse, description: 'TW_ERR_DASH_LDAP_UNAVAILABLE (the directory cannot be reached) or TW_ERR_DASH_STORE_UNAVAILABLE (the sign-in could not be recorded, so it did not happen)' },
      },
    },
  }, async (request, reply) => {
    // Login CSRF: a cross-site form must not sign the browser in as the attacker.
    if (!sameOrigin(request)) throw new TunnelwatchError('TW_ERR_DASH_CSRF', 'the Origin of this sign-in is not the dashboard');
    const auth = await authOf();
    const meta = requestMeta(request);
    try {
      const { cookie, principal } = await auth.login({ username: request.body.username, password: request.body.password, ...meta });
      void reply.setCookie(SESSION_COOKIE, cookie, { path: '/', httpOnly: true, sameSite: 'strict', secure: auth.secureCookie });
      return { ...principalView(principal), ...auth.sessionInfo(principal) };
    } catch (err) {
      if (err instanceof LoginThrottledError) void reply.header('retry-after', String(err.retryAfterS));
      throw err;
    }
  });

  app.get('/api/v1/session', {
    config: { access: 'viewer' },
    schema: {
      tags: TAGS,
      summary: 'The signed-in caller',
      description: 'Who is calling, with which role and subaccount scope, and the CSRF token that state-changing requests of this session must send as x-csrf-token.',
      response: { 200: SessionView, 401: ErrorResponse },
    },
  }, async (request) => {
    const principal = principalOf(request);
    return { ...principalView(principal), ...(await authOf()).sessionInfo(principal) };
  });

  app.delete('/api/v1/session', {
    config: { access: 'viewer' },
    schema: {
      tags: TAGS,
      summary: 'Sign out',
      description: 'Ends the session and clears its cookie (recorded as a logout admin event). For an API token there is nothing to end: revoke the token instead.',
      response: { 204: Type.Null({ description: 'signed out' }), 401: ErrorResponse, 403: ErrorResponse },
    },
  }, async (request, reply) => {
    const principal = principalOf(request);
    try {
      await (await authOf()).logout(principal, requestMeta(request));
    } catch (err) {
      // The session is gone either way; signing out must not fail because the record could not be written.
      ctx.log.error({ err, user: principal.name }, 'logout not recorded');
    }
    void reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'strict', secure: (await authOf()).secureCookie });
    return reply.code(204).send();
  });
}
