// What the numbers were measured on: they only mean something next to the machine and tool versions.
import { cpus, totalmem } from 'node:os';
import { configureEngineMemory } from '../../collector/store/engine-memory.js';
import { run } from '../../test/helpers/processes.js';

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGb: number;
  readonly node: string;
  readonly tools: Record<string, string>;
}

async function version(cmd: string, args: string[], pattern: RegExp): Promise<string> {
  try {
    const r = await run(cmd, args, { timeoutMs: 5000 });
    return pattern.exec(`${r.stdout}\n${r.stderr}`)?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'not found';
  }
}

export async function machineInfo(): Promise<MachineInfo> {
  const nproc = await version('nproc', [], /(\d+)/);
  return {
    cpus: Number(nproc) || cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    tools: {
      nginx: await version('/usr/sbin/nginx', ['-v'], /nginx version: (\S+)/),
      wrk: await version('/usr/bin/wrk', ['-v'], /^(wrk \S+)/m),
      ssh: await version('ssh', ['-V'], /^(OpenSSH\S+)/m),
      curl: await version('curl', ['--version'], /^(curl \S+)/m),
    },
  };
}

/**
 * The embedded engine's version, loading the engine the way the store does (its allocator options set
 * first: engine-memory.ts). Call it before a store opens a session: afterwards the version reads as unknown.
 */
export async function engineVersion(): Promise<string> {
  configureEngineMemory();
  const { version } = await import('chdb');
  return version().libchdb.replace(/"/g, '');
}
