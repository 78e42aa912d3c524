// One GET, directly or through an HTTP forward proxy: to wait for a path to work and to check it answers 200.
import http from 'node:http';

export interface ProbeTarget {
  /** Where to connect. */
  readonly port: number;
  /** Origin-form path (direct) or absolute URL (through a proxy). */
  readonly path: string;
  readonly headers?: Record<string, string>;
}

export interface ProbeResult {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

export function probe(target: ProbeTarget, timeoutMs = 2000): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: target.port, path: target.path, headers: target.headers, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Throws unless the target answers 200 with the expected body; says what came back instead. */
export async function expect200(label: string, target: ProbeTarget, body: string): Promise<void> {
  const r = await probe(target);
  if (r.status !== 200 || r.body !== body) {
    const why = r.headers['x-tunnel-error'] ? ` (x-tunnel-error: ${String(r.headers['x-tunnel-error'])})` : '';
    // First line for reports, body below it for whoever debugs.
    throw new Error(`${label}: expected 200 with the ${body.length}-byte test body, got ${r.status}${why}\n${r.body.slice(0, 300)}`);
  }
}
