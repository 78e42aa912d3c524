// wrk (Debian's /usr/bin/wrk) as the load generator: one run, its output parsed into numbers.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runTracked } from './tracked-run.js';

export const WRK_BIN = '/usr/bin/wrk';

export interface WrkOptions {
  /** Where wrk connects, e.g. http://127.0.0.1:8080 (the relay's proxy port for proxied runs). */
  readonly url: string;
  /** Origin-form path for direct runs (default /); ignored when proxy is set. */
  readonly path?: string;
  /**
   * Proxied run: wrk sends absolute-form requests (`GET http://host:port/path HTTP/1.1`) with these
   * Host and Proxy-Authorization headers. wrk cannot do this by itself, hence the Lua script.
   */
  readonly proxy?: { readonly absoluteUrl: string; readonly proxyAuthorization: string };
  readonly threads: number;
  readonly connections: number;
  readonly durationS: number;
  /** Folder for the generated Lua script. */
  readonly scriptDir: string;
}

export interface WrkResult {
  readonly requests: number;
  readonly durationS: number;
  readonly requestsPerSec: number;
  readonly p50Ms: number;
  readonly p75Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  /** Responses with status >= 400, as wrk counts them ("Non-2xx or 3xx responses"). */
  readonly statusErrors: number;
  readonly socketErrors: { connect: number; read: number; write: number; timeout: number };
  readonly raw: string;
}

function luaString(s: string): string {
  return JSON.stringify(s); // a JSON string literal is a valid Lua string literal for printable ASCII
}

/** The Lua script: static request, no per-response callback (it would cost wrk CPU the servers need). */
export function wrkScript(options: Pick<WrkOptions, 'path' | 'proxy'>): string {
  if (options.proxy) {
    const u = new URL(options.proxy.absoluteUrl);
    return [
      '-- Absolute-form requests to an HTTP forward proxy.',
      `wrk.method = "GET"`,
      `wrk.path = ${luaString(options.proxy.absoluteUrl)}`,
      `wrk.headers["Host"] = ${luaString(u.host)}`,
      `wrk.headers["Proxy-Authorization"] = ${luaString(options.proxy.proxyAuthorization)}`,
      '',
    ].join('\n');
  }
  return `wrk.method = "GET"\nwrk.path = ${luaString(options.path ?? '/')}\n`;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function latencyMs(text: string, percentile: string): number {
  const m = new RegExp(`^\\s*${percentile}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
  if (!m) throw new Error(`wrk output has no ${percentile}% latency line (was --latency passed?)`);
  return Number(m[1]) * (UNIT_MS[m[2] as string] as number);
}

export function parseWrk(text: string): WrkResult {
  const total = /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m)/m.exec(text);
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  if (!total || !rps) throw new Error(`cannot parse wrk output:\n${text}`);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    requests: Number(total[1]),
    durationS: (Number(total[2]) * (UNIT_MS[total[3] as string] as number)) / 1000,
    requestsPerSec: Number(rps[1]),
    p50Ms: latencyMs(text, '50'),
    p75Ms: latencyMs(text, '75'),
    p90Ms: latencyMs(text, '90'),
    p99Ms: latencyMs(text, '99'),
    statusErrors: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: sock
      ? { connect: Number(sock[1]), read: Number(sock[2]), write: Number(sock[3]), timeout: Number(sock[4]) }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
    raw: text,
  };
}

export async function runWrk(options: WrkOptions, label: string): Promise<WrkResult> {
  const script = join(options.scriptDir, `${label.replace(/[^a-z0-9]+/gi, '-')}.lua`);
  await writeFile(script, wrkScript(options));
  const target = options.proxy ? options.url : `${options.url}${options.path ?? '/'}`;
  const args = ['-t', String(options.threads), '-c', String(options.connections), '-d', `${options.durationS}s`, '--latency', '-s', script, target];
  const r = await runTracked(WRK_BIN, args, (options.durationS + 30) * 1000);
  if (r.code !== 0) throw new Error(`wrk ${args.join(' ')} exited with ${r.code ?? r.signal}\n${r.stdout}\n${r.stderr}`);
  return parseWrk(r.stdout);
}

export function socketErrorCount(r: WrkResult): number {
  const s = r.socketErrors;
  return s.connect + s.read + s.write + s.timeout;
}
