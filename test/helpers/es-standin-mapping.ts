// The stand-in's minimal mapping check: a document is refused with a 400 document_parsing_exception when
// a value cannot be parsed as its field's mapped type (long, date, ip, boolean, keyword given an object,
// constant_keyword given another value, an object field given a concrete value), when a `strict` object
// gets an unknown key, or when a dynamically mapped field later gets a value of another kind. It does not
// analyse text, check ranges, or apply ignore_malformed/coerce settings.
import { isIP } from 'node:net';
import { esError, type EsError } from './es-standin-errors.js';

type Json = Record<string, unknown>;
type Dynamic = boolean | 'strict';

export interface FieldTypes {
  /** Leaf fields by dotted path; a constant_keyword without a value takes the first one written. */
  readonly leaves: Map<string, { type: string; value?: unknown }>;
  /** Object fields by dotted path ('' is the root). */
  readonly objects: Map<string, { dynamic: Dynamic; enabled: boolean }>;
}

function walkMapping(types: FieldTypes, props: Json, prefix: string, inherited: Dynamic): void {
  for (const [key, spec] of Object.entries(props)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const s = spec as Json;
    const type = s.type as string | undefined;
    if (s.properties || type === 'object' || type === 'nested' || (!type && !s.properties)) {
      const dynamic = parseDynamic(s.dynamic) ?? inherited;
      types.objects.set(path, { dynamic, enabled: s.enabled !== false });
      if (s.properties) walkMapping(types, s.properties as Json, path, dynamic);
    } else if (type) {
      types.leaves.set(path, s.value === undefined ? { type } : { type, value: s.value });
    }
  }
}

function parseDynamic(d: unknown): Dynamic | undefined {
  if (d === undefined) return undefined;
  if (d === 'strict') return 'strict';
  return d === true || d === 'true' || d === 'runtime';
}

/** Merges the mappings of component templates and the index template, later ones winning. */
export function compileMappings(parts: readonly Json[]): FieldTypes {
  const types: FieldTypes = { leaves: new Map(), objects: new Map() };
  let rootDynamic: Dynamic = true;
  for (const m of parts) rootDynamic = parseDynamic(m.dynamic) ?? rootDynamic;
  types.objects.set('', { dynamic: rootDynamic, enabled: true });
  for (const m of parts) if (m.properties) walkMapping(types, m.properties as Json, '', rootDynamic);
  return types;
}

const preview = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

function leafProblem(type: string, v: unknown, spec: { value?: unknown }): string | undefined {
  const isObj = typeof v === 'object' && v !== null;
  switch (type) {
    case 'long': case 'integer': case 'short': case 'byte': case 'unsigned_long':
    case 'float': case 'double': case 'half_float': case 'scaled_float':
      if (typeof v === 'number' && Number.isFinite(v)) return undefined;
      if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim())) return undefined;
      return `For input string: "${preview(v)}"`;
    case 'date': case 'date_nanos':
      if (typeof v === 'number' || (typeof v === 'string' && !Number.isNaN(Date.parse(v)))) return undefined;
      return `failed to parse date field [${preview(v)}] with format [strict_date_optional_time||epoch_millis]`;
    case 'ip':
      return typeof v === 'string' && isIP(v) !== 0 ? undefined : `'${preview(v)}' is not an IP string literal.`;
    case 'boolean':
      return v === true || v === false || v === 'true' || v === 'false' || v === ''
        ? undefined : `Failed to parse value [${preview(v)}] as only [true] or [false] are allowed.`;
    case 'constant_keyword':
      if (spec.value !== undefined && spec.value !== v) {
        return `[constant_keyword] field only accepts values that are equal to the value defined in the mappings [${preview(spec.value)}], but got [${preview(v)}]`;
      }
      return isObj ? `Can't get text on a START_OBJECT` : undefined;
    case 'flattened':
      return undefined;
    default:
      return isObj ? `Can't get text on a START_OBJECT` : undefined;
  }
}

/** Checks one document; on success records the dynamic fields and constant values it introduced. */
export function checkDocument(types: FieldTypes, id: string, doc: Json): EsError | undefined {
  const learnedLeaves = new Map<string, { type: string; value?: unknown }>();
  const learnedObjects = new Map<string, { dynamic: Dynamic; enabled: boolean }>();
  const fail = (path: string, type: string, v: unknown, cause: string): EsError =>
    esError(400, 'document_parsing_exception',
      `[1:2] failed to parse field [${path}] of type [${type}] in document with id '${id}'. Preview of field's value: '${preview(v)}'`,
      undefined, { type: 'illegal_argument_exception', reason: cause });

  const objectAt = (p: string) => types.objects.get(p) ?? learnedObjects.get(p);
  const leafAt = (p: string) => types.leaves.get(p) ?? learnedLeaves.get(p);

  const visit = (path: string, parent: string, v: unknown): EsError | undefined => {
    if (v === null || v === undefined) return undefined;
    if (Array.isArray(v)) {
      for (const e of v) { const r = visit(path, parent, e); if (r) return r; }
      return undefined;
    }
    const leaf = leafAt(path);
    if (leaf) {
      const problem = leafProblem(leaf.type, v, leaf);
      if (problem) return fail(path, leaf.type, v, problem);
      if (leaf.type === 'constant_keyword' && leaf.value === undefined) learnedLeaves.set(path, { type: leaf.type, value: v });
      return undefined;
    }
    const obj = objectAt(path);
    if (obj) {
      if (!obj.enabled) return undefined;
      if (typeof v !== 'object') {
        return esError(400, 'document_parsing_exception',
          `[1:2] object mapping for [${path}] tried to parse field [${path.split('.').pop()}] as object, but found a concrete value`);
      }
      return walk(v as Json, path);
    }
    const dyn = objectAt(parent)?.dynamic ?? true;
    if (dyn === false) return undefined;
    if (dyn === 'strict') {
      return esError(400, 'strict_dynamic_mapping_exception',
        `[1:2] mapping set to strict, dynamic introduction of [${path.slice(parent ? parent.length + 1 : 0)}] within [${parent || '_doc'}] is not allowed`);
    }
    if (typeof v === 'object') {
      learnedObjects.set(path, { dynamic: true, enabled: true });
      return walk(v as Json, path);
    }
    learnedLeaves.set(path, { type: typeof v === 'number' ? (Number.isInteger(v) ? 'long' : 'float') : typeof v === 'boolean' ? 'boolean' : 'keyword' });
    return undefined;
  };

  const walk = (obj: Json, prefix: string): EsError | undefined => {
    for (const key in obj) {
      let parent = prefix;
      let last = key;
      // Dotted keys ("a.b": 1) are the same field as nested objects in Elasticsearch.
      if (key.includes('.')) {
        const parts = key.split('.');
        last = parts.pop() ?? key;
        for (const part of parts) {
          const p = parent ? `${parent}.${part}` : part;
          if (!objectAt(p)) learnedObjects.set(p, { dynamic: objectAt(parent)?.dynamic ?? true, enabled: true });
          parent = p;
        }
      }
      const r = visit(parent ? `${parent}.${last}` : last, parent, obj[key]);
      if (r) return r;
    }
    return undefined;
  };

  const problem = walk(doc, '');
  if (problem) return problem;
  for (const [k, v] of learnedObjects) types.objects.set(k, v);
  for (const [k, v] of learnedLeaves) types.leaves.set(k, v);
  return undefined;
}
