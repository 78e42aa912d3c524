// What the JSON ingest routes share (/v1/rules, /v1/checks, /v1/ops): the media type and body checks,
// parsing against a strict schema, and the reason a refused body gets, naming the field in the sender's
// terms (reports[1].steps[0].outcome), not ajv's.
import type { TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import type { FastifyRequest } from 'fastify';
import { IngestError } from '../ingest-error.js';
import { decodedBody, mediaType } from '../request-body.js';
import type { IngestContext } from './ingest-context.js';

const ajv = new Ajv({ allErrors: false, strict: false });

/** The path of a schema error as the sender would write it: body, or a.b[1].c. */
export function errorPath(e: ErrorObject): string {
  return e.instancePath === '' ? 'body' : e.instancePath.slice(1).replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.');
}

/** One schema error as a sentence; `special` may word some errors better for its schema. */
export function describeSchemaError(e: ErrorObject | undefined, schemaName: string, special?: (e: ErrorObject, at: string) => string | undefined): string {
  if (!e) return `the body does not match ${schemaName}`;
  const at = errorPath(e);
  const worded = special?.(e, at);
  if (worded) return worded;
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return `${at}: unknown field ${JSON.stringify(p.additionalProperty)}`;
  if (e.keyword === 'required') return `${at}: missing field ${JSON.stringify(p.missingProperty)}`;
  if (e.keyword === 'const') return `${at}: must be ${JSON.stringify(p.allowedValue)}`;
  if (e.keyword === 'anyOf') return `${at}: not one of the allowed values or types`;
  return `${at}: ${e.message ?? 'is not valid'}`;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface JsonParserOptions<T> {
  readonly schema: TSchema;
  readonly schemaName: string;
  /** Checks the schema cannot express (hashes, uniqueness); the reason, or undefined. */
  readonly problem?: (value: T) => string | undefined;
  /** Which of ajv's errors to report (default the first). */
  readonly pick?: (errors: readonly ErrorObject[]) => ErrorObject | undefined;
  readonly special?: (e: ErrorObject, at: string) => string | undefined;
}

/** A parser of request text into a value of the schema, or the reason it is refused. */
export function jsonParser<T>(o: JsonParserOptions<T>): (text: string) => Parsed<T> {
  const validate = ajv.compile(o.schema);
  return (text) => {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      return { ok: false, reason: `the body is not JSON: ${(err as Error).message}` };
    }
    if (!validate(body)) {
      const errors = validate.errors ?? [];
      return { ok: false, reason: describeSchemaError(o.pick ? o.pick(errors) : errors[0], o.schemaName, o.special) };
    }
    const value = body as T;
    const problem = o.problem?.(value);
    return problem === undefined ? { ok: true, value } : { ok: false, reason: problem };
  };
}

/** The request's JSON text (gunzipped if sent so, within the body limit), or a 415/413/400 refusal. */
export async function jsonRequestText(request: FastifyRequest, ctx: IngestContext): Promise<{ text: string; bytes: number }> {
  if (mediaType(request.headers['content-type']) !== 'application/json') {
    throw new IngestError('TW_ERR_INGEST_UNSUPPORTED_MEDIA_TYPE', `Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')} is not JSON; send application/json`);
  }
  const body = await decodedBody(request.body, request.headers['content-encoding'], ctx.maxBodyBytes);
  return { text: body.toString('utf8'), bytes: body.length };
}

/** Parses the request's body, refusing it with 400 and the reason when it is not valid. */
export async function parsedJsonBody<T>(request: FastifyRequest, ctx: IngestContext, parse: (text: string) => Parsed<T>): Promise<{ value: T; bytes: number }> {
  const { text, bytes } = await jsonRequestText(request, ctx);
  const parsed = parse(text);
  if (!parsed.ok) throw new IngestError('TW_ERR_INGEST_MALFORMED', parsed.reason);
  return { value: parsed.value, bytes };
}
