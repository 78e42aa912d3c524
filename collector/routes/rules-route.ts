// POST /v1/rules: a connector's snapshot of the access rules it enforces (schema tunnelwatch.rules/1), sent
// at start, on change and periodically (connector/agent/rule-report.ts). Checked strictly, whole: a body
// that is not exactly that schema, whose hash is not the rules' hash, or whose rules compilePolicy() would
// refuse gets 400 with the reason and nothing is stored. 200 only once the snapshot is committed.
import type { FastifyInstance } from 'fastify';
import { requireEmitter } from '../ingest-auth.js';
import { refusalError } from '../ingest-error.js';
import { checkRuleSnapshot, RuleSnapshotSchema, type RuleSnapshot } from '../store/rule-snapshots.js';
import type { IngestContext } from './ingest-context.js';
import { jsonParser, parsedJsonBody } from './json-ingest.js';

/** The snapshot in a request body, or the reason it is refused. */
export const parseRuleSnapshot = jsonParser<RuleSnapshot>({ schema: RuleSnapshotSchema, schemaName: 'tunnelwatch.rules/1', problem: checkRuleSnapshot });

export async function rulesRoute(app: FastifyInstance, ctx: IngestContext): Promise<void> {
  app.post('/v1/rules', { config: { ingest: 'audit' } }, async (request, reply) => {
    const { value: snapshot, bytes } = await parsedJsonBody(request, ctx, parseRuleSnapshot);
    requireEmitter(request.ingestHolder, snapshot.connector_id, 'the snapshot');
    // Through the queue like any ingest, so a full queue or a store outage is answered the same way
    // (429/503 with Retry-After) and the sender retries.
    const done = await ctx.queue.submit(1, bytes, async () => {
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
