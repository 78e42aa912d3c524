// Installs what the exporter writes into (`tunnelwatch siem setup elasticsearch`): the mappings component
// template, the two index templates and the data streams of the namespace. Idempotent: what is there at
// the current TEMPLATE_VERSION is left alone, an older version is replaced, a missing one created, and
// each step says which. Errors are thrown as they come (the command classifies them).
import type { Client } from '@elastic/elasticsearch';
import type { ExportStream } from '../types.js';
import { dataStreamName } from './ecs.js';
import { indexTemplate, indexTemplateName, mappingsComponent, MAPPINGS_COMPONENT, TEMPLATE_VERSION } from './templates.js';

export type StepResult = 'created' | 'updated' | 'up to date' | 'exists' | 'exists with another template';

export interface SetupStep {
  readonly kind: 'component template' | 'index template' | 'data stream';
  readonly name: string;
  readonly result: StepResult;
  readonly detail?: string;
}

export interface SetupReport {
  readonly version: string;
  readonly steps: readonly SetupStep[];
}

function versionNote(installed: unknown): string {
  return `version ${installed === undefined ? 'none' : String(installed)} -> ${TEMPLATE_VERSION}`;
}

async function ensureComponent(client: Client): Promise<SetupStep> {
  const name = MAPPINGS_COMPONENT;
  const got = await client.cluster.getComponentTemplate({ name }, { ignore: [404] }) as { component_templates?: { component_template: { version?: number } }[] };
  const installed = got.component_templates?.[0]?.component_template;
  if (installed?.version === TEMPLATE_VERSION) return { kind: 'component template', name, result: 'up to date' };
  await client.cluster.putComponentTemplate({ name, ...mappingsComponent() } as Parameters<Client['cluster']['putComponentTemplate']>[0]);
  return installed
    ? { kind: 'component template', name, result: 'updated', detail: versionNote(installed.version) }
    : { kind: 'component template', name, result: 'created' };
}

async function ensureIndexTemplate(client: Client, stream: ExportStream): Promise<SetupStep> {
  const name = indexTemplateName(stream);
  const got = await client.indices.getIndexTemplate({ name }, { ignore: [404] }) as { index_templates?: { index_template: { version?: number } }[] };
  const installed = got.index_templates?.[0]?.index_template;
  if (installed?.version === TEMPLATE_VERSION) return { kind: 'index template', name, result: 'up to date' };
  await client.indices.putIndexTemplate({ name, ...indexTemplate(stream) } as Parameters<Client['indices']['putIndexTemplate']>[0]);
  return installed
    ? { kind: 'index template', name, result: 'updated', detail: `${versionNote(installed.version)}; existing data streams take it at their next rollover` }
    : { kind: 'index template', name, result: 'created' };
}

async function ensureDataStream(client: Client, stream: ExportStream, namespace: string): Promise<SetupStep> {
  const name = dataStreamName(stream, namespace);
  const got = await client.indices.getDataStream({ name }, { ignore: [404] }) as { data_streams?: { template?: string }[] };
  const existing = got.data_streams?.[0];
  if (!existing) {
    await client.indices.createDataStream({ name });
    return { kind: 'data stream', name, result: 'created' };
  }
  const template = indexTemplateName(stream);
  if (existing.template !== undefined && existing.template !== template) {
    return {
      kind: 'data stream', name, result: 'exists with another template',
      detail: `it was created by template [${existing.template}] before setup, so its current backing index lacks Tunnelwatch's mappings: run POST ${name}/_rollover`,
    };
  }
  return { kind: 'data stream', name, result: 'exists' };
}

export async function setUpElasticsearch(client: Client, options: { namespace: string; streams: readonly ExportStream[] }): Promise<SetupReport> {
  const info = await client.info();
  const steps: SetupStep[] = [await ensureComponent(client)];
  // Both templates, whatever this exporter sends, so another exporter entry with more streams finds them.
  for (const stream of ['audit', 'findings'] as const) steps.push(await ensureIndexTemplate(client, stream));
  for (const stream of options.streams) steps.push(await ensureDataStream(client, stream, options.namespace));
  return { version: info.version.number, steps };
}

/** Whether the exporter's index templates are installed: undefined when the credentials may not look. */
export async function templatesInstalled(client: Client, streams: readonly ExportStream[]): Promise<string[] | undefined> {
  const missing: string[] = [];
  for (const stream of streams) {
    const name = indexTemplateName(stream);
    try {
      if (!(await client.indices.existsIndexTemplate({ name }))) missing.push(name);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 403) return undefined;
      throw err;
    }
  }
  return missing;
}
