// A renderer for the subset of Go templates (and Helm's functions) that deploy/helm/tunnelwatch uses, so
// CI can render the chart without a helm binary. Anything outside the subset throws, which keeps the
// chart inside what is checked here. Supported: text with {{ }} / {{- -}} trimming and {{/* comments */}};
// define, include, if / else if / else, with / else, end; pipelines with |, parentheses, fields (.a.b,
// $.a), string, number and boolean literals; the functions in FUNCTIONS below (omit and fail included). Not supported: range,
// variables other than $, template, block, tpl, lookup, and every other Sprig function.
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';

type Value = unknown;
type Node =
  | { kind: 'text'; text: string }
  | { kind: 'out'; pipe: string }
  | { kind: 'if' | 'with'; branches: { pipe: string | undefined; body: Node[] }[] };

export interface RenderContext {
  Values: Record<string, unknown>;
  Release: { Name: string; Namespace: string; Service: string };
  Chart: { Name: string; Version: string; AppVersion: string };
}

export class TemplateError extends Error {}

/** Splits a template into text and action tokens, applying the {{- and -}} whitespace trimming. */
function tokenize(source: string, file: string): { text?: string; action?: string }[] {
  const out: { text?: string; action?: string }[] = [];
  let i = 0;
  let trimNext = false;
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    let text = source.slice(i, open === -1 ? source.length : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open === -1) {
      out.push({ text });
      break;
    }
    const close = source.indexOf('}}', open);
    if (close === -1) throw new TemplateError(`${file}: unclosed {{`);
    let inner = source.slice(open + 2, close);
    if (inner.startsWith('- ') || inner === '-') {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    trimNext = inner.endsWith(' -');
    if (trimNext) inner = inner.slice(0, -1);
    out.push({ text });
    inner = inner.trim();
    if (!(inner.startsWith('/*') && inner.endsWith('*/'))) out.push({ action: inner });
    i = close + 2;
  }
  return out.filter((t) => t.action !== undefined || (t.text ?? '') !== '');
}

/** Builds the node tree; `define` blocks go to `defines` instead. */
function parse(tokens: { text?: string; action?: string }[], file: string, defines: Map<string, Node[]>): Node[] {
  const root: Node[] = [];
  const stack: { nodes: Node[]; block?: Extract<Node, { kind: 'if' | 'with' }>; define?: string }[] = [{ nodes: root }];
  const top = () => stack[stack.length - 1] as (typeof stack)[number];
  for (const t of tokens) {
    if (t.text !== undefined) {
      top().nodes.push({ kind: 'text', text: t.text });
      continue;
    }
    const action = t.action as string;
    const [word] = action.split(/\s+/, 1);
    const rest = action.slice((word ?? '').length).trim();
    if (word === 'define') {
      const name = /^"([^"]+)"$/.exec(rest)?.[1];
      if (!name) throw new TemplateError(`${file}: define needs a quoted name: ${action}`);
      stack.push({ nodes: [], define: name });
    } else if (word === 'if' || word === 'with') {
      const block = { kind: word, branches: [{ pipe: rest, body: [] as Node[] }] } as Extract<Node, { kind: 'if' | 'with' }>;
      top().nodes.push(block);
      stack.push({ nodes: block.branches[0]?.body as Node[], block });
    } else if (word === 'else') {
      const frame = top();
      if (!frame.block) throw new TemplateError(`${file}: else outside if/with`);
      const cond = rest.startsWith('if ') ? rest.slice(3).trim() : rest === '' ? undefined : null;
      if (cond === null) throw new TemplateError(`${file}: unsupported else form: ${action}`);
      const branch = { pipe: cond, body: [] as Node[] };
      frame.block.branches.push(branch);
      frame.nodes = branch.body;
    } else if (word === 'end') {
      const frame = stack.pop();
      if (!frame || stack.length === 0) throw new TemplateError(`${file}: end without a block`);
      if (frame.define) defines.set(frame.define, frame.nodes);
    } else if (['range', 'template', 'block', 'break', 'continue'].includes(word ?? '') || /^\$\w+\s*:?=/.test(action)) {
      throw new TemplateError(`${file}: "${action}" is outside the supported template subset`);
    } else {
      top().nodes.push({ kind: 'out', pipe: action });
    }
  }
  if (stack.length !== 1) throw new TemplateError(`${file}: a block is not closed with end`);
  return root;
}

/** Go's notion of "empty": false, 0, "", nil, and empty collections are false. */
export function truthy(v: Value): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function toText(v: Value, where: string): string {
  if (v === undefined) throw new TemplateError(`${where}: renders a missing value (helm would print <no value>)`);
  if (v === null) return '<nil>';
  if (typeof v === 'object') throw new TemplateError(`${where}: renders a map or list without toYaml`);
  return String(v);
}

const FUNCTIONS: Record<string, (...args: Value[]) => Value> = {
  toYaml: (v) => (v === undefined || v === null ? 'null' : stringify(v, { lineWidth: 0 }).replace(/\n$/, '')),
  nindent: (n, s) => `\n${FUNCTIONS.indent?.(n, s) as string}`,
  indent: (n, s) => String(s).split('\n').map((line) => ' '.repeat(Number(n)) + line).join('\n'),
  quote: (...vs) => vs.map((v) => JSON.stringify(v === undefined || v === null ? '' : String(v))).join(' '),
  default: (fallback, v) => (truthy(v) ? v : fallback),
  required: (message, v) => {
    if (!truthy(v)) throw new TemplateError(`required: ${String(message)}`);
    return v;
  },
  printf: (format, ...args) => String(format).replace(/%[sdv]/g, () => String(args.shift())),
  sha256sum: (s) => createHash('sha256').update(String(s)).digest('hex'),
  trunc: (n, s) => String(s).slice(0, Number(n)),
  trimSuffix: (suffix, s) => (String(s).endsWith(String(suffix)) ? String(s).slice(0, -String(suffix).length) : String(s)),
  not: (v) => !truthy(v),
  and: (...vs) => vs.reduce((a, b) => (truthy(a) ? b : a)),
  or: (...vs) => vs.find((v) => truthy(v)) ?? vs[vs.length - 1],
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
  dict: (...kv) => Object.fromEntries(Array.from({ length: kv.length / 2 }, (_, i) => [String(kv[2 * i]), kv[2 * i + 1]])),
  // Sprig's omit: a copy of the map without the named keys (the map itself is unchanged).
  omit: (map, ...keys) => Object.fromEntries(Object.entries((map ?? {}) as Record<string, Value>).filter(([k]) => !keys.includes(k))),
  // Helm's fail: stops the rendering with the message (helm install prints it).
  fail: (message) => {
    throw new TemplateError(`fail: ${String(message)}`);
  },
};

/** Splits a pipeline into commands at top-level |, and a command into operands. */
function splitTop(text: string, sep: RegExp): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      current += c;
      if (c === '\\') current += text[++i] ?? '';
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === '"') quoted = true;
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (depth === 0 && sep.test(c)) {
      if (current.trim() !== '') parts.push(current.trim());
      current = '';
      continue;
    }
    current += c;
  }
  if (depth !== 0 || quoted) throw new TemplateError(`unbalanced parentheses or quotes in: ${text}`);
  if (current.trim() !== '') parts.push(current.trim());
  return parts;
}

export class ChartRenderer {
  private readonly defines = new Map<string, Node[]>();
  private readonly files = new Map<string, Node[]>();

  /** Adds a template file; files whose name starts with _ only define named templates (as in Helm). */
  add(name: string, source: string): void {
    const nodes = parse(tokenize(source, name), name, this.defines);
    if (!name.split('/').pop()?.startsWith('_')) this.files.set(name, nodes);
  }

  /** Renders every non-helper file; returns file name -> output. */
  renderAll(context: RenderContext): Map<string, string> {
    const out = new Map<string, string>();
    for (const [name, nodes] of this.files) out.set(name, this.run(nodes, context, context, name));
    return out;
  }

  private run(nodes: Node[], dot: Value, root: RenderContext, where: string): string {
    let out = '';
    for (const node of nodes) {
      if (node.kind === 'text') out += node.text;
      else if (node.kind === 'out') out += toText(this.pipe(node.pipe, dot, root, where), `${where}: {{ ${node.pipe} }}`);
      else {
        for (const branch of node.branches) {
          const v = branch.pipe === undefined ? true : this.pipe(branch.pipe, dot, root, where);
          if (!truthy(v)) continue;
          out += this.run(branch.body, node.kind === 'with' && branch.pipe !== undefined ? v : dot, root, where);
          break;
        }
      }
    }
    return out;
  }

  private pipe(text: string, dot: Value, root: RenderContext, where: string): Value {
    let piped: Value[] = [];
    for (const command of splitTop(text, /\|/)) {
      const operands = splitTop(command, /\s/);
      const [head, ...args] = operands;
      if (head === undefined) throw new TemplateError(`${where}: empty command in ${text}`);
      if (/^[A-Za-z]\w*$/.test(head) && !['true', 'false', 'nil'].includes(head)) {
        const values = [...args.map((a) => this.operand(a, dot, root, where)), ...piped];
        piped = [this.call(head, values, root, where)];
      } else {
        if (args.length > 0 || piped.length > 0) throw new TemplateError(`${where}: cannot call ${head} with arguments`);
        piped = [this.operand(head, dot, root, where)];
      }
    }
    return piped[0];
  }

  private call(name: string, args: Value[], root: RenderContext, where: string): Value {
    if (name === 'include') {
      const nodes = this.defines.get(String(args[0]));
      if (!nodes) throw new TemplateError(`${where}: include of an undefined template "${String(args[0])}"`);
      return this.run(nodes, args[1], root, `${where} > ${String(args[0])}`);
    }
    const fn = FUNCTIONS[name];
    if (!fn) throw new TemplateError(`${where}: function "${name}" is outside the supported subset`);
    return fn(...args);
  }

  private operand(text: string, dot: Value, root: RenderContext, where: string): Value {
    if (text.startsWith('(') && text.endsWith(')')) return this.pipe(text.slice(1, -1), dot, root, where);
    if (text.startsWith('"')) return JSON.parse(text) as string;
    if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
    if (text === 'true' || text === 'false') return text === 'true';
    if (text === 'nil') return null;
    let base: Value;
    let path: string;
    if (text === '.' || text === '$') return text === '.' ? dot : root;
    if (text.startsWith('$.')) [base, path] = [root, text.slice(2)];
    else if (text.startsWith('.')) [base, path] = [dot, text.slice(1)];
    else throw new TemplateError(`${where}: unsupported operand "${text}"`);
    let value = base;
    const keys = path.split('.');
    for (const [i, key] of keys.entries()) {
      if (value === undefined || value === null) {
        throw new TemplateError(`${where}: nil pointer evaluating ${text} (at ${keys.slice(0, i).join('.') || '.'})`);
      }
      value = (value as Record<string, Value>)[key];
    }
    return value;
  }
}
