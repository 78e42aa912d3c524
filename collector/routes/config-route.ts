// POST /v1/config: a relay's audited configuration sections (schema tunnelwatch.config/1), sent at its start
// and after each reload that changed one (connector/relay/reload.ts). Checked strictly and whole: a body that
// is not exactly that schema gets 400 with the reason and nothing is recorded. Through the ingest queue like
// every ingest; 200 only once the admin events are committed, so the sender retries anything else, and a
// retry records nothing twice (each section is compared with its last record).
import type { FastifyInstance } from 'fastify';
import { ConfigReportSchema, type ConfigReport } from '../../common/config/config-report.js';
import { requireEmitter } from '../ingest-auth.js';
import { refusalError } from '../ingest-error.js';
import type { IngestContext } from './ingest-context.js';
import { jsonParser, parsedJsonBody } from './json-ingest.js';

export const parseConfigReport = jsonParser<ConfigReport>({
  schema: ConfigReportSchema,
  schemaName: 'tunnelwatch.config/1',
  problem: (r) => (r.snapshots.some((s) => Number.isNaN(Date.parse(s.taken_at))) ? 'snapshots[].taken_at: not a valid time' : undefined),
});

export async function configRoute(app: FastifyInstance, ctx: IngestContext, record: (report: ConfigReport) => Promise<string[]>): Promise<void> {
  app.post('/v1/config', { config: { ingest: 'audit' } }, async (request, reply) => {
    const { value: report, bytes } = await parsedJsonBody(request, ctx, parseConfigReport);
    requireEmitter(request.ingestHolder, report.emitter_id, 'the report');
    const done = await ctx.queue.submit(report.snapshots.length, bytes, () => record(report));
    if (!done.ok) throw refusalError(done.refusal);
    return reply.code(200).type('application/json').send(JSON.stringify({ emitter_id: report.emitter_id, recorded: done.value }));
  });
}
