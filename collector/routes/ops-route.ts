// POST /v1/ops: operational alerts from a relay or connector (schema tunnelwatch.ops/1, docs/alerts.md).
// Checked strictly and whole: a body that is not exactly that schema gets 400 with the reason and nothing is
// stored. Through the ingest queue like every ingest; 200 only once the findings and admin events are
// committed, so the sender retries anything not answered 200.
import type { FastifyInstance } from 'fastify';
import { OpsBatchSchema, opsBatchProblem, type OpsBatch } from '../../common/ops/ops-events.js';
import type { OpsIngest } from '../diagnostics/ops-findings.js';
import { requireEmitter } from '../ingest-auth.js';
import { refusalError } from '../ingest-error.js';
import type { IngestContext } from './ingest-context.js';
import { jsonParser, parsedJsonBody } from './json-ingest.js';

/** The batch in a request body, or the reason it is refused. */
export const parseOpsBatch = jsonParser<OpsBatch>({
  schema: OpsBatchSchema,
  schemaName: 'tunnelwatch.ops/1',
  problem: opsBatchProblem,
  // A value outside a union fails every branch first: the union's own error says it best.
  pick: (errors) => errors.find((e) => e.keyword === 'anyOf') ?? errors[0],
  special: (e, at) => {
    if (e.keyword === 'pattern' && /\.(at|since)$/.test(at)) return `${at}: not an RFC 3339 time`;
    if (e.keyword === 'propertyNames' || (e.keyword === 'pattern' && e.propertyName !== undefined)) return `${at}: detail keys are lower-case snake_case`;
    return undefined;
  },
});

export async function opsRoute(app: FastifyInstance, ctx: IngestContext, ops: OpsIngest): Promise<void> {
  app.post('/v1/ops', { config: { ingest: 'audit' } }, async (request, reply) => {
    const { value: batch, bytes } = await parsedJsonBody(request, ctx, parseOpsBatch);
    requireEmitter(request.ingestHolder, batch.emitter_id, 'the batch');
    const done = await ctx.queue.submit(batch.events.length, bytes, () => ops.ingest(batch));
    if (!done.ok) throw refusalError(done.refusal);
    return reply.code(200).type('application/json').send(JSON.stringify({ emitter_id: batch.emitter_id, ...done.value }));
  });
}
