// POST /v1/ops: operational alerts from a relay or connector (schema tunnelwatch.ops/1, docs/alerts.md).
// Checked strictly and whole: a body that is not exactly that schema gets 400 with the reason and nothing is
// stored. Through the ingest queue like every ingest; 200 only once the findings and admin events are
// committed, so the sender retries anything not answered 200.
import { Ajv, type ErrorObject } from 'ajv';
import type { FastifyInstance } from 'fastify';
import { OpsBatchSchema, opsBatchProblem, type OpsBatch } from '../../common/ops/ops-events.js';
import type { OpsIngest } from '../diagnostics/ops-findings.js';
import { IngestError, refusalError } from '../ingest-error.js';
import { decodedBody, mediaType } from '../request-body.js';
import type { IngestContext } from './ingest-context.js';

const ajv = new Ajv({ allErrors: false, strict: false });
const validate = ajv.compile(OpsBatchSchema);

function describeError(e: ErrorObject | undefined): string {
  if (!e) return 'the body does not match tunnelwatch.ops/1';
  const at = e.instancePath === '' ? 'body' : e.instancePath.slice(1).replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.');
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return `${at}: unknown field ${JSON.stringify(p.additionalProperty)}`;
  if (e.keyword === 'required') return `${at}: missing field ${JSON.stringify(p.missingProperty)}`;
  if (e.keyword === 'const') return `${at}: must be ${JSON.stringify(p.allowedValue)}`;
  if (e.keyword === 'anyOf') return `${at}: not one of the allowed values or types`;
  if (e.keyword === 'pattern' && /\.(at|since)$/.test(at)) return `${at}: not an RFC 3339 time`;
  if (e.keyword === 'propertyNames' || (e.keyword === 'pattern' && e.propertyName !== undefined)) return `${at}: detail keys are lower-case snake_case`;
  return `${at}: ${e.message ?? 'is not valid'}`;
}

/** The batch in a request body, or the reason it is refused. */
export function parseOpsBatch(text: string): { ok: true; batch: OpsBatch } | { ok: false; reason: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `the body is not JSON: ${(err as Error).message}` };
  }
  // A value outside a union fails every branch first: the union's own error says it best.
  if (!validate(body)) return { ok: false, reason: describeError(validate.errors?.find((e) => e.keyword === 'anyOf') ?? validate.errors?.[0]) };
  const batch = body as unknown as OpsBatch;
  const problem = opsBatchProblem(batch);
  return problem === undefined ? { ok: true, batch } : { ok: false, reason: problem };
}

export async function opsRoute(app: FastifyInstance, ctx: IngestContext, ops: OpsIngest): Promise<void> {
  app.post('/v1/ops', { config: { ingest: 'audit' } }, async (request, reply) => {
    if (mediaType(request.headers['content-type']) !== 'application/json') {
      throw new IngestError('TW_ERR_INGEST_UNSUPPORTED_MEDIA_TYPE', `Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')} is not JSON; send application/json`);
    }
    const body = await decodedBody(request.body, request.headers['content-encoding'], ctx.maxBodyBytes);
    const parsed = parseOpsBatch(body.toString('utf8'));
    if (!parsed.ok) throw new IngestError('TW_ERR_INGEST_MALFORMED', parsed.reason);
    const { batch } = parsed;
    const done = await ctx.queue.submit(batch.events.length, body.length, () => ops.ingest(batch));
    if (!done.ok) throw refusalError(done.refusal);
    return reply.code(200).type('application/json').send(JSON.stringify({ emitter_id: batch.emitter_id, ...done.value }));
  });
}
