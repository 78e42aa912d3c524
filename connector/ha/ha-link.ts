// The HA link between the two connectors of a pair, and from the CLI to its own connector: HTTPS with
// client certificates from the tunnel CA, where each side checks the other's certificate CN (the connector
// id) instead of a host name, so the peer is identified by who it is, not by where it answers.
import https from 'node:https';
import { isIP } from 'node:net';
import type { PeerCertificate } from 'node:tls';
import { splitHostPort } from '../../common/config/schema-parts.js';
import type { HaConfig } from '../agent/config-schema.js';
import { readTlsFiles, type TlsMaterial } from '../tunnel/tls-files.js';
import { checkHaCertificate } from './ha-pki.js';
import { resolveFrom } from '../../common/config/load-config.js';

/** Reads ha.tls and checks the certificate fits (CN = connector id, serverAuth + clientAuth). */
export function readHaTls(configFile: string, ha: HaConfig, connectorId: string): TlsMaterial {
  const material = readTlsFiles(configFile, 'ha.tls', ha.tls);
  checkHaCertificate(material.cert, connectorId, resolveFrom(configFile, ha.tls.cert));
  return material;
}

/** Where to reach a listener from the same host: a wildcard listen address is reached on loopback. */
export function localAddress(listen: string): string {
  const { host, port } = splitHostPort(listen);
  if (host === '0.0.0.0' || host === '') return `127.0.0.1:${port}`;
  if (host === '::' || host === '[::]') return `[::1]:${port}`;
  return listen;
}

export function peerCn(cert: PeerCertificate | undefined): string {
  const cn = cert?.subject?.CN;
  return typeof cn === 'string' ? cn : '';
}

export interface HaAnswer<T> {
  status: number;
  body: T | undefined;
}

export interface HaClientOptions {
  /** host:port of the HA listener. */
  address: string;
  /** The connector id the listener's certificate must name (CN). */
  expectId: string;
  tls: TlsMaterial;
}

/** Requests to one HA listener over a kept-alive connection (a check every second need not handshake each time). */
export class HaClient {
  private readonly agent: https.Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(private readonly options: HaClientOptions) {
    const { host, port } = splitHostPort(options.address);
    this.host = host.replace(/^\[|\]$/g, '');
    this.port = port;
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 4, maxFreeSockets: 2 });
  }

  request<T>(method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number): Promise<HaAnswer<T>> {
    const { tls, expectId } = this.options;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request({
        host: this.host,
        port: this.port,
        method,
        path,
        agent: this.agent,
        cert: tls.cert,
        key: tls.key,
        ca: tls.ca,
        minVersion: 'TLSv1.2',
        ...(isIP(this.host) ? {} : { servername: this.host }),
        checkServerIdentity: (_host, cert) =>
          peerCn(cert) === expectId ? undefined : new Error(`the HA listener at ${this.options.address} presented CN "${peerCn(cert)}", expected "${expectId}"`),
        headers: { accept: 'application/json', ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
      });
      const timer = setTimeout(() => req.destroy(new Error(`no answer from the HA listener at ${this.options.address} within ${timeoutMs} ms`)), timeoutMs);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          let parsed: T | undefined;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
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
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
