// A minimal cloud-app client for the relay: absolute-form HTTP requests and CONNECT.
import http from 'node:http';
import type { Socket } from 'node:net';

export interface RelayAddress {
  host: string;
  port: number;
}

export interface ProxyResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function proxyRequest(relay: RelayAddress, token: string, method: string, url: string, options: { body?: string; headers?: Record<string, string>; agent?: http.Agent } = {}): Promise<ProxyResponse> {
  return new Promise((resolve, reject) => {
    const host = new URL(url).host;
    const req = http.request({
      host: relay.host,
      port: relay.port,
      method,
      path: url,
      agent: options.agent,
      headers: { host, 'proxy-authorization': `Bearer ${token}`, ...(options.headers ?? {}) },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Opens a CONNECT tunnel; resolves with the raw socket on 200, or the refusal status and body. */
export function proxyConnect(relay: RelayAddress, token: string, authority: string, headers: Record<string, string> = {}): Promise<{ status: number; socket?: Socket; body: string; head: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: relay.host,
      port: relay.port,
      method: 'CONNECT',
      path: authority,
      headers: { host: authority, 'proxy-authorization': `Bearer ${token}`, ...headers },
    });
    req.on('connect', (res, socket, head) => {
      if (res.statusCode === 200) return resolve({ status: 200, socket, body: '', head });
      const chunks: Buffer[] = [head];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), head: Buffer.alloc(0) }));
      socket.on('error', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), head: Buffer.alloc(0) }));
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), head: Buffer.alloc(0) }));
    });
    req.on('error', reject);
    req.end();
  });
}
