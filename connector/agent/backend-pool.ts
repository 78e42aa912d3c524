// Keep-alive agents per mapping, built once when the rules are loaded (not per call).
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { CompiledMapping } from '../acl/policy.js';

export interface BackendOptions {
  maxIdleSockets: number;
  /** Resolves a CA path from the config to an absolute path. */
  resolvePath: (path: string) => string;
}

export class BackendPool {
  private readonly agents = new Map<string, http.Agent>();
  private readonly cas = new Map<string, Buffer>();

  constructor(private readonly options: BackendOptions) {}

  private key(m: CompiledMapping): string {
    return `${m.protocol}://${m.internalHost}:${m.internalPort}|${m.ca ?? ''}`;
  }

  /** Trust for https/tcps backends: the mapping's CA file, else the system store. */
  ca(m: CompiledMapping): Buffer | undefined {
    if (!m.ca) return undefined;
    let ca = this.cas.get(m.ca);
    if (!ca) {
      ca = readFileSync(this.options.resolvePath(m.ca));
      this.cas.set(m.ca, ca);
    }
    return ca;
  }

  agent(m: CompiledMapping): http.Agent {
    const k = this.key(m);
    let agent = this.agents.get(k);
    if (!agent) {
      const common = { keepAlive: true, maxFreeSockets: this.options.maxIdleSockets, scheduling: 'lifo' as const };
      agent = m.protocol === 'https' ? new https.Agent({ ...common, ca: this.ca(m), servername: isIp(m.internalHost) ? undefined : m.internalHost }) : new http.Agent(common);
      this.agents.set(k, agent);
    }
    return agent;
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}

export function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
