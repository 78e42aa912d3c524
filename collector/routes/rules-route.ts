// POST /v1/rules: a connector's snapshot of the access rules it enforces (schema tunnelwatch.rules/1), sent
// at start, on change and periodically (connector/agent/rule-report.ts). Checked strictly, whole: a body
// that is not exactly that schema, whose hash is not the rules' hash, or whose rules compilePolicy() would
// refuse gets 400 with the reason and nothing is stored. 200 only once the snapshot is committed.
import { Ajv, type ErrorObject } from 'ajv';
import type { FastifyInstance } from 'fastify';
import { IngestError, refusalError } from '../ingest-error.js';
import { decodedBody, mediaType } from '../request-body.js';
import { checkRuleSnapshot, RuleSnapshotSchema, type RuleSnapshot } from '../store/rule-snapshots.js';
import type { IngestContext } from './ingest-context.js';

const ajv = new Ajv({ allErrors: false, strict: false });
const validate = ajv.compile<RuleSnapshot>(RuleSnapshotSchema);

function describeError(e: ErrorObject | undefined): string {
  if (!e) return 'the body does not match tunnelwatch.rules/1';
  const at = e.instancePath === '' ? 'body' : e.instancePath.slice(1).replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.');
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return `${at}: unknown field ${JSON.stringify(p.additionalProperty)}`;
  if (e.keyword === 'required') return `${at}: missing field ${JSON.stringify(p.missingProperty)}`;
  if (e.keyword === 'const') return `${at}: must be ${JSON.stringify(p.allowedValue)}`;
  if (e.keyword === 'anyOf') return `${at}: not one of the allowed values or types`;
  return `${at}: ${e.message ?? 'is not valid'}`;
}

/** The snapshot in a request body, or the reason it is refused. */
export function parseRuleSnapshot(text: string): { ok: true; snapshot: RuleSnapshot } | { ok: false; reason: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `the body is not JSON: ${(err as Error).message}` };
  }
  if (!validate(body)) return { ok: false, reason: describeError(validate.errors?.[0]) };
  const problem = checkRuleSnapshot(body);
  return problem === undefined ? { ok: true, snapshot: body } : { ok: false, reason: problem };
}

export async function rulesRoute(app: FastifyInstance, ctx: IngestContext): Promise<void> {
  app.post('/v1/rules', { config: { ingest: 'audit' } }, async (request, reply) => {
    if (mediaType(request.headers['content-type']) !== 'application/json') {
      throw new IngestError('TW_ERR_INGEST_UNSUPPORTED_MEDIA_TYPE', `Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')} is not JSON; send application/json`);
    }
    const body = await decodedBody(request.body, request.headers['content-encoding'], ctx.maxBodyBytes);
    const parsed = parseRuleSnapshot(body.toString('utf8'));
    if (!parsed.ok) throw new IngestError('TW_ERR_INGEST_MALFORMED', parsed.reason);
    const { snapshot } = parsed;
    // Through the queue like any ingest, so a full queue or a store outage is answered the same way
    // (429/503 with Retry-After) and the sender retries.
    const done = await ctx.queue.submit(1, body.length, async () => {
      await ctx.onRules?.(snapshot);
      return ctx.store.insertRuleSnapshot(snapshot);
    });
    if (!done.ok) throw refusalError(done.refusal);
    return reply.code(200).type('application/json').send(JSON.stringify({
      connector_id: snapshot.connector_id,
      snapshot_hash: snapshot.snapshot_hash,
      rules: done.value.rules,
      known: done.value.known,
    }));
  });
}
