// POST /v1/checks: backend check reports from a connector (schema tunnelwatch.checks/1, its prober and the
// checks it ran for `tunnelwatch check` or the dashboard). Checked strictly and whole: a body that is not
// exactly that schema gets 400 with the reason and nothing is stored. Through the ingest queue like every
// ingest; 200 with the counts only once the reports are committed (and their state changes recorded).
import { Ajv, type ErrorObject } from 'ajv';
import type { FastifyInstance } from 'fastify';
import type { CheckBatch } from '../../connector/diagnostics/types.js';
import type { CheckIngest } from '../diagnostics/state-changes.js';
import { IngestError, refusalError } from '../ingest-error.js';
import { decodedBody, mediaType } from '../request-body.js';
import { CheckBatchSchema, checkBatchProblem } from '../store/backend-checks.js';
import type { IngestContext } from './ingest-context.js';

const ajv = new Ajv({ allErrors: false, strict: false });
const validate = ajv.compile(CheckBatchSchema);

function describeError(e: ErrorObject | undefined): string {
  if (!e) return 'the body does not match tunnelwatch.checks/1';
  const at = e.instancePath === '' ? 'body' : e.instancePath.slice(1).replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.');
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return `${at}: unknown field ${JSON.stringify(p.additionalProperty)}`;
  if (e.keyword === 'required') return `${at}: missing field ${JSON.stringify(p.missingProperty)}`;
  if (e.keyword === 'const') return `${at}: must be ${JSON.stringify(p.allowedValue)}`;
  if (e.keyword === 'anyOf') return `${at}: not one of the allowed values or types`;
  return `${at}: ${e.message ?? 'is not valid'}`;
}

/** The batch in a request body, or the reason it is refused. */
export function parseCheckBatch(text: string): { ok: true; batch: CheckBatch } | { ok: false; reason: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `the body is not JSON: ${(err as Error).message}` };
  }
  if (!validate(body)) return { ok: false, reason: describeError(validate.errors?.[0]) };
  const batch = body as unknown as CheckBatch;
  const problem = checkBatchProblem(batch);
  return problem === undefined ? { ok: true, batch } : { ok: false, reason: problem };
}

export async function checksRoute(app: FastifyInstance, ctx: IngestContext, checks: CheckIngest): Promise<void> {
  app.post('/v1/checks', { config: { ingest: 'audit' } }, async (request, reply) => {
    if (mediaType(request.headers['content-type']) !== 'application/json') {
      throw new IngestError('TW_ERR_INGEST_UNSUPPORTED_MEDIA_TYPE', `Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')} is not JSON; send application/json`);
    }
    const body = await decodedBody(request.body, request.headers['content-encoding'], ctx.maxBodyBytes);
    const parsed = parseCheckBatch(body.toString('utf8'));
    if (!parsed.ok) throw new IngestError('TW_ERR_INGEST_MALFORMED', parsed.reason);
    const { batch } = parsed;
    const done = await ctx.queue.submit(Math.max(1, batch.reports.length), body.length, () => checks.ingest(batch.reports));
    if (!done.ok) throw refusalError(done.refusal);
    return reply.code(200).type('application/json').send(JSON.stringify({ connector_id: batch.connector_id, ...done.value }));
  });
}
