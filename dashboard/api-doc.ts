// Renders the dashboard API reference (docs/dashboard-api.md) from the OpenAPI document the app itself
// serves, so the page cannot drift from the routes: scripts/api-doc.mjs writes it, a unit test checks it.
import { pino } from 'pino';
import type { Store } from '../collector/store/store.js';
import { buildDashboardApp } from './app.js';
import type { DashboardContext } from './context.js';

export const API_DOC_MARKERS = ['<!-- api-reference:start -->', '<!-- api-reference:end -->'] as const;

interface ParamSchema {
  type?: string | string[];
  enum?: unknown[];
  format?: string;
  items?: { type?: string };
}

interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  'x-required-role'?: string;
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: ParamSchema }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
}

/** The OpenAPI document, from an app that is built but never listens or reads the store. */
export async function openApiDocument(): Promise<{ paths: Record<string, Record<string, Operation>> }> {
  const refuse = (): never => {
    throw new Error('the API reference is generated without a store');
  };
  const ctx: DashboardContext = {
    store: new Proxy({}, { get: refuse }) as Store,
    settings: { listen: '127.0.0.1:0', session: { idle_minutes: 30, max_hours: 12 }, login_rate_limit: { max_attempts: 10, window_s: 300 }, users: [], api_tokens: [] },
    log: pino({ level: 'silent' }),
    configFile: 'dashboard.yaml',
    auth: new Proxy({}, { get: refuse }) as DashboardContext['auth'],
    adminAudit: { record: refuse },
  };
  const app = await buildDashboardApp(ctx);
  await app.ready();
  const doc = app.swagger() as unknown as { paths: Record<string, Record<string, Operation>> };
  await app.close();
  return doc;
}

function typeOf(schema: ParamSchema | undefined): string {
  if (!schema) return '';
  if (schema.enum) return schema.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  const t = Array.isArray(schema.type) ? schema.type.join(' \\| ') : schema.type ?? '';
  if (t === 'array') return `${schema.items?.type ?? ''}[] (repeat the parameter)`;
  return schema.format ? `${t} (${schema.format})` : t;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n+/g, ' ');

export async function generatedApiReference(): Promise<string> {
  const doc = await openApiDocument();
  const byTag = new Map<string, string[]>();
  for (const [path, methods] of Object.entries(doc.paths).sort(([a], [b]) => a.localeCompare(b))) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = op.tags?.[0] ?? 'other';
      const lines: string[] = [];
      lines.push(`### \`${method.toUpperCase()} ${path}\``, '');
      if (op.summary) lines.push(`${op.summary}`, '');
      lines.push(`Role: **${op['x-required-role'] ?? 'public'}**.`, '');
      const description = (op.description ?? '').replace(/\n\nNeeds the .*$|\n\nNo sign-in needed\.$|^Needs the .*$|^No sign-in needed\.$/s, '');
      if (description) lines.push(description, '');
      const params = op.parameters ?? [];
      if (params.length > 0) {
        lines.push('| parameter | in | type | required | meaning |', '| --- | --- | --- | --- | --- |');
        for (const p of params) lines.push(`| \`${p.name}\` | ${p.in} | ${cell(typeOf(p.schema))} | ${p.required ? 'yes' : ''} | ${cell(p.description ?? '')} |`);
        lines.push('');
      }
      const body = op.requestBody?.content;
      if (body) lines.push(`Body: ${Object.keys(body).map((t) => `\`${t}\``).join(', ')} (schema in the OpenAPI document).`, '');
      const responses = Object.entries(op.responses ?? {}).map(([status, r]) => `\`${status}\` ${r.description ?? ''}`.trim());
      if (responses.length > 0) lines.push(`Responses: ${responses.join('; ')}.`, '');
      const list = byTag.get(tag) ?? [];
      list.push(lines.join('\n'));
      byTag.set(tag, list);
    }
  }
  const out: string[] = [];
  for (const [tag, ops] of [...byTag.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    out.push(`## ${tag}`, '', ...ops);
  }
  return `${out.join('\n').trimEnd()}\n`;
}
