// GET /healthz (the process serves; with the ingest counters) and GET /readyz (the store answers).
// Neither needs a token: they reveal counts, never data.
import type { FastifyInstance } from 'fastify';
import type { IngestContext } from './ingest-context.js';

export async function healthRoutes(app: FastifyInstance, ctx: IngestContext): Promise<void> {
  app.get('/healthz', async (_request, reply) => reply.code(200).send({ status: 'ok', ingest: ctx.queue.stats() }));

  app.get('/readyz', async (_request, reply) => {
    const up = await ctx.store.ping();
    return up ? reply.code(200).send({ ready: true }) : reply.code(503).header('retry-after', '5').send({ ready: false, reason: 'the store is unreachable' });
  });
}
