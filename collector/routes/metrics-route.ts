// GET /metrics: Prometheus text of the collector's registry. One registry per collector, which each part
// fills with its own metrics (the exporters' today, collector/export/metrics.ts); a part adds metrics by
// registering them on the registry it is given, not by editing this route. No token, like /healthz: the
// series carry counts and names, never data.
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';

export function createMetricsRegistry(): Registry {
  return new Registry();
}

export async function metricsRoute(app: FastifyInstance, registry: Registry): Promise<void> {
  app.get('/metrics', async (_request, reply) => reply.code(200).type(registry.contentType).send(await registry.metrics()));
}
