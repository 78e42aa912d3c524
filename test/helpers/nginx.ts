// A throwaway nginx (Debian's /usr/sbin/nginx) as the HTTP backend of system tests. Everything it writes
// (config, pid, logs, temp files) lives in a temp dir of its own; it listens on 127.0.0.1 only.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { startProcess, waitFor, type StartedProcess } from './processes.js';

export const NGINX_BIN = '/usr/sbin/nginx';

export interface NginxOptions {
  /** Directory to serve instead of the built-in site (its files are used as they are). */
  readonly root?: string;
  readonly port?: number;
  /** Extra directives inside the server block, e.g. `location /slow { ... }`. */
  readonly extraConfig?: string;
  /** Creates /big.bin of this many MiB (sparse: instant, reads as zeros) in the served root. */
  readonly bigFileMb?: number;
}

/** One request as nginx logged it. */
export interface AccessEntry {
  /** The request line exactly as received, e.g. `GET /api/orders/1?x=%20 HTTP/1.1`. */
  readonly request: string;
  readonly status: number;
  readonly host: string;
  readonly bodyBytesSent: number;
  readonly userAgent: string;
  readonly forwardedFor: string;
}

export interface Nginx {
  readonly port: number;
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  readonly url: string;
  readonly root: string;
  /** Path and size of the file made by bigFileMb. */
  readonly bigFile?: { readonly path: string; readonly bytes: number };
  /**
   * The request lines received so far, oldest first. nginx logs a request after answering it, so pass
   * atLeast to wait (up to timeoutMs, default 5000) until that many lines are there.
   */
  accessLog(options?: { atLeast?: number; timeoutMs?: number }): Promise<string[]>;
  accessEntries(options?: { atLeast?: number; timeoutMs?: number }): Promise<AccessEntry[]>;
  stop(): Promise<void>;
}

/** The built-in site: a page and a small JSON API. */
export const ORDERS = [
  { id: 1, item: 'valve', quantity: 3 },
  { id: 2, item: 'pump', quantity: 1 },
] as const;

async function writeSite(root: string): Promise<void> {
  await mkdir(join(root, 'api', 'orders'), { recursive: true });
  await writeFile(join(root, 'index.html'), '<!doctype html>\n<title>tunnelwatch test backend</title>\n<h1>backend ok</h1>\n');
  await writeFile(join(root, 'api', 'orders', 'index.json'), `${JSON.stringify({ orders: ORDERS })}\n`);
  for (const order of ORDERS) await writeFile(join(root, 'api', 'orders', String(order.id)), `${JSON.stringify(order)}\n`);
}

function config(dir: string, root: string, port: number, readyToken: string, extra: string): string {
  // `user root` lets workers read the 0700 temp dir when the master runs as root; nginx ignores it otherwise.
  const user = process.getuid?.() === 0 ? 'user root;' : '';
  return `${user}
daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  types { text/html html; application/json json; text/plain txt; application/octet-stream bin; }
  default_type application/octet-stream;
  sendfile on;
  keepalive_requests 100000;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  log_format tw_request '$request';
  log_format tw_json escape=json '{"request":"$request","status":$status,"host":"$http_host","bodyBytesSent":$body_bytes_sent,"userAgent":"$http_user_agent","forwardedFor":"$http_x_forwarded_for"}';
  access_log ${dir}/access.log tw_request;
  access_log ${dir}/access.json tw_json;
  server {
    listen 127.0.0.1:${port};
    server_name _;
    root ${root};
    index index.html index.json;
    location = /__tunnelwatch_ready { access_log off; default_type text/plain; return 200 '${readyToken}'; }
    location /api/ { default_type application/json; }
    location = /api/orders { default_type application/json; try_files /api/orders/index.json =404; }
    # Answers any method with what nginx received (the body is read and dropped).
    location = /echo { default_type application/json; return 200 '{"method":"$request_method","uri":"$request_uri","host":"$http_host"}\\n'; }
${extra}
  }
}
`;
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function readLines(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line.length > 0);
}

/** Starts nginx on `conf` in `dir`; on failure removes `dir` and throws with nginx's error log. */
async function runNginx(dir: string, conf: string, ready: () => Promise<boolean>): Promise<StartedProcess> {
  try {
    return await startProcess(NGINX_BIN, ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf], { readyWhen: ready, timeoutMs: 10_000 });
  } catch (err) {
    const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n--- nginx error.log ---\n${log}`, { cause: err });
  }
}

export async function startNginx(options: NginxOptions = {}): Promise<Nginx> {
  const dir = await mkdtemp(join(tmpdir(), 'tw-nginx-'));
  const root = options.root ?? join(dir, 'site');
  if (!options.root) await writeSite(root);
  let bigFile: Nginx['bigFile'];
  if (options.bigFileMb !== undefined) {
    const bytes = Math.round(options.bigFileMb * 1024 * 1024);
    const handle = await open(join(root, 'big.bin'), 'w');
    await handle.truncate(bytes);
    await handle.close();
    bigFile = { path: '/big.bin', bytes };
  }
  const port = options.port ?? (await freePort());
  // A token only this instance returns: a stray server already on the port cannot pass for it.
  const readyToken = randomBytes(8).toString('hex');
  const conf = join(dir, 'nginx.conf');
  await writeFile(conf, config(dir, root, port, readyToken, options.extraConfig ?? ''));
  const url = `http://127.0.0.1:${port}`;
  const started = await runNginx(dir, conf, async () => (await get(`${url}/__tunnelwatch_ready`)).body === readyToken);

  async function lines(path: string, opts: { atLeast?: number; timeoutMs?: number } = {}): Promise<string[]> {
    const atLeast = opts.atLeast ?? 0;
    if (atLeast === 0) return readLines(path);
    return waitFor(async () => {
      const found = await readLines(path);
      return found.length >= atLeast ? found : undefined;
    }, { timeoutMs: opts.timeoutMs ?? 5000, message: `${atLeast} lines in the nginx access log` });
  }

  return {
    port,
    url,
    root,
    ...(bigFile ? { bigFile } : {}),
    accessLog: (opts) => lines(join(dir, 'access.log'), opts),
    accessEntries: async (opts) => (await lines(join(dir, 'access.json'), opts)).map((l) => JSON.parse(l) as AccessEntry),
    async stop() {
      await started.stop('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Where Debian's libnginx-mod-stream puts the stream module (scripts/system-deps.mjs installs it). */
export const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

export interface TcpBalancer {
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * nginx's stream module as a TCP load balancer in front of `upstreamPort`, sending the PROXY protocol
 * (v1, as nginx does) and connecting from `bindAddress` (a loopback address of its own, so the upstream
 * can tell it from direct clients).
 */
export async function startTcpBalancer(upstreamPort: number, bindAddress: string): Promise<TcpBalancer> {
  const dir = await mkdtemp(join(tmpdir(), 'tw-nginx-lb-'));
  const port = await freePort();
  const user = process.getuid?.() === 0 ? 'user root;' : '';
  const conf = join(dir, 'nginx.conf');
  await writeFile(conf, `load_module ${NGINX_STREAM_MODULE};
${user}
daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
stream {
  server {
    listen 127.0.0.1:${port};
    proxy_pass 127.0.0.1:${upstreamPort};
    proxy_protocol on;
    proxy_bind ${bindAddress};
  }
}
`);
  const started = await runNginx(dir, conf, () => new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  }));
  return {
    port,
    async stop() {
      await started.stop('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
