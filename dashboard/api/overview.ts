// TODO(issue 4): routes of this page; filled in by the page's implementation.
import type { FastifyInstance } from 'fastify';
import type { DashboardContext } from '../context.js';

export async function overviewRoutes(_app: FastifyInstance, _ctx: DashboardContext): Promise<void> {}
