// TODO(issue 4): session, token and admin-event routes.
import type { FastifyInstance } from 'fastify';
import type { DashboardContext } from '../context.js';

export async function authRoutes(_app: FastifyInstance, _ctx: DashboardContext): Promise<void> {}
