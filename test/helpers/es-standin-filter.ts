// Response filtering (`filter_path`) as Elasticsearch does it, for the stand-in: a comma-separated list
// of dotted paths; a segment may hold `*` wildcards (`items.*.status`), `**` matches any number of levels;
// arrays are transparent (a path goes through each element); what is left empty (an object or array
// with nothing kept) is dropped, so `errors,items.*.error` answers a bulk with no failure as
// {"errors":false}. Exclusions (`-path`) are not implemented: such a filter is refused.

/** A path's segments, each with its matcher (compiled once per filter, not per key). */
type Pattern = readonly Segment[];
interface Segment {
  readonly text: string;
  readonly matches: (key: string) => boolean;
}

function segment(text: string): Segment {
  if (text === '*' || text === '**') return { text, matches: () => true };
  if (!text.includes('*')) return { text, matches: (key) => key === text };
  const re = new RegExp(`^${text.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return { text, matches: (key) => re.test(key) };
}

/** The patterns still to match below `key`, and whether the key itself is kept whole. */
function step(patterns: readonly Pattern[], key: string): { whole: boolean; below: Pattern[] } {
  let whole = false;
  const below: Pattern[] = [];
  for (const p of patterns) {
    const [head, ...rest] = p;
    if (head === undefined) continue;
    if (head.text === '**') {
      // `**` matches zero levels (try the rest here) or one more (keep it for below).
      const zero = step([rest], key);
      whole ||= zero.whole;
      below.push(...zero.below, p);
      continue;
    }
    if (!head.matches(key)) continue;
    if (rest.length === 0) whole = true;
    else below.push(rest);
  }
  return { whole, below };
}

const DROP = Symbol('drop');

function apply(value: unknown, patterns: readonly Pattern[]): unknown {
  if (Array.isArray(value)) {
    const kept = value.map((v) => apply(v, patterns)).filter((v) => v !== DROP);
    return kept.length === 0 ? DROP : kept;
  }
  if (value === null || typeof value !== 'object') return DROP;
  const out: Record<string, unknown> = {};
  let any = false;
  for (const [key, v] of Object.entries(value)) {
    const { whole, below } = step(patterns, key);
    const kept = whole ? v : below.length > 0 ? apply(v, below) : DROP;
    if (kept !== DROP) {
      out[key] = kept;
      any = true;
    }
  }
  return any ? out : DROP;
}

export type ResponseFilter = (body: unknown) => unknown;

/** The filter of a `filter_path` parameter, or undefined when there is none; throws on what it does not implement. */
export function compileFilter(param: string | null | undefined): ResponseFilter | undefined {
  if (param === null || param === undefined || param.trim() === '') return undefined;
  const paths = param.split(',').map((p) => p.trim()).filter((p) => p !== '');
  const excluded = paths.find((p) => p.startsWith('-'));
  if (excluded !== undefined) throw new Error(`the stand-in does not implement exclusion filters (${excluded})`);
  const patterns = paths.map((p) => p.split('.').map(segment));
  return (body) => {
    const kept = apply(body, patterns);
    return kept === DROP ? {} : kept;
  };
}
