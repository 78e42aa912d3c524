// What the Elasticsearch stand-in (es-standin.ts) keeps: composable index templates, component templates,
// data streams and plain indices with their documents, and the resolution of a target name to the
// template that configures it (highest priority among matching patterns, as Elasticsearch does).
import { esError, type EsError } from './es-standin-errors.js';
import { compileMappings, type FieldTypes } from './es-standin-mapping.js';

export type Json = Record<string, unknown>;

export interface Target {
  readonly name: string;
  readonly dataStream: boolean;
  /** The backing index of a data stream (`.ds-<name>-<date>-000001`), or the index itself. */
  readonly writeIndex: string;
  readonly uuid: string;
  readonly template: string | undefined;
  readonly fields: FieldTypes;
  /**
   * Documents by _id as the source line arrived (parsed and checked on arrival, parsed again when read):
   * a million parsed documents kept as object trees made the stand-in's own garbage collection its main cost.
   */
  /** Sources by _id, as the UTF-8 bytes they arrived as (null when the stand-in keeps no sources). */
  readonly docs: Map<string, Buffer | null>;
  seqNo: number;
}

let uuidCounter = 0;
const fakeUuid = (): string => `standin${(++uuidCounter).toString(36).padStart(15, '0')}`;

export function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(name);
}

function patternsOverlap(a: readonly string[], b: readonly string[]): boolean {
  // Close enough to Elasticsearch's automaton intersection for the templates tests install.
  const probe = (p: string): string => p.replaceAll('*', 'x');
  return a.some((pa) => b.some((pb) => globMatch(pa, probe(pb)) || globMatch(pb, probe(pa))));
}

/** The built-in `logs` template of every Elasticsearch since 7.9: logs-*-* at priority 100. */
const BUILT_IN_LOGS: Json = {
  index_patterns: ['logs-*-*'],
  priority: 100,
  data_stream: { hidden: false, allow_custom_routing: false },
  composed_of: [],
  template: { mappings: { properties: { '@timestamp': { type: 'date' }, message: { type: 'match_only_text' } } } },
  _meta: { description: 'default logs template installed by x-pack', managed: true },
  allow_auto_create: true,
};

export class EsState {
  readonly indexTemplates = new Map<string, Json>([['logs', BUILT_IN_LOGS]]);
  readonly componentTemplates = new Map<string, Json>();
  readonly targets = new Map<string, Target>();

  putIndexTemplate(name: string, body: Json, createOnly: boolean): EsError | undefined {
    if (createOnly && this.indexTemplates.has(name)) {
      return esError(400, 'illegal_argument_exception', `index template [${name}] already exists`);
    }
    const patterns = body.index_patterns;
    const list = typeof patterns === 'string' ? [patterns] : patterns;
    if (!Array.isArray(list) || list.length === 0) {
      return esError(400, 'action_request_validation_exception', 'Validation Failed: 1: index patterns are missing;');
    }
    const optional = (body.ignore_missing_component_templates as string[] | undefined) ?? [];
    const missing = ((body.composed_of as string[] | undefined) ?? []).filter((c) => !this.componentTemplates.has(c) && !optional.includes(c));
    if (missing.length > 0) {
      return esError(400, 'invalid_index_template_exception',
        `index_template [${name}] invalid, cause [index template [${name}] specifies component templates [${missing.join(', ')}] that do not exist]`);
    }
    const priority = Number(body.priority ?? 0);
    for (const [other, tpl] of this.indexTemplates) {
      if (other === name || Number(tpl.priority ?? 0) !== priority) continue;
      if (patternsOverlap(list as string[], tpl.index_patterns as string[])) {
        return esError(400, 'illegal_argument_exception',
          `index template [${name}] has index patterns [${list.join(', ')}] matching patterns from existing templates [${other}] with patterns (${other} => [${(tpl.index_patterns as string[]).join(', ')}]) that have the same priority [${priority}], multiple index templates may not match during index creation, please use a different priority`);
      }
    }
    this.indexTemplates.set(name, { ...body, index_patterns: list });
    return undefined;
  }

  putComponentTemplate(name: string, body: Json, createOnly: boolean): EsError | undefined {
    if (createOnly && this.componentTemplates.has(name)) {
      return esError(400, 'illegal_argument_exception', `component template [${name}] already exists`);
    }
    if (typeof body.template !== 'object' || body.template === null) {
      return esError(400, 'x_content_parse_exception', '[1:2] [component_template] failed to parse field [template]: template is required');
    }
    this.componentTemplates.set(name, body);
    return undefined;
  }

  /** The template Elasticsearch would apply to a new index or data stream of this name. */
  matchTemplate(name: string): [string, Json] | undefined {
    let best: [string, Json] | undefined;
    for (const entry of this.indexTemplates) {
      const patterns = entry[1].index_patterns as string[];
      if (!patterns.some((p) => globMatch(p, name))) continue;
      if (!best || Number(entry[1].priority ?? 0) > Number(best[1].priority ?? 0)) best = entry;
    }
    return best;
  }

  private mappingsOf(template: Json): Json[] {
    const parts: Json[] = [];
    for (const c of (template.composed_of as string[] | undefined) ?? []) {
      const m = ((this.componentTemplates.get(c)?.template as Json | undefined)?.mappings) as Json | undefined;
      if (m) parts.push(m);
    }
    const own = (template.template as Json | undefined)?.mappings as Json | undefined;
    if (own) parts.push(own);
    return parts;
  }

  /** Creates a data stream (explicitly, or on the first write) from its matching data-stream template. */
  createDataStream(name: string): Target | EsError {
    if (this.targets.has(name)) {
      return esError(400, 'resource_already_exists_exception', `data_stream [${name}] already exists`);
    }
    const match = this.matchTemplate(name);
    if (!match) return esError(400, 'illegal_argument_exception', `no matching index template found for data stream [${name}]`);
    if (!match[1].data_stream) {
      return esError(400, 'illegal_argument_exception', `matching index template [${match[0]}] for data stream [${name}] has no data stream template`);
    }
    return this.addTarget(name, true, match);
  }

  /** The target a bulk write lands in, auto-created as Elasticsearch does when it does not exist yet. */
  resolveForWrite(name: string, requireDataStream: boolean): Target | EsError {
    const existing = this.targets.get(name) ?? [...this.targets.values()].find((t) => t.writeIndex === name);
    if (existing) {
      if (requireDataStream && !existing.dataStream) {
        return esError(400, 'illegal_argument_exception', `only write ops to a data stream are allowed, but [${name}] is an index`);
      }
      return existing;
    }
    const match = this.matchTemplate(name);
    if (match?.[1].data_stream) return this.addTarget(name, true, match);
    if (requireDataStream) {
      return esError(404, 'index_not_found_exception',
        'the index creation request requires a data stream, but no matching index template with data stream template was found for it', name);
    }
    return this.addTarget(name, false, match);
  }

  private addTarget(name: string, dataStream: boolean, match: [string, Json] | undefined): Target {
    const day = new Date().toISOString().slice(0, 10).replaceAll('-', '.');
    const target: Target = {
      name,
      dataStream,
      writeIndex: dataStream ? `.ds-${name}-${day}-000001` : name,
      uuid: fakeUuid(),
      template: match?.[0],
      fields: compileMappings(match ? this.mappingsOf(match[1]) : []),
      docs: new Map(),
      seqNo: 0,
    };
    this.targets.set(name, target);
    return target;
  }

  dataStreamInfo(t: Target): Json {
    return {
      name: t.name,
      timestamp_field: { name: '@timestamp' },
      indices: [{ index_name: t.writeIndex, index_uuid: t.uuid, prefer_ilm: true, managed_by: 'Unmanaged' }],
      generation: 1,
      status: 'GREEN',
      template: t.template,
      next_generation_managed_by: 'Unmanaged',
      prefer_ilm: true,
      hidden: false,
      system: false,
      allow_custom_routing: false,
      replicated: false,
      rollover_on_write: false,
    };
  }
}
