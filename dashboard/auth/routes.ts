// The sign-in, API token and admin event routes. Each area is its own file; this one wires them.
import type { FastifyInstance } from 'fastify';
import type { DashboardContext } from '../context.js';
import { adminReloadRoutes } from '../api/admin-reload.js';
import { adminEventRoutes } from './admin-event-routes.js';
import type { DashboardAuth } from './auth-service.js';
import { sessionRoutes } from './session-routes.js';
import { tokenRoutes } from './token-routes.js';

export async function authRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  const auth = async (): Promise<DashboardAuth> => ctx.auth;
  await sessionRoutes(app, ctx, auth);
  await tokenRoutes(app, ctx, auth);
  await adminEventRoutes(app, ctx);
  await adminReloadRoutes(app, ctx);
}
