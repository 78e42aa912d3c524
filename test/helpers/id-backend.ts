// Tiny in-process HTTP backends for system tests: each answers with its own name (so a test can tell which
// backend a call reached), or, in stall mode, accepts requests and never answers.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}

export interface IdBackend {
  readonly name: string;
  readonly port: number;
  /** Every request received, oldest first (also the stalled ones). */
  readonly requests: SeenRequest[];
  /** Requests whose connection went away before an answer (stall mode: the caller gave up). */
  abandoned(): number;
  /** Requests received but not answered and still connected. */
  pending(): number;
  stop(): Promise<void>;
}

export interface IdAnswer {
  backend: string;
  method: string;
  url: string;
  host: string;
  headers: http.IncomingHttpHeaders;
}

export async function startIdBackend(name: string, options: { stall?: boolean } = {}): Promise<IdBackend> {
  const requests: SeenRequest[] = [];
  let abandoned = 0;
  let pending = 0;
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (options.stall) {
      pending++;
      res.on('close', () => {
        pending--;
        abandoned++;
      });
      req.resume();
      return;
    }
    req.resume();
    req.on('end', () => {
      const answer: IdAnswer = { backend: name, method: req.method ?? '', url: req.url ?? '', host: req.headers.host ?? '', headers: req.headers };
      const body = `${JSON.stringify(answer)}\n`;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-backend': name });
      res.end(body);
    });
  });
  // A stalled request must never be cut by node's own server timeouts: the test decides when it ends.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    port,
    requests,
    abandoned: () => abandoned,
    pending: () => pending,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
