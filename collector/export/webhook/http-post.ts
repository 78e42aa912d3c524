// One HTTP(S) POST with a time limit and an abort signal, on a keep-alive agent. Resolves with the status,
// the Retry-After header and the start of the body; rejects on connection errors and timeouts (the caller
// counts those as retryable).
import http from 'node:http';
import https from 'node:https';

export interface PostResult {
  readonly status: number;
  readonly retryAfter: string | undefined;
  /** The first bytes of the answer, for the reason of a refusal. */
  readonly body: string;
}

const BODY_KEPT = 2000;

export function createPoster(url: URL, options: { ca?: Buffer; timeoutMs: number }): { post(body: Buffer, headers: Record<string, string>, signal: AbortSignal): Promise<PostResult>; close(): void } {
  const secure = url.protocol === 'https:';
  const agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 4, ...(options.ca ? { ca: options.ca } : {}) }) : new http.Agent({ keepAlive: true, maxSockets: 4 });
  const request = secure ? https.request : http.request;
  return {
    post(body, headers, signal) {
      return new Promise((resolve, reject) => {
        const req = request(url, { method: 'POST', agent, signal, headers: { ...headers, 'content-length': String(body.length) } });
        const timer = setTimeout(() => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
        req.on('response', (res) => {
          let kept = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (kept.length < BODY_KEPT) kept += chunk.slice(0, BODY_KEPT - kept.length);
          });
          res.on('end', () => {
            clearTimeout(timer);
            const retryAfter = res.headers['retry-after'];
            resolve({ status: res.statusCode ?? 0, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, body: kept });
          });
          res.on('error', (err) => {
            clearTimeout(timer);
            reject(err);
          });
        });
        req.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}
