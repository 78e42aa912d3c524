// Structural checks of a (merged) compose file, as lists of problems: what the compose-spec schema
// cannot know about Tunnelwatch's services and configs.
import { existsSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { parse } from 'yaml';
import { hostPathOf, parseMount, type ComposeFile, type ComposeService } from './compose.js';
import { configPaths, validateProcessConfig, within } from './deploy-files.js';

const SECRET_NAME = /pass(word)?|secret|token|api[_-]?key|private/i;

function secretNames(svc: ComposeService): string[] {
  return (svc.secrets ?? []).map((s) => (typeof s === 'string' ? s : s.source));
}

function environment(svc: ComposeService): [string, string][] {
  const env = svc.environment ?? {};
  return Array.isArray(env) ? env.map((e) => [e.split('=')[0] ?? '', e.split('=').slice(1).join('=')]) : Object.entries(env);
}

export function serviceProblems(file: ComposeFile): string[] {
  const problems: string[] = [];
  for (const [name, svc] of Object.entries(file.services)) {
    if (!svc.image && !svc.build) problems.push(`${name}: neither image nor build`);
    if (!svc.restart) problems.push(`${name}: no restart policy`);
    if (!svc.healthcheck?.test?.length || svc.healthcheck.disable) problems.push(`${name}: no healthcheck`);
    for (const [key, value] of environment(svc)) {
      // A secret may only come as a file: FOO_FILE=/run/secrets/x is fine, FOO_PASSWORD=value is not.
      if (SECRET_NAME.test(key) && !(key.endsWith('_FILE') && value.startsWith('/run/secrets/'))) problems.push(`${name}: environment ${key} looks like an inline secret`);
    }
    for (const secret of secretNames(svc)) {
      const def = file.secrets?.[secret];
      if (!def) problems.push(`${name}: secret ${secret} is not defined`);
      else if (!def.file?.startsWith('./secrets/')) problems.push(`${name}: secret ${secret} must be a file under ./secrets (git-ignored), not ${JSON.stringify(def)}`);
    }
    for (const m of (svc.volumes ?? []).map(parseMount)) {
      if (m.named && !(file.volumes && m.source in file.volumes)) problems.push(`${name}: volume ${m.source} is not declared`);
    }
  }
  return problems;
}

/**
 * The Tunnelwatch services' configs: the file named by `--config` must be bind-mounted from the compose
 * folder and valid for the command with the service's TUNNELWATCH_* environment (the HA override sets
 * the master's ha section that way); every file it reads must be a compose secret or in a mounted folder;
 * every folder it writes must be on a writable named volume (the root file system is read-only).
 */
export function tunnelwatchConfigProblems(file: ComposeFile, composeDir: string): { problems: string[]; checked: string[]; configs: Map<string, Record<string, unknown>> } {
  const problems: string[] = [];
  const checked: string[] = [];
  const configs = new Map<string, Record<string, unknown>>();
  for (const [name, svc] of Object.entries(file.services)) {
    const [command, flag, configPath] = svc.command ?? [];
    if (flag !== '--config' || !command || !configPath) continue;
    const host = hostPathOf(svc, composeDir, configPath);
    if (!host || !existsSync(host)) {
      problems.push(`${name}: ${configPath} is not bind-mounted from an existing file (${host ?? 'no mount'})`);
      continue;
    }
    let config: Record<string, unknown>;
    try {
      const env = Object.fromEntries(environment(svc).filter(([k]) => k.startsWith('TUNNELWATCH_')));
      config = validateProcessConfig(command, parse(readFileSync(host, 'utf8')), `${name}: ${posix.relative(composeDir, host)}`, env);
    } catch (err) {
      problems.push((err as Error).message);
      continue;
    }
    checked.push(`${name}:${posix.relative(composeDir, host)}`);
    configs.set(name, config);
    const secrets = secretNames(svc);
    const mounts = (svc.volumes ?? []).map(parseMount);
    const { reads, writes } = configPaths(config);
    for (const [key, path] of reads) {
      const asSecret = path.startsWith('/run/secrets/') && secrets.includes(path.slice('/run/secrets/'.length));
      const inMount = mounts.some((m) => !m.named && within(path, m.target));
      if (!asSecret && !inMount) problems.push(`${name}: ${key} = ${path} is neither one of its secrets nor in a mounted folder`);
    }
    for (const [key, dir] of writes) {
      const abs = posix.resolve(posix.dirname(configPath), dir);
      if (!mounts.some((m) => m.named && !m.readOnly && within(abs, m.target))) problems.push(`${name}: ${key} = ${abs} is not on a writable named volume`);
    }
    // An http:// health check must reach a listener of this config (admin, ops, collector).
    const probed = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(svc.healthcheck?.test?.join(' ') ?? '')?.[1];
    const ports = Object.values(config).map((v) => (v as { listen?: unknown } | null)?.listen).filter((l): l is string => typeof l === 'string').map((l) => l.split(':').at(-1));
    if (probed && !ports.includes(probed)) problems.push(`${name}: the health check probes port ${probed}, on which the config listens nowhere (${ports.join(', ')})`);
  }
  return { problems, checked, configs };
}
