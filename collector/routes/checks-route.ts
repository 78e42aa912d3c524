// POST /v1/checks: backend check reports from a connector (schema tunnelwatch.checks/1, its prober and the
// checks it ran for `tunnelwatch check` or the dashboard). Checked strictly and whole: a body that is not
// exactly that schema gets 400 with the reason and nothing is stored. Through the ingest queue like every
// ingest; 200 with the counts only once the reports are committed (and their state changes recorded).
import type { FastifyInstance } from 'fastify';
import type { CheckBatch } from '../../connector/diagnostics/types.js';
import type { CheckIngest } from '../diagnostics/state-changes.js';
import { requireEmitter } from '../ingest-auth.js';
import { refusalError } from '../ingest-error.js';
import { CheckBatchSchema, checkBatchProblem } from '../store/backend-checks.js';
import type { IngestContext } from './ingest-context.js';
import { jsonParser, parsedJsonBody } from './json-ingest.js';

/** The batch in a request body, or the reason it is refused. */
export const parseCheckBatch = jsonParser<CheckBatch>({ schema: CheckBatchSchema, schemaName: 'tunnelwatch.checks/1', problem: checkBatchProblem });

export async function checksRoute(app: FastifyInstance, ctx: IngestContext, checks: CheckIngest): Promise<void> {
  app.post('/v1/checks', { config: { ingest: 'audit' } }, async (request, reply) => {
    const { value: batch, bytes } = await parsedJsonBody(request, ctx, parseCheckBatch);
    // Every report is the batch's connector's (checkBatchProblem).
    requireEmitter(request.ingestHolder, batch.connector_id, 'the batch');
    const done = await ctx.queue.submit(Math.max(1, batch.reports.length), bytes, () => checks.ingest(batch.reports));
    if (!done.ok) throw refusalError(done.refusal);
    return reply.code(200).type('application/json').send(JSON.stringify({ connector_id: batch.connector_id, ...done.value }));
  });
}
