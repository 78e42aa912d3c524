// Cloud-app side clients for system tests: absolute-form HTTP requests and raw CONNECTs to the relay's
// proxy port, each bounded in time (they reject instead of hanging).
import http from 'node:http';
import net from 'node:net';

export interface ProxyResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** Wall time from sending the request to the end of the body. */
  readonly ms: number;
}

export interface ProxyRequestOptions {
  /** Sent as `Proxy-Authorization: Bearer <token>`. */
  readonly token?: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Rejects (and destroys the request) when the whole answer has not arrived by then. Default 10000 ms. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** A keep-alive agent to reuse a warm connection; default: a fresh connection per request. */
  readonly agent?: http.Agent;
}

/** Sends `METHOD <url> HTTP/1.1` (absolute form) to the relay's proxy port and reads the whole answer. */
export function proxyRequest(proxyPort: number, url: string, options: ProxyRequestOptions = {}): Promise<ProxyResponse> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 10_000;
  const headers: Record<string, string> = { host: /^http:\/\/([^/?#]*)/i.exec(url)?.[1] ?? '', ...(options.headers ?? {}) };
  if (options.token !== undefined) headers['proxy-authorization'] = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: proxyPort,
      method: options.method ?? 'GET',
      path: url,
      headers,
      agent: options.agent ?? false,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const timer = setTimeout(() => req.destroy(new Error(`no complete answer to ${url} within ${timeoutMs} ms`)), timeoutMs);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started });
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
    req.end(options.body);
  });
}

/** The parsed JSON refusal body of the relay or connector, or undefined when the body is not one. */
export function refusalOf(body: string): { code: string; status: number; deny_reason: string; error_type: string; detail: string } | undefined {
  try {
    return (JSON.parse(body) as { error?: { code: string; status: number; deny_reason: string; error_type: string; detail: string } }).error;
  } catch {
    return undefined;
  }
}

export interface ConnectResult {
  readonly status: number;
  /** The response head (status line and header lines), without the blank line. */
  readonly head: string;
  /** Header names in lower case. */
  readonly headers: Record<string, string>;
  /** For a refusal: the body up to the close; for 200: ''. */
  readonly body: string;
  /** For 200: the open tunnel (bytes after the head are unshifted back into it). Destroyed otherwise. */
  readonly socket: net.Socket;
}

export interface ConnectOptions {
  readonly token?: string;
  /** The full Proxy-Authorization value, instead of the Bearer token. */
  readonly authorization?: string;
  readonly headers?: Record<string, string>;
  /** Bound on reaching a complete answer (head for 200, head and body otherwise). Default 10000 ms. */
  readonly timeoutMs?: number;
}

/** `CONNECT authority HTTP/1.1` on a fresh socket to the proxy port. */
export function proxyConnect(proxyPort: number, authority: string, options: ConnectOptions = {}): Promise<ConnectResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let request = `CONNECT ${authority} HTTP/1.1\r\nhost: ${authority}\r\n`;
  const auth = options.authorization ?? (options.token !== undefined ? `Bearer ${options.token}` : undefined);
  if (auth !== undefined) request += `proxy-authorization: ${auth}\r\n`;
  for (const [name, value] of Object.entries(options.headers ?? {})) request += `${name}: ${value}\r\n`;
  request += '\r\n';
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: proxyPort });
    let buf = Buffer.alloc(0);
    let parsed: { status: number; head: string; headers: Record<string, string>; bodyStart: number } | undefined;
    let settled = false;
    const finish = (err: Error | undefined, result?: ConnectResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      if (err) {
        socket.destroy();
        reject(err);
      } else resolve(result as ConnectResult);
    };
    const timer = setTimeout(() => finish(new Error(`no complete answer to CONNECT ${authority} within ${timeoutMs} ms (got ${JSON.stringify(buf.toString('latin1').slice(0, 300))})`)), timeoutMs);
    const complete = (): void => {
      if (!parsed) return;
      const body = buf.subarray(parsed.bodyStart).toString('utf8');
      socket.destroy();
      finish(undefined, { status: parsed.status, head: parsed.head, headers: parsed.headers, body, socket });
    };
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (!parsed) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buf.subarray(0, end).toString('latin1');
        const [statusLine = '', ...lines] = head.split('\r\n');
        const headers: Record<string, string> = {};
        for (const line of lines) {
          const colon = line.indexOf(':');
          if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        parsed = { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0), head, headers, bodyStart: end + 4 };
        if (parsed.status === 200) {
          const rest = buf.subarray(parsed.bodyStart);
          if (rest.length > 0) socket.unshift(rest);
          finish(undefined, { status: 200, head, headers, body: '', socket });
          return;
        }
      }
      const length = Number(parsed.headers['content-length'] ?? NaN);
      if (Number.isFinite(length) && buf.length - parsed.bodyStart >= length) complete();
    };
    socket.on('data', onData);
    socket.on('end', () => (parsed ? complete() : finish(new Error(`CONNECT ${authority}: connection closed before a response head (got ${JSON.stringify(buf.toString('latin1'))})`))));
    socket.on('error', (err) => finish(err));
    socket.on('connect', () => socket.write(request));
  });
}

/** Resolves when the socket has closed; rejects if it is still open after timeoutMs. */
export function socketClosed(socket: net.Socket, timeoutMs: number): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the socket was still open after ${timeoutMs} ms`)), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
