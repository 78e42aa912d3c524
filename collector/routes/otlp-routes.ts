// OTLP/HTTP receiver: POST /v1/traces and /v1/logs, protobuf or JSON, optionally gzip, as the OTLP
// specification defines them. 200 only after the store committed; invalid spans that can be skipped are
// reported as OTLP partial success; a body that is not a valid request is refused whole with 400.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { IngestError, refusalError } from '../ingest-error.js';
import { logRows } from '../otlp/log-rows.js';
import { otlpProtobuf } from '../otlp/otlp-protobuf.js';
import { JSON_ENCODING, OtlpFormatError, PROTOBUF, type Encoding } from '../otlp/otlp-values.js';
import { spanRows } from '../otlp/span-rows.js';
import { decodedBody, mediaType } from '../request-body.js';
import type { IngestContext } from './ingest-context.js';

export const OTLP_MEDIA_TYPES = ['application/x-protobuf', 'application/json'] as const;

/** Which encoding a request uses; error responses follow it too. */
export function otlpEncodingOf(request: FastifyRequest): Encoding | undefined {
  const type = mediaType(request.headers['content-type']);
  return type === 'application/x-protobuf' ? PROTOBUF : type === 'application/json' ? JSON_ENCODING : undefined;
}

function parseJson(body: Buffer): unknown {
  const text = body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new OtlpFormatError(`not JSON: ${(err as Error).message}`);
  }
}

async function decode<T>(request: FastifyRequest, ctx: IngestContext, protobuf: (b: Buffer) => unknown, map: (message: unknown, enc: Encoding) => T): Promise<{ result: T; bytes: number; enc: Encoding }> {
  const enc = otlpEncodingOf(request);
  if (!enc) {
    throw new IngestError('TW_ERR_INGEST_UNSUPPORTED_MEDIA_TYPE', `Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')} is not OTLP; send application/x-protobuf or application/json`);
  }
  const body = await decodedBody(request.body, request.headers['content-encoding'], ctx.maxBodyBytes);
  try {
    const message = enc === PROTOBUF ? protobuf(body) : parseJson(body);
    return { result: map(message, enc), bytes: body.length, enc };
  } catch (err) {
    if (err instanceof OtlpFormatError) throw new IngestError('TW_ERR_INGEST_MALFORMED', err.describe(), { cause: err });
    throw err;
  }
}

function reply200(reply: FastifyReply, enc: Encoding, protobuf: Uint8Array, json: object): FastifyReply {
  return enc === PROTOBUF
    ? reply.code(200).type('application/x-protobuf').send(Buffer.from(protobuf))
    : reply.code(200).type('application/json').send(JSON.stringify(json));
}

export async function otlpRoutes(app: FastifyInstance, ctx: IngestContext): Promise<void> {
  const pb = otlpProtobuf();

  app.post('/v1/traces', { config: { ingest: 'otlp' } }, async (request, reply) => {
    const { result, bytes, enc } = await decode(request, ctx, (b) => pb.decodeTraces(b), spanRows);
    const { rows } = result;
    let expired = 0;
    if (rows.length > 0) {
      const done = await ctx.queue.submit(rows.length, bytes, () => ctx.store.insertSpans(rows));
      if (!done.ok) throw refusalError(done.refusal);
      expired = done.value.expired;
      ctx.queue.accepted('spans', rows.length - expired);
    }
    const rejected = result.rejected + expired;
    if (rejected === 0) return reply200(reply, enc, pb.traceResponse(0, ''), {});
    ctx.queue.partiallyRejected('spans', rejected);
    const message = [
      result.rejected > 0 ? `${result.rejected} span(s) without a valid trace id or span id (first: ${result.rejection})` : '',
      expired > 0 ? `${expired} span(s) older than the otel_traces retention (store.retention_days.otel_traces)` : '',
    ].filter(Boolean).join('; ') + ' were not stored';
    return reply200(reply, enc, pb.traceResponse(rejected, message), { partialSuccess: { rejectedSpans: String(rejected), errorMessage: message } });
  });

  app.post('/v1/logs', { config: { ingest: 'otlp' } }, async (request, reply) => {
    const receivedNs = BigInt(Date.now()) * 1_000_000n;
    const { result: rows, bytes, enc } = await decode(request, ctx, (b) => pb.decodeLogs(b), (m, e) => logRows(m, e, receivedNs));
    let expired = 0;
    if (rows.length > 0) {
      const done = await ctx.queue.submit(rows.length, bytes, () => ctx.store.insertLogs(rows));
      if (!done.ok) throw refusalError(done.refusal);
      expired = done.value.expired;
      ctx.queue.accepted('logs', rows.length - expired);
    }
    if (expired === 0) return reply200(reply, enc, pb.logsResponse(0, ''), {});
    ctx.queue.partiallyRejected('logs', expired);
    const message = `${expired} log record(s) older than the otel_logs retention (store.retention_days.otel_logs) were not stored`;
    return reply200(reply, enc, pb.logsResponse(expired, message), { partialSuccess: { rejectedLogRecords: String(expired), errorMessage: message } });
  });
}
