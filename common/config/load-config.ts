// Loads a YAML config file, applies overrides, validates it once against its schema (which holds the
// defaults), and freezes it. Precedence: --set flag, then environment (TUNNELWATCH_<PATH>, with __ between
// levels, e.g. TUNNELWATCH_PROXY__LISTEN), then the file, then the schema default.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Static, TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument, parse as parseYaml } from 'yaml';
import { TunnelwatchError } from '../errors.js';

export interface LoadOptions {
  /** `a.b.c=value` overrides from the command line; values are YAML scalars or flow collections. */
  set?: string[];
  /** Environment to read TUNNELWATCH_* overrides from. */
  env?: NodeJS.ProcessEnv;
}

export const ENV_PREFIX = 'TUNNELWATCH_';

// verbose: errors carry their schema, so messages can list allowed keys and describe patterns.
// strictNumbers: YAML reads 1e400 as Infinity (and .nan as NaN), which Ajv would otherwise take as an integer.
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, coerceTypes: false, verbose: true, strictNumbers: true });

/**
 * Node's timers treat a delay above 2^31 - 1 ms (~24.8 days) as 1 ms: a timeout key set to 3e9 would fire
 * at once. Every key ending in _ms (or _s, seconds) is held below that, whatever its schema says.
 */
const MAX_TIMER_MS = 2_147_483_647;

function timerProblems(value: unknown, path: string, out: string[]): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => timerProblems(v, `${path}[${i}]`, out));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    if (typeof v === 'number') {
      const limit = key.endsWith('_ms') ? MAX_TIMER_MS : key.endsWith('_s') ? Math.floor(MAX_TIMER_MS / 1000) : undefined;
      if (limit !== undefined && v > limit) out.push(`${at}: expected a number <= ${limit} (${key.endsWith('_ms') ? 'ms' : 's'}; about 24.8 days, the longest timer Node keeps) (got ${v})`);
    } else timerProblems(v, at, out);
  }
}

export class ConfigError extends TunnelwatchError {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super('TW_ERR_CONFIG_INVALID', `${source}\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

export function loadConfigFile<S extends TSchema>(schema: S, file: string, options: LoadOptions = {}): Readonly<Static<S>> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TunnelwatchError('TW_ERR_CONFIG_READ', `${file}: ${(err as Error).message}`, { cause: err });
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // The parser's first line (where and what); not its excerpt of the file, which may hold a secret.
    throw new ConfigError(file, doc.errors.map((e) => `YAML syntax: ${(e.message.split('\n')[0] ?? '').replace(/:\s*$/, '')}`));
  }
  const raw = (doc.toJS() ?? {}) as unknown;
  return validateConfig(schema, raw, file, options);
}

export function validateConfig<S extends TSchema>(schema: S, raw: unknown, source: string, options: LoadOptions = {}): Readonly<Static<S>> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(source, ['the top level must be a mapping of keys to values']);
  }
  const data = structuredClone(raw) as Record<string, unknown>;
  const problems: string[] = [];
  for (const [path, value] of envOverrides(options.env ?? process.env)) applyOverride(data, path, value, problems);
  for (const entry of options.set ?? []) {
    const eq = entry.indexOf('=');
    if (eq <= 0) {
      problems.push(`--set ${entry}: expected key.path=value`);
      continue;
    }
    applyOverride(data, entry.slice(0, eq), entry.slice(eq + 1), problems);
  }
  if (problems.length === 0) {
    const validate = ajv.compile(schema);
    if (!validate(data)) problems.push(...describeAll(validate.errors ?? []));
    else timerProblems(data, '', problems);
  }
  if (problems.length > 0) throw new ConfigError(source, [...new Set(problems)]);
  return deepFreeze(data) as Static<S>;
}

/** Resolves a path from a config file relative to the file's folder. */
export function resolveFrom(configFile: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(configFile), path);
}

/**
 * Reads a file a config key names (a certificate, a key, a password file), relative to the config file.
 * Throws TW_ERR_CONFIG_READ naming the key and the file, never the content.
 */
export function readConfiguredFile(configFile: string, key: string, path: string): Buffer {
  const file = resolveFrom(configFile, path);
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TunnelwatchError('TW_ERR_CONFIG_READ', `${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
}

function envOverrides(env: NodeJS.ProcessEnv): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    out.push([name.slice(ENV_PREFIX.length).toLowerCase().split('__').join('.'), value]);
  }
  return out;
}

function applyOverride(data: Record<string, unknown>, path: string, value: string, problems: string[]): void {
  const keys = path.split('.');
  let node: Record<string, unknown> = data;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) node[key] = {};
    else if (next === null || typeof next !== 'object') {
      problems.push(`${path}: cannot override inside ${key}, which is not a mapping`);
      return;
    }
    node = node[key] as Record<string, unknown>;
  }
  try {
    node[keys.at(-1) as string] = parseYaml(value) as unknown;
  } catch {
    node[keys.at(-1) as string] = value;
  }
}

function keyPath(instancePath: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  return out === '' ? '(top level)' : out;
}

/** One line per problem; the per-branch errors of a choice between constants become one line. */
function describeAll(errors: ErrorObject[]): string[] {
  const choicePaths = new Set(
    errors.filter((e) => e.keyword === 'anyOf' && isConstChoice(e.parentSchema)).map((e) => e.instancePath),
  );
  return errors
    .filter((e) => !(choicePaths.has(e.instancePath) && e.keyword === 'const'))
    // propertyNames reports the bad key twice (the name's own pattern, then propertyNames).
    .filter((e) => !(e.keyword === 'pattern' && e.propertyName !== undefined))
    // if/then (one schema per exporter type) adds 'must match "then" schema' after the real error.
    .filter((e) => e.keyword !== 'if')
    .map(describe);
}

function isConstChoice(schema: unknown): boolean {
  const anyOf = (schema as { anyOf?: { const?: unknown }[] } | undefined)?.anyOf;
  return Array.isArray(anyOf) && anyOf.every((s) => s.const !== undefined);
}

/** Keys whose values are secrets, or hashes that a plain secret is often pasted into by mistake. */
const SECRET_KEY = /(password|passphrase|secret|token|sha256|_hash|api_key|apikey)$/i;

/**
 * A wrong value as an error message may show it: not at all under a secret's key (the mistake it reports
 * is often a plain token or password where its hash belongs), and URLs without their password.
 */
function shown(at: string, data: unknown): string {
  const key = (at.split('.').pop() ?? '').replace(/\[\d+\]$/, '');
  if (SECRET_KEY.test(key)) return typeof data === 'string' ? `a ${data.length}-character value, not shown` : `a ${typeof data}, not shown`;
  const text = JSON.stringify(data) ?? String(data);
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s"]*):[^@/\s"]*@/gi, '$1:***@');
}

function describe(error: ErrorObject): string {
  const at = keyPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const parent = at === '(top level)' ? '' : `${at}.`;
      const allowed = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      return `${parent}${key}: unknown key; expected one of: ${allowed.join(', ')}`;
    }
    case 'required':
      return `${at === '(top level)' ? '' : `${at}.`}${String(params.missingProperty)}: required key is missing`;
    case 'enum':
      return `${at}: expected one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `${at}: expected ${JSON.stringify(params.allowedValue)}`;
    case 'pattern': {
      const schema = error.parentSchema as { expected?: string; description?: string } | undefined;
      return `${at}: expected ${schema?.expected ?? schema?.description ?? `a value matching ${String(params.pattern)}`} (got ${shown(at, error.data)})`;
    }
    case 'type':
      return `${at}: expected ${String(params.type)} (got ${shown(at, error.data)})`;
    case 'anyOf':
      if (isConstChoice(error.parentSchema)) {
        const choices = ((error.parentSchema as { anyOf: { const: unknown }[] }).anyOf).map((s) => JSON.stringify(s.const));
        return `${at}: expected one of ${choices.join(', ')} (got ${shown(at, error.data)})`;
      }
      return `${at}: ${error.message ?? error.keyword}`;
    case 'propertyNames': {
      const description = (error.parentSchema as { propertyNames?: { description?: string } } | undefined)?.propertyNames?.description;
      return `${at === '(top level)' ? '' : `${at}.`}${String(params.propertyName)}: invalid key; expected ${description ?? 'a valid name'}`;
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${at}: expected a number ${String(params.comparison)} ${String(params.limit)} (got ${shown(at, error.data)})`;
    case 'minLength':
    case 'maxLength':
    case 'minItems':
    case 'maxItems':
      return `${at}: ${error.message ?? error.keyword}`;
    default:
      return `${at}: ${error.message ?? error.keyword}`;
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
