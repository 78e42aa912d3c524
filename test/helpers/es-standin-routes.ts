// The REST endpoints the Elasticsearch stand-in answers, each as Elasticsearch 9 shapes its answer.
// Anything else gets Elasticsearch's "no handler found" 400.
import { runBulk, type BulkHooks } from './es-standin-bulk.js';
import { esError, errorBody, isEsError, type EsError } from './es-standin-errors.js';
import type { ResponseFilter } from './es-standin-filter.js';
import type { EsState, Json } from './es-standin-state.js';

export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  /** The body already as JSON text (the _bulk answer, written item by item), instead of `body`. */
  readonly text?: string;
}

export interface RouteRequest {
  readonly method: string;
  readonly segments: readonly string[];
  readonly query: URLSearchParams;
  readonly body: string;
  /** The body's bytes, for _bulk: its lines are decoded one by one. */
  readonly raw?: Buffer;
  /** `filter_path` of the request (es-standin-filter.ts). */
  readonly filter?: ResponseFilter;
}

export const ES_VERSION = '9.1.5';

const ok = (body: unknown, status = 200): Reply => ({ status, body });
const fail = (e: EsError): Reply => ({ status: e.status, body: errorBody(e) });
const ACK = { acknowledged: true };

function parseJson(body: string): Json | EsError {
  try {
    const v: unknown = body.trim() === '' ? {} : JSON.parse(body);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Json;
  } catch { /* answered below */ }
  return esError(400, 'x_content_parse_exception', '[1:1] request body is not a JSON object');
}

export function info(): Json {
  return {
    name: 'es-standin', cluster_name: 'tunnelwatch-test', cluster_uuid: 'c0ffee00standin000000',
    version: {
      number: ES_VERSION, build_flavor: 'default', build_type: 'tar', build_hash: 'standin', build_date: '2025-01-01T00:00:00.000Z',
      build_snapshot: false, lucene_version: '10.2.2', minimum_wire_compatibility_version: '8.19.0', minimum_index_compatibility_version: '8.0.0',
    },
    tagline: 'You Know, for Search',
  };
}

/** Whether a request changes the cluster (a read-only principal is refused those with 403). */
export function isWrite(method: string, segments: readonly string[]): boolean {
  return method === 'PUT' || method === 'DELETE' || (method === 'POST' && segments.includes('_bulk'));
}

function templates(state: EsState, r: RouteRequest, kind: 'index' | 'component'): Reply {
  const map = kind === 'index' ? state.indexTemplates : state.componentTemplates;
  const name = r.segments[1];
  const label = kind === 'index' ? 'index template' : 'component template';
  if ((r.method === 'PUT' || r.method === 'POST') && name) {
    const body = parseJson(r.body);
    if (isEsError(body)) return fail(body);
    const createOnly = r.query.get('create') === 'true';
    const err = kind === 'index' ? state.putIndexTemplate(name, body, createOnly) : state.putComponentTemplate(name, body, createOnly);
    return err ? fail(err) : ok(ACK);
  }
  const names = name ? [...map.keys()].filter((n) => name.split(',').some((p) => p === n || (p.includes('*') && new RegExp(`^${p.replaceAll('*', '.*')}$`).test(n)))) : [...map.keys()];
  if (r.method === 'HEAD') return { status: name && names.length === 0 ? 404 : 200 };
  if (r.method === 'DELETE' && name) {
    if (!map.delete(name)) return fail(esError(404, 'resource_not_found_exception', `${label} matching [${name}] not found`));
    return ok(ACK);
  }
  if (r.method === 'GET') {
    if (name && names.length === 0) return fail(esError(404, 'resource_not_found_exception', `${label} matching [${name}] not found`));
    return kind === 'index'
      ? ok({ index_templates: names.map((n) => ({ name: n, index_template: map.get(n) })) })
      : ok({ component_templates: names.map((n) => ({ name: n, component_template: map.get(n) })) });
  }
  return noHandler(r);
}

function dataStreams(state: EsState, r: RouteRequest): Reply {
  const name = r.segments[1];
  if (r.method === 'PUT' && name) {
    const result = state.createDataStream(name);
    return isEsError(result) ? fail(result) : ok(ACK);
  }
  const all = [...state.targets.values()].filter((t) => t.dataStream);
  const wanted = !name || name === '*' || name === '_all' ? all : all.filter((t) => name.split(',').includes(t.name));
  if (r.method === 'GET') {
    if (name && !name.includes('*') && wanted.length === 0) return fail(esError(404, 'index_not_found_exception', `no such index [${name}]`, name));
    return ok({ data_streams: wanted.map((t) => state.dataStreamInfo(t)) });
  }
  if (r.method === 'DELETE' && name) {
    if (wanted.length === 0) return fail(esError(404, 'index_not_found_exception', `no such index [${name}]`, name));
    for (const t of wanted) state.targets.delete(t.name);
    return ok(ACK);
  }
  return noHandler(r);
}

function noHandler(r: RouteRequest): Reply {
  return ok({ error: `no handler found for uri [/${r.segments.join('/')}] and method [${r.method}]` }, 400);
}

function targetsOf(state: EsState, name: string) {
  return [...state.targets.values()].filter((t) => name === '_all' || name.split(',').some((n) => n === t.name || n === t.writeIndex));
}

export function route(state: EsState, r: RouteRequest, hooks: BulkHooks & { putPipeline(id: string): void }): Reply {
  const [first, second, third] = r.segments;
  if (!first) return r.method === 'HEAD' ? { status: 200 } : ok(info());
  if (first === '_index_template') return templates(state, r, 'index');
  if (first === '_component_template') return templates(state, r, 'component');
  if (first === '_data_stream') return dataStreams(state, r);
  if (first === '_cluster' && second === 'health') return ok({ cluster_name: 'tunnelwatch-test', status: 'green', timed_out: false, number_of_nodes: 1 });
  if (first === '_ingest' && second === 'pipeline' && third && r.method === 'PUT') {
    hooks.putPipeline(third);
    return ok(ACK);
  }
  const bulkAt = r.segments.indexOf('_bulk');
  if (bulkAt >= 0 && (r.method === 'POST' || r.method === 'PUT')) {
    const result = runBulk(state, r.raw ?? r.body, {
      defaultIndex: bulkAt === 1 ? first : undefined,
      requireDataStream: r.query.get('require_data_stream') === 'true',
      pipeline: r.query.get('pipeline') ?? undefined,
      ...(r.filter ? { filter: r.filter } : {}),
    }, hooks);
    return isEsError(result) ? fail(result) : { status: 200, text: result.text };
  }
  if (second === '_refresh' || first === '_refresh') {
    return ok({ _shards: { total: 1, successful: 1, failed: 0 } });
  }
  if (second === '_count') {
    return ok({ count: targetsOf(state, first).reduce((n, t) => n + t.docs.size, 0), _shards: { total: 1, successful: 1, skipped: 0, failed: 0 } });
  }
  if (second === '_doc' && third && r.method === 'GET') {
    const t = targetsOf(state, first).find((x) => x.docs.has(third));
    if (!t) return ok({ _index: first, _id: third, found: false }, 404);
    return ok({ _index: t.writeIndex, _id: third, _version: 1, _seq_no: 0, _primary_term: 1, found: true, _source: JSON.parse(t.docs.get(third)?.toString('utf8') ?? 'null') as unknown });
  }
  return noHandler(r);
}
