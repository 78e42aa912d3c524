// Bulk throughput with curl: one large GET written to /dev/null, speed as curl measured it.
import { runTracked } from './tracked-run.js';

export interface DownloadOptions {
  readonly url: string;
  /** HTTP forward proxy, e.g. http://127.0.0.1:PORT, and the Proxy-Authorization header value for it. */
  readonly proxy?: { readonly url: string; readonly authorization: string };
  readonly expectBytes: number;
}

export interface DownloadResult {
  /** Decimal megabytes per second (1 MB = 10^6 bytes). */
  readonly mbPerSec: number;
  readonly seconds: number;
}

export async function download(options: DownloadOptions): Promise<DownloadResult> {
  const args = ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{speed_download} %{time_total}'];
  if (options.proxy) args.push('-x', options.proxy.url, '--proxy-header', `Proxy-Authorization: ${options.proxy.authorization}`);
  args.push(options.url);
  const r = await runTracked('curl', args, 120_000);
  const [status, size, speed, total] = r.stdout.trim().split(' ').map(Number) as [number, number, number, number];
  if (r.code !== 0 || status !== 200 || size !== options.expectBytes) {
    throw new Error(`curl ${options.url}${options.proxy ? ` via ${options.proxy.url}` : ''}: exit ${r.code}, status ${status}, ${size} of ${options.expectBytes} bytes\n${r.stderr}`);
  }
  return { mbPerSec: speed / 1e6, seconds: total };
}

/** The best of n downloads: the least disturbed by whatever else the machine did meanwhile. */
export async function bestOf(n: number, options: DownloadOptions, onEach?: (r: DownloadResult, i: number) => void): Promise<DownloadResult & { all: number[] }> {
  const all: DownloadResult[] = [];
  for (let i = 0; i < n; i++) {
    const r = await download(options);
    all.push(r);
    onEach?.(r, i);
  }
  const best = all.reduce((a, b) => (b.mbPerSec > a.mbPerSec ? b : a));
  return { ...best, all: all.map((r) => r.mbPerSec) };
}
