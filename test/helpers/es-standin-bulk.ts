// The stand-in's _bulk: NDJSON action/source pairs, answered item by item in order, as Elasticsearch 9
// does: `create` with an _id answers 201 created or 409 version_conflict_engine_exception; data streams
// take only `create` and need an @timestamp; injected per-item faults answer 429 / 400 / 503.
import { esError, rejectedItem, type EsError } from './es-standin-errors.js';
import type { ResponseFilter } from './es-standin-filter.js';
import { checkDocument } from './es-standin-mapping.js';
import type { EsState, Json, Target } from './es-standin-state.js';

/** An injected per-item fault: the status, and for 400 the error type to report. */
export type ItemFault = 429 | 400 | 503 | { status: 400; type: 'mapper_parsing_exception' | 'document_parsing_exception' };

export interface BulkHooks {
  /** Decides a fault for this item attempt, or undefined to process it normally. */
  itemFault(id: string | undefined, index: string): ItemFault | undefined;
  /** Called for every item attempt with the status answered. */
  onItem(id: string | undefined, index: string, status: number): void;
  pipelines: ReadonlySet<string>;
  /** Run the minimal mapping check on every document (off for benchmarks, where it would dominate). */
  checkMappings: boolean;
  /** Keep each document's bytes (off for benchmarks: only the _id is kept). */
  keepSources: boolean;
}

export interface BulkParams {
  readonly defaultIndex: string | undefined;
  readonly requireDataStream: boolean;
  readonly pipeline: string | undefined;
  /** `filter_path`: the answer is built as objects and filtered; without it, written as text. */
  readonly filter?: ResponseFilter;
}

let autoId = 0;

function faultError(fault: ItemFault, id: string): Record<string, unknown> {
  if (fault === 429) return rejectedItem();
  if (fault === 503) return { type: 'unavailable_shards_exception', reason: '[.ds][0] primary shard is not active Timeout: [1m]' };
  const type = typeof fault === 'object' ? fault.type : 'document_parsing_exception';
  return {
    type,
    reason: `[1:2] failed to parse field [tunnelwatch.injected] of type [long] in document with id '${id}'. Preview of field's value: 'injected'`,
    caused_by: { type: 'illegal_argument_exception', reason: 'For input string: "injected"' },
  };
}

/** An item's answer: JSON text, or the object when the answer is filtered. */
type ItemAnswer = string | Json;

function itemError(op: string, index: string, id: string | undefined, status: number, error: Record<string, unknown>): Json {
  return { [op]: { _index: index, _id: id ?? null, status, error } };
}

/** JSON string literals of index names, made once per name (every item of a bulk names one). */
const quoted = new Map<string, string>();
function quote(s: string): string {
  let q = quoted.get(s);
  if (q === undefined) {
    q = JSON.stringify(s);
    if (quoted.size < 10_000) quoted.set(s, q);
  }
  return q;
}

/** The answer to one item; a success as JSON text unless `asObject` (the answers are written as text, not as objects to stringify). */
function writeOne(t: Target, op: string, id: string | undefined, doc: Json, source: (() => Buffer) | undefined, check: boolean, asObject: boolean): { item: ItemAnswer; status: number } {
  const docId = id ?? `auto${(++autoId).toString(36)}`;
  const exists = t.docs.has(docId);
  if (op === 'create' && exists) {
    return {
      status: 409,
      item: itemError(op, t.writeIndex, docId, 409, {
        type: 'version_conflict_engine_exception',
        reason: `[${docId}]: version conflict, document already exists (current version [1])`,
        index_uuid: t.uuid, shard: '0', index: t.writeIndex,
      }),
    };
  }
  const problem = check ? checkDocument(t.fields, docId, doc) : undefined;
  if (problem) return { status: problem.status, item: itemError(op, t.writeIndex, docId, problem.status, problem.error) };
  t.docs.set(docId, source ? source() : null);
  const status = exists ? 200 : 201;
  const result = exists ? 'updated' : 'created';
  // The same answer twice, as an object to filter and as text (no object per item when nothing is
  // filtered); keep the two alike.
  if (asObject) {
    return {
      status,
      item: { [op]: { _index: t.writeIndex, _id: docId, _version: 1, result, _shards: { total: 2, successful: 1, failed: 0 }, _seq_no: t.seqNo++, _primary_term: 1, status } },
    };
  }
  return {
    status,
    item: `{${quote(op)}:{"_index":${quote(t.writeIndex)},"_id":${JSON.stringify(docId)},"_version":1,"result":"${result}","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":${t.seqNo++},"_primary_term":1,"status":${status}}}`,
  };
}

/**
 * The lines of an NDJSON body, each decoded on its own (a non-ASCII character makes only its own line a
 * two-byte string), and each line's bytes: a stored document is kept as its bytes, a view of the body, so
 * that thousands of them do not sit in the JavaScript heap for the garbage collector to walk again and again.
 */
function linesOf(body: Buffer | string): { text: string[]; bytes(i: number): Buffer } {
  if (typeof body === 'string') {
    const text = body.split('\n');
    if (text[text.length - 1] === '') text.pop();
    return { text, bytes: (i) => Buffer.from(text[i] ?? '', 'utf8') };
  }
  const text: string[] = [];
  const starts: number[] = [];
  const utf8 = (body as unknown as { utf8Slice(start: number, end: number): string }).utf8Slice.bind(body);
  for (let at = 0; at < body.length;) {
    let nl = body.indexOf(0x0a, at);
    if (nl < 0) nl = body.length;
    text.push(utf8(at, nl));
    starts.push(at);
    at = nl + 1;
  }
  return { text, bytes: (i) => body.subarray(starts[i], (starts[i + 1] ?? body.length + 1) - 1) };
}

/** The answer to a bulk body, as JSON text (the keys in Elasticsearch's order: errors first). */
export interface BulkAnswer {
  readonly errors: boolean;
  readonly text: string;
}

/** Runs one bulk body; returns the answer or a whole-request error (e.g. a missing final newline). */
export function runBulk(state: EsState, body: Buffer | string, params: BulkParams, hooks: BulkHooks): BulkAnswer | EsError {
  const last = typeof body === 'string' ? body.charCodeAt(body.length - 1) : body[body.length - 1];
  if (body.length > 0 && last !== 0x0a) {
    return esError(400, 'illegal_argument_exception', 'The bulk request must be terminated by a newline [\\n]');
  }
  const { text: lines, bytes } = linesOf(body);
  const started = process.hrtime.bigint();
  const items: ItemAnswer[] = [];
  let errors = false;
  for (let i = 0; i < lines.length; i++) {
    let action: Json;
    try {
      action = JSON.parse(lines[i] ?? '') as Json;
    } catch {
      return esError(400, 'x_content_parse_exception', `[${i + 1}:1] Unexpected character in bulk action line`);
    }
    const op = Object.keys(action)[0] ?? '';
    const meta = (action[op] ?? {}) as Json;
    const hasSource = op !== 'delete';
    const sourceAt = hasSource ? ++i : -1;
    const sourceLine = hasSource ? lines[sourceAt] : undefined;
    if (op !== 'create' && op !== 'index' && op !== 'delete' && op !== 'update') {
      return esError(400, 'illegal_argument_exception', `Malformed action/metadata line [${i + 1}], expected one of [create, delete, index, update] but found [${op}]`);
    }
    const id = meta._id === undefined ? undefined : String(meta._id);
    const indexName = (meta._index as string | undefined) ?? params.defaultIndex;
    const push = (item: ItemAnswer, status: number): void => {
      items.push(item);
      if (status >= 300) errors = true;
      hooks.onItem(id, indexName ?? '', status);
    };
    if (!indexName) {
      push(itemError(op, '', id, 400, { type: 'action_request_validation_exception', reason: 'Validation Failed: 1: index is missing;' }), 400);
      continue;
    }
    const fault = hooks.itemFault(id, indexName);
    if (fault !== undefined) {
      const status = typeof fault === 'object' ? fault.status : fault;
      push(itemError(op, indexName, id, status, faultError(fault, id ?? '')), status);
      continue;
    }
    const pipeline = (meta.pipeline as string | undefined) ?? params.pipeline;
    if (pipeline !== undefined && pipeline !== '_none' && !hooks.pipelines.has(pipeline)) {
      push(itemError(op, indexName, id, 400, { type: 'illegal_argument_exception', reason: `pipeline with id [${pipeline}] does not exist` }), 400);
      continue;
    }
    const target = state.resolveForWrite(indexName, params.requireDataStream || meta.require_data_stream === true);
    if ('error' in target) {
      push(itemError(op, indexName, id, target.status, target.error as Record<string, unknown>), target.status);
      continue;
    }
    if (target.dataStream && op !== 'create') {
      push(itemError(op, target.writeIndex, id, 400, {
        type: 'illegal_argument_exception',
        reason: `only write ops with an op_type of create are allowed in data streams`,
      }), 400);
      continue;
    }
    if (op === 'delete' || op === 'update') {
      push(itemError(op, target.writeIndex, id, 400, { type: 'illegal_argument_exception', reason: `the stand-in does not implement ${op}` }), 400);
      continue;
    }
    let doc: Json;
    try {
      doc = JSON.parse(sourceLine ?? '') as Json;
    } catch {
      push(itemError(op, target.writeIndex, id, 400, { type: 'document_parsing_exception', reason: '[1:1] failed to parse: source is not valid JSON' }), 400);
      continue;
    }
    if (target.dataStream && (doc['@timestamp'] === undefined || doc['@timestamp'] === null)) {
      push(itemError(op, target.writeIndex, id, 400, {
        type: 'document_parsing_exception',
        reason: '[1:2] failed to parse: data stream timestamp field [@timestamp] is missing',
        caused_by: { type: 'illegal_argument_exception', reason: 'data stream timestamp field [@timestamp] is missing' },
      }), 400);
      continue;
    }
    const result = writeOne(target, op, id, doc, hooks.keepSources ? () => bytes(sourceAt) : undefined, hooks.checkMappings, params.filter !== undefined);
    push(result.item, result.status);
  }
  const took = Number((process.hrtime.bigint() - started) / 1_000_000n);
  if (params.filter) return { errors, text: JSON.stringify(params.filter({ errors, took, items })) };
  const texts = items.map((i) => (typeof i === 'string' ? i : JSON.stringify(i)));
  return { errors, text: `{"errors":${errors},"took":${took},"items":[${texts.join(',')}]}` };
}
