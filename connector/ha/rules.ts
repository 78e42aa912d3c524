// The rules a shadow pulls from its master: the `subaccounts` section, validated with the same schema as
// connector.yaml and compiled before anything is swapped, so an invalid set is refused as a whole and the
// rules in force stay as they were. Also their hash (to skip unchanged pulls) and the optional cache file.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { Type } from '@sinclair/typebox';
import { ConfigError, validateConfig } from '../../common/config/load-config.js';
import { compilePolicy, type CompiledPolicy } from '../acl/policy.js';
import { ConnectorConfigSchema, type ConnectorConfig } from '../agent/config-schema.js';

export type Rules = ConnectorConfig['subaccounts'];

const RulesDocument = Type.Object({ subaccounts: ConnectorConfigSchema.properties.subaccounts }, { additionalProperties: false });

/** JSON with object keys sorted, so equal rules hash equally whatever order the YAML had. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** sha256 of the canonical JSON of the rules, as "sha256:<hex>". */
export function rulesHash(rules: Rules): string {
  return `sha256:${createHash('sha256').update(canonicalJson(rules)).digest('hex')}`;
}

export type RulesCheck = { ok: true; rules: Rules; policy: CompiledPolicy; hash: string } | { ok: false; reason: string };

/** Validates (schema with defaults) and compiles rules that came from elsewhere; never throws. */
export function checkRules(raw: unknown, source: string): RulesCheck {
  try {
    // env {}: TUNNELWATCH_* overrides are for this process's own file, not for rules that came over the wire.
    const doc = validateConfig(RulesDocument, { subaccounts: raw }, source, { env: {} });
    const policy = compilePolicy(doc.subaccounts);
    return { ok: true, rules: doc.subaccounts, policy, hash: rulesHash(doc.subaccounts) };
  } catch (err) {
    const problems = err instanceof ConfigError ? err.problems.join('; ') : (err as Error).message;
    return { ok: false, reason: problems.slice(0, 2000) };
  }
}

interface CacheFile {
  schema: 'tunnelwatch.ha-rules/1';
  saved_at: string;
  master_id: string;
  hash: string;
  subaccounts: Rules;
}

/** Writes the cache atomically (temp file, then rename), readable by the owner only: rules name internal hosts. */
export async function saveRulesCache(path: string, rules: Rules, hash: string, masterId: string): Promise<void> {
  const body: CacheFile = { schema: 'tunnelwatch.ha-rules/1', saved_at: new Date().toISOString(), master_id: masterId, hash, subaccounts: rules };
  const tmp = `${path}.tmp-${process.pid}`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(JSON.stringify(body));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}

/** The cached rules, checked like pulled ones; undefined when there is no usable cache (the reason is returned). */
export function loadRulesCache(path: string): { check: RulesCheck; savedAt: string } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  let body: Partial<CacheFile>;
  try {
    body = JSON.parse(text) as Partial<CacheFile>;
  } catch {
    return { check: { ok: false, reason: `${path} is not JSON` }, savedAt: '' };
  }
  if (body.schema !== 'tunnelwatch.ha-rules/1') return { check: { ok: false, reason: `${path} is not a rules cache (schema ${String(body.schema)})` }, savedAt: '' };
  return { check: checkRules(body.subaccounts, `rules cache ${path}`), savedAt: String(body.saved_at ?? '') };
}
