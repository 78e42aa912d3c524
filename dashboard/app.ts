// The dashboard's HTTP server: pages and the /api/v1 JSON API they are built on. Every route declares
// the least role it needs (config.access); one that does not is refused at start-up, so nothing is
// reachable by accident. Sign-in state comes from the auth service (session cookie + CSRF token, or an
// API token); the access hook below is the only place that decides who may call what.
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { TunnelwatchError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { overviewRoutes } from './api/overview.js';
import { subaccountRoutes } from './api/subaccounts.js';
import { callRoutes } from './api/calls.js';
import { traceRoutes } from './api/traces.js';
import { ruleRoutes } from './api/rules.js';
import { integrityRoutes } from './api/integrity.js';
import { findingRoutes } from './api/findings.js';
import { exporterRoutes } from './api/exporters.js';
import { backendRoutes } from './api/backends.js';
import { authRoutes } from './auth/routes.js';
import { assetRoutes } from './assets.js';
import type { AuthService, DashboardContext } from './context.js';
import { pageRoutes } from './pages.js';
import { roleAllows } from './roles.js';

export interface DashboardAppOptions {
  readonly https?: { readonly cert: Buffer; readonly key: Buffer };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

// Pages and assets come from this origin only; no inline script, no framing.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

export function errorBody(code: string, status: number, message: string): string {
  return JSON.stringify({ error: { code, status, message } });
}

function sendError(reply: FastifyReply, err: TunnelwatchError): FastifyReply {
  reply.header('x-tunnel-error', err.code);
  return reply.code(err.status).type('application/json; charset=utf-8').send(errorBody(err.code, err.status, err.message));
}

/**
 * Deny by default: a route that does not say who may call it is a programming error, caught when it is
 * registered; every other request passes the role check (and, for a browser session's state-changing
 * request, the CSRF check) before its handler runs.
 */
export function installAccessControl(app: FastifyInstance, auth: AuthService): void {
  app.addHook('onRoute', (route) => {
    const access = (route.config as { access?: unknown } | undefined)?.access;
    if (access === undefined) throw new Error(`dashboard route ${String(route.method)} ${route.url} declares no config.access`);
  });

  app.addHook('onRequest', async (request: FastifyRequest) => {
    const access = request.routeOptions.config.access;
    // No route matched (the not-found handler answers) or a public route: nothing to check.
    if (access === undefined || access === 'public') return;
    const principal = await auth.identify(request);
    if (!principal) throw new TunnelwatchError('TW_ERR_DASH_UNAUTHENTICATED');
    if (!roleAllows(principal.role, access)) {
      throw new TunnelwatchError('TW_ERR_DASH_FORBIDDEN', `${request.method} ${request.routeOptions.url ?? ''} needs the ${access} role; ${principal.name} has ${principal.role}`);
    }
    if (!SAFE_METHODS.has(request.method) && principal.sessionId !== undefined && !auth.checkCsrf(request, principal)) {
      throw new TunnelwatchError('TW_ERR_DASH_CSRF');
    }
    request.principal = principal;
  });
}

/** 503s that say a feature is not configured (dashboard.relay_admin). */
const UNCONFIGURED = new Set<string>(['TW_ERR_DASH_RELAY_ADMIN_UNCONFIGURED']);

/** Every error as {"error":{code,status,message}} with a TW_ERR_DASH_* code; 5xx are logged, 4xx are not. */
export function installErrorHandling(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((error: FastifyError | TunnelwatchError, request, reply) => {
    if (error instanceof TunnelwatchError) {
      // A feature left unconfigured is the operator's choice, not a fault: a warning without a stack.
      if (UNCONFIGURED.has(error.code)) log.warn({ code: error.code, url: request.url.split('?')[0] }, 'dashboard request needs a feature that is not configured');
      else if (error.status >= 500) log.error({ err: error, url: request.url.split('?')[0] }, 'dashboard request failed');
      return sendError(reply, error);
    }
    const status = (error as FastifyError).statusCode ?? 500;
    if ((error as FastifyError).validation || (status >= 400 && status < 500)) {
      const code = status === 404 ? 'TW_ERR_DASH_NOT_FOUND' : 'TW_ERR_DASH_BAD_REQUEST';
      return sendError(reply, new TunnelwatchError(code, error.message));
    }
    log.error({ err: error, url: request.url.split('?')[0] }, 'dashboard request failed');
    return sendError(reply, new TunnelwatchError('TW_ERR_DASH_INTERNAL'));
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new TunnelwatchError('TW_ERR_DASH_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
}

export async function buildDashboardApp(ctx: DashboardContext, options: DashboardAppOptions = {}): Promise<FastifyInstance> {
  const { log } = ctx;
  const app = Fastify({
    logger: false,
    bodyLimit: 1_048_576,
    // Query strings like ?status=403&status=404 become arrays where a route's schema says so.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
    ...(options.https ? { https: { cert: options.https.cert, key: options.https.key } } : {}),
  });

  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tunnelwatch dashboard API',
        version: '1',
        description: 'Every page of the dashboard is built on this API. Authenticate with the session cookie (browser; state-changing calls also need the x-csrf-token header) or with "Authorization: Bearer <token>" (API tokens). Errors are {"error":{"code","status","message"}} (docs/error-codes.md).',
      },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'tw_session' },
          token: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ session: [] }, { token: [] }],
    },
    hideUntagged: false,
    // Each operation says which role it needs, in its description and as x-required-role.
    transform: ({ schema, url, route }) => {
      const access = (route.config as { access?: string } | undefined)?.access ?? 'public';
      const base = (schema ?? {}) as Record<string, unknown>;
      const description = typeof base.description === 'string' ? base.description : '';
      const needs = access === 'public' ? 'No sign-in needed.' : `Needs the ${access} role (or higher).`;
      return {
        url,
        schema: { ...base, description: `${description}${description ? '\n\n' : ''}${needs}`, 'x-required-role': access, ...(access === 'public' ? { security: [] } : {}) } as never,
      };
    },
  });

  installAccessControl(app, ctx.auth);

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('content-security-policy', CSP);
    if (request.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    if (options.https) reply.header('strict-transport-security', 'max-age=31536000');
    return payload;
  });

  installErrorHandling(app, log);

  await app.register(async (scope) => {
    await authRoutes(scope, ctx);
    await overviewRoutes(scope, ctx);
    await subaccountRoutes(scope, ctx);
    await callRoutes(scope, ctx);
    await traceRoutes(scope, ctx);
    await ruleRoutes(scope, ctx);
    await integrityRoutes(scope, ctx);
    await findingRoutes(scope, ctx);
    await exporterRoutes(scope, ctx);
    await backendRoutes(scope, ctx);
    await pageRoutes(scope, ctx);
    await assetRoutes(scope);
    scope.get('/api/v1/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());
    scope.get('/healthz', { config: { access: 'public' }, schema: { hide: true } }, async () => ({ status: 'ok' }));
  });
  return app;
}
