// Renders deploy/helm/tunnelwatch with the Go-template subset renderer and checks the Kubernetes objects:
// the API schema (npm kubernetes-models, generated from Kubernetes' OpenAPI) plus what the chart
// promises (probes, resources, security contexts, no secret values, no service links).
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parse, parseAllDocuments } from 'yaml';
import { ChartRenderer } from './go-template.js';
import { repoPath } from './deploy-files.js';

const require = createRequire(import.meta.url);
export const CHART = repoPath('deploy/helm/tunnelwatch');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  [key: string]: unknown;
}

export function chartValues(): Record<string, unknown> {
  return parse(readFileSync(`${CHART}/values.yaml`, 'utf8')) as Record<string, unknown>;
}

/** Helm's merge of -f / --set values over the chart's: maps merge, anything else replaces. */
export function mergeValues(base: unknown, over: unknown): unknown {
  if (!base || !over || typeof base !== 'object' || typeof over !== 'object' || Array.isArray(base) || Array.isArray(over)) return over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = mergeValues(out[k], v);
  return out;
}

/** Renders the chart as `helm template tunnelwatch deploy/helm/tunnelwatch -f <overrides>` would. */
export function renderChart(overrides: Record<string, unknown> = {}): { objects: K8sObject[]; notes: string; values: Record<string, unknown> } {
  const renderer = new ChartRenderer();
  const files = readdirSync(`${CHART}/templates`).sort();
  for (const f of files) renderer.add(`templates/${f}`, readFileSync(`${CHART}/templates/${f}`, 'utf8'));
  const chart = parse(readFileSync(`${CHART}/Chart.yaml`, 'utf8')) as { name: string; version: string; appVersion: string };
  const values = mergeValues(chartValues(), overrides) as Record<string, unknown>;
  const out = renderer.renderAll({
    Values: values,
    Release: { Name: 'tunnelwatch', Namespace: 'default', Service: 'Helm' },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
  });
  const objects: K8sObject[] = [];
  let notes = '';
  for (const [file, text] of out) {
    if (file.endsWith('NOTES.txt')) {
      notes = text;
      continue;
    }
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) throw new Error(`${file}: rendered YAML does not parse: ${doc.errors[0]?.message ?? ''}\n${text}`);
      const obj = doc.toJS() as K8sObject | null;
      if (obj !== null) objects.push(obj);
    }
  }
  return { objects, notes, values };
}

type Model = new (data: unknown) => { validate(): void };
const km = require('kubernetes-models') as Record<string, Record<string, Record<string, Model>>>;

/** Validates one object against the Kubernetes API schema of its apiVersion and kind. */
export function validateK8s(obj: K8sObject): void {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const ns = group === '' ? 'v1' : (group as string).replace(/\.(\w)/g, (_m, c: string) => c.toUpperCase());
  const model = group === '' ? km.v1?.[obj.kind] : km[ns]?.[version as string]?.[obj.kind];
  if (!model) throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}`);
  new (model as unknown as Model)(obj).validate();
}

export interface PodView {
  owner: K8sObject;
  spec: Record<string, unknown> & { containers: Container[]; volumes?: { name: string; secret?: { secretName: string }; configMap?: { name: string } }[] };
  claims: string[];
}
export interface Container {
  name: string;
  args?: string[];
  ports?: { name: string; containerPort: number }[];
  env?: { name: string; value?: string }[];
  livenessProbe?: Record<string, unknown>;
  readinessProbe?: Record<string, unknown>;
  startupProbe?: Record<string, unknown>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

/** The pod templates of the workloads (Deployment, StatefulSet), with their volume claim templates. */
export function pods(objects: K8sObject[]): PodView[] {
  return objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')
    .map((o) => {
      const spec = o.spec as { template: { spec: PodView['spec'] }; volumeClaimTemplates?: { metadata: { name: string } }[] };
      return { owner: o, spec: spec.template.spec, claims: (spec.volumeClaimTemplates ?? []).map((c) => c.metadata.name) };
    });
}
