// Shared pieces of the deploy/ checks: where things are, which schema a process uses, and the paths a
// config names (files it reads, folders it writes), so the checks can compare them with what a
// container or unit provides.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TSchema } from '@sinclair/typebox';
import { CollectorConfigSchema } from '../../../collector/config-schema.js';
import { validateConfig } from '../../../common/config/load-config.js';
import { ConnectorConfigSchema } from '../../../connector/agent/config-schema.js';
import { RelayConfigSchema } from '../../../connector/relay/config-schema.js';
import { DashboardConfigSchema } from '../../../dashboard/standalone-schema.js';

/** The repository root (this file runs as dist/test/unit/deploy/deploy-files.js). */
export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
export const repoPath = (p: string): string => `${REPO}${p}`;

export const SCHEMAS: Record<string, TSchema> = {
  relay: RelayConfigSchema,
  connector: ConnectorConfigSchema,
  collector: CollectorConfigSchema,
  dashboard: DashboardConfigSchema,
};

/**
 * Validates a parsed config against the process's schema, as `tunnelwatch <process> --config` does at
 * start, with the TUNNELWATCH_* variables of `env` (the container's, never the test machine's).
 * Returns the config with defaults filled; throws ConfigError naming each problem.
 */
export function validateProcessConfig(process: string, raw: unknown, source: string, env: Record<string, string> = {}): Record<string, unknown> {
  const schema = SCHEMAS[process];
  if (!schema) throw new Error(`${source}: no config schema for the command "${process}"`);
  return validateConfig(schema, raw, source, { env }) as Record<string, unknown>;
}

export interface ConfigPaths {
  /** Files the process reads (certificates, keys, token and password files), by key path. */
  readonly reads: Map<string, string>;
  /** Folders and files the process writes (audit spool, embedded store, an HA shadow's rules cache), by key path. */
  readonly writes: Map<string, string>;
}

const READ_KEYS = /^(cert|key|ca|ca_file|[a-z_]*_file)$/;
const WRITE_KEYS = new Set(['dir', 'data_dir', 'rules_cache']);

/** Every file and folder path a validated config names. An embedded store's data_dir is unused with a url. */
export function configPaths(config: unknown): ConfigPaths {
  const reads = new Map<string, string>();
  const writes = new Map<string, string>();
  const walk = (node: unknown, at: string): void => {
    if (Array.isArray(node)) node.forEach((v, i) => walk(v, `${at}[${i}]`));
    else if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      for (const [k, v] of Object.entries(record)) {
        const path = at ? `${at}.${k}` : k;
        if (typeof v === 'string' && READ_KEYS.test(k)) reads.set(path, v);
        else if (typeof v === 'string' && WRITE_KEYS.has(k) && !(k === 'data_dir' && record.url)) writes.set(path, v);
        else walk(v, path);
      }
    }
  };
  walk(config, '');
  return { reads, writes };
}

/** True when `path` is `dir` or inside it. */
export function within(path: string, dir: string): boolean {
  const d = dir.endsWith('/') ? dir : `${dir}/`;
  return path === dir || path.startsWith(d);
}

/** Runs one of the scripts/ generators with --stdout (they import dist/, so the build must be done). */
export function generated(script: string): string {
  const r = spawnSync(process.execPath, [repoPath(`scripts/${script}`), '--stdout'], { cwd: REPO, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`scripts/${script} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

/** The path of a tool on PATH, or undefined. */
export function which(tool: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(`${dir}/${tool}`)) return `${dir}/${tool}`;
  return undefined;
}
