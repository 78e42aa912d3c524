// POST /v1/audit: a batch of audit events as NDJSON (optionally gzip), from the relay's and the
// connector's shippers or `tunnelwatch ingest`. All or nothing: one bad line refuses the batch with 400
// naming the line; 200 {"accepted":n,"duplicates":d} only once the store has committed all of it.
import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { parseAuditBatch } from '../audit-batch.js';
import { requireEmitter } from '../ingest-auth.js';
import { IngestError, refusalError } from '../ingest-error.js';
import type { AuditRecord } from '../ingest-store.js';
import { decodedBody, mediaType } from '../request-body.js';
import type { IngestContext } from './ingest-context.js';

export const AUDIT_MEDIA_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines'] as const;
const ACCEPTED = new Set<string>(AUDIT_MEDIA_TYPES);

/** The batch without repeats of an event_id, and how many repeats there were. */
function uniqueById(events: AuditRecord[]): { unique: AuditRecord[]; repeats: number } {
  const seen = new Set<string>();
  const unique: AuditRecord[] = [];
  for (const e of events) {
    if (seen.has(e.event_id)) continue;
    seen.add(e.event_id);
    unique.push(e);
  }
  return { unique, repeats: events.length - unique.length };
}

/** The 1-based number of the first line of `body` that is not UTF-8 (only asked once the body is known not to be). */
function firstNonUtf8Line(body: Buffer): number {
  let line = 1;
  for (let start = 0; start < body.length; line++) {
    let end = body.indexOf(0x0a, start);
    if (end === -1) end = body.length;
    if (!isUtf8(body.subarray(start, end))) return line;
    start = end + 1;
  }
  return line;
}

export async function auditRoute(app: FastifyInstance, ctx: IngestContext): Promise<void> {
  app.post('/v1/audit', { config: { ingest: 'audit' } }, async (request, reply) => {
    if (!ACCEPTED.has(mediaType(request.headers['content-type']))) {
      throw new IngestError('TW_ERR_INGEST_UNSUPPORTED_MEDIA_TYPE', `Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')} is not NDJSON; send application/x-ndjson`);
    }
    const body = await decodedBody(request.body, request.headers['content-encoding'], ctx.maxBodyBytes);
    // Checked as bytes: decoding would turn what is not UTF-8 into U+FFFD and store the event altered.
    if (!isUtf8(body)) throw new IngestError('TW_ERR_INGEST_MALFORMED', 'not valid UTF-8', { line: firstNonUtf8Line(body) });
    const batch = parseAuditBatch(body.toString('utf8'));
    if (!batch.ok) throw new IngestError('TW_ERR_INGEST_MALFORMED', batch.reason, { line: batch.line });
    // All or nothing here too: one event in another emitter's name refuses the batch. A token bound to no
    // emitters may send for any, so its batches are not walked at all (this is the hot ingest path).
    const holder = request.ingestHolder;
    if (holder?.emitters) batch.events.forEach((e, i) => requireEmitter(holder, String(e.emitter_id), `line ${i + 1}`));
    const { unique, repeats } = uniqueById(batch.events);
    let duplicates = repeats;
    if (unique.length > 0) {
      const done = await ctx.queue.submit(unique.length, body.length, () => ctx.store.insertAudit(unique));
      if (!done.ok) throw refusalError(done.refusal);
      duplicates += done.value.duplicates;
    }
    ctx.queue.accepted('audit', batch.events.length - duplicates, duplicates);
    return reply.code(200).type('application/json').send(JSON.stringify({ accepted: batch.events.length, duplicates }));
  });
}
