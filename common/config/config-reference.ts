// Renders a config schema as a Markdown table: the configuration reference in docs/configuration.md.
import type { TSchema } from '@sinclair/typebox';

interface Node {
  type?: string;
  properties?: Record<string, Node>;
  patternProperties?: Record<string, Node>;
  items?: Node;
  anyOf?: { const?: unknown }[];
  default?: unknown;
  description?: string;
  required?: string[];
}

type Row = [key: string, type: string, dflt: string, meaning: string];

function typeOf(s: Node): string {
  if (s.anyOf) return s.anyOf.map((x) => `\`${JSON.stringify(x.const)}\``).join(' \\| ');
  if (s.type === 'array') return `list of ${s.items?.type === 'object' ? 'entries' : (s.items?.type ?? 'values')}`;
  if (s.type === 'object') return s.patternProperties ? 'map by name' : 'section';
  return s.type ?? 'value';
}

function walk(s: Node, path: string, required: boolean, rows: Row[]): void {
  // A pipe inside a table cell ends the cell in Markdown, even inside a code span: escape it everywhere.
  const dflt = s.default !== undefined ? `\`${JSON.stringify(s.default).replace(/\|/g, '\\|')}\`` : required ? 'required' : 'optional';
  if (s.type === 'object' && s.properties) {
    if (path && s.description) rows.push([path, 'section', dflt, s.description.replace(/\|/g, '\\|')]);
    for (const [k, v] of Object.entries(s.properties)) walk(v, path ? `${path}.${k}` : k, (s.required ?? []).includes(k), rows);
    return;
  }
  rows.push([path, typeOf(s), dflt, (s.description ?? '').replace(/\|/g, '\\|')]);
  if (s.type === 'array' && s.items?.type === 'object') walk({ ...s.items, description: undefined }, `${path}[]`, true, rows);
  const entry = s.patternProperties ? Object.values(s.patternProperties)[0] : undefined;
  // An entry that is a section is described by the map's row; a scalar entry keeps its own meaning.
  if (entry) walk(entry.type === 'object' ? { ...entry, description: undefined } : entry, `${path}.<name>`, true, rows);
}

export function configReference(title: string, schema: TSchema): string {
  const rows: Row[] = [];
  walk(schema as Node, '', true, rows);
  const lines = [`### ${title}`, '', '| key | type | default | meaning |', '| --- | --- | --- | --- |'];
  for (const [key, type, dflt, meaning] of rows) lines.push(`| \`${key}\` | ${type} | ${dflt} | ${meaning} |`);
  return `${lines.join('\n')}\n`;
}
