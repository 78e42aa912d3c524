// Backends that fail the way real ones do, on 127.0.0.1, for the diagnostics tests: a closed port, one that
// accepts and hangs, HTTP answers of any status, TLS with bad certificates, banners. Each returns a port
// and a close(); certificates are made on the spot (a CA, and leaves valid, expired, for another host).
import { webcrypto } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import assert from 'node:assert/strict';
import type { MappingConfig } from '../../connector/agent/config-schema.js';
import { runCheck, type CheckOptions } from '../../connector/diagnostics/run-check.js';
import type { CheckReport, CheckStep, CheckStepName } from '../../connector/diagnostics/types.js';
import { x509 } from '../../connector/pki/pki.js';

export interface Backend {
  readonly port: number;
  close(): Promise<void>;
}

/** A port nothing listens on: bound, then closed. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await listen(server, 0);
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function listen(server: net.Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Tracks sockets so close() does not wait for a client that keeps its connection open. */
function closer(server: net.Server): () => Promise<void> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('error', () => {});
    s.once('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: tls.TLSSocket) => s.on('error', () => {}));
  server.on('tlsClientError', () => {});
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

/** Accepts connections and never says a word. */
export async function startHangingBackend(port = 0): Promise<Backend> {
  const server = net.createServer(() => {});
  const close = closer(server);
  return { port: await listen(server, port), close };
}

/** Reads the request, then resets the connection without a word. */
export async function startResettingBackend(): Promise<Backend> {
  const server = net.createServer((s) => s.once('data', () => s.resetAndDestroy()));
  const close = closer(server);
  return { port: await listen(server, 0), close };
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** An HTTP backend; records every request it got. */
export async function startHttpBackend(handler: Handler, port = 0): Promise<Backend & { requests: http.IncomingMessage[] }> {
  const requests: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  const close = closer(server);
  return { port: await listen(server, port), close, requests };
}

export const answer = (status: number, headers: http.OutgoingHttpHeaders = {}): Handler => (_req, res) => {
  res.writeHead(status, { 'content-type': 'text/plain', ...headers });
  res.end(`status ${status}\n`);
};

export interface TlsBackendOptions {
  readonly cert: string;
  readonly key: string;
  /** Ask for a client certificate and refuse the handshake without one. */
  readonly requireClientCert?: boolean;
  readonly maxVersion?: tls.SecureVersion;
  /** Answer HTTP (default) or send a banner and keep the connection open. */
  readonly handler?: Handler;
  readonly banner?: string;
}

export async function startTlsBackend(o: TlsBackendOptions, port = 0): Promise<Backend> {
  const tlsOptions: tls.TlsOptions = {
    cert: o.cert,
    key: o.key,
    maxVersion: o.maxVersion,
    ...(o.requireClientCert ? { requestCert: true, rejectUnauthorized: true, ca: o.cert } : {}),
  };
  const server = o.banner !== undefined
    ? tls.createServer(tlsOptions, (s) => s.write(o.banner ?? ''))
    : https.createServer(tlsOptions, o.handler ?? answer(200));
  const close = closer(server);
  return { port: await listen(server, port), close };
}

/** Plain TCP: greets every connection with a banner and waits. */
export async function startBannerBackend(banner: string): Promise<Backend> {
  const server = net.createServer((s) => s.write(banner));
  const close = closer(server);
  return { port: await listen(server, 0), close };
}

export interface Pem {
  readonly cert: string;
  readonly key: string;
}

export interface TestCertificates {
  readonly ca: Pem;
  /** For localhost and 127.0.0.1, signed by ca, valid a year. */
  readonly valid: Pem;
  /** Signed by ca, expired ten days ago. */
  readonly expired: Pem;
  /** Signed by ca, valid, but for other.example only. */
  readonly wrongHost: Pem;
  /** Signed by ca, valid, expires in five days. */
  readonly expiringSoon: Pem;
  /** For localhost and 127.0.0.1, signed by itself. */
  readonly selfSigned: Pem;
}

const DAY = 86_400_000;
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function keys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function keyPem(k: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', k), 'PRIVATE KEY');
}

function serial(): string {
  return `${Math.floor(Math.random() * 1e12).toString(16)}01`;
}

function sans(hosts: readonly string[]): x509.SubjectAlternativeNameExtension {
  return new x509.SubjectAlternativeNameExtension(hosts.map((h) => (net.isIP(h) ? { type: 'ip', value: h } : { type: 'dns', value: h })));
}

async function leaf(ca: { cert: x509.X509Certificate; key: webcrypto.CryptoKey }, cn: string, hosts: readonly string[], from: number, to: number): Promise<Pem> {
  const k = await keys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${cn}`,
    issuer: ca.cert.subject,
    notBefore: new Date(from),
    notAfter: new Date(to),
    signingAlgorithm: ALG,
    publicKey: k.publicKey,
    signingKey: ca.key,
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true), sans(hosts), await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey)],
  });
  return { cert: cert.toString('pem'), key: await keyPem(k.privateKey) };
}

export async function makeCertificates(): Promise<TestCertificates> {
  const now = Date.now();
  const caKeys = await keys();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=Diagnostics Test CA',
    notBefore: new Date(now - 30 * DAY),
    notAfter: new Date(now + 3650 * DAY),
    signingAlgorithm: ALG,
    keys: caKeys,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true), await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey)],
  });
  const ca = { cert: caCert, key: caKeys.privateKey };
  const local = ['localhost', '127.0.0.1'];
  const selfKeys = await keys();
  const self = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=localhost',
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 365 * DAY),
    signingAlgorithm: ALG,
    keys: selfKeys,
    extensions: [sans(local)],
  });
  return {
    ca: { cert: caCert.toString('pem'), key: await keyPem(caKeys.privateKey) },
    valid: await leaf(ca, 'localhost', local, now - DAY, now + 365 * DAY),
    expired: await leaf(ca, 'localhost', local, now - 100 * DAY, now - 10 * DAY),
    wrongHost: await leaf(ca, 'other.example', ['other.example'], now - DAY, now + 365 * DAY),
    expiringSoon: await leaf(ca, 'localhost', local, now - DAY, now + 5 * DAY + 3_600_000),
    selfSigned: { cert: self.toString('pem'), key: await keyPem(selfKeys.privateKey) },
  };
}

/** A mapping to a backend under test; the virtual side does not matter to a check except for Host. */
export function backendMapping(internal: string, protocol: MappingConfig['protocol'], extra: Partial<MappingConfig> = {}): MappingConfig {
  return { virtual: 'erp.virtual:443', internal, protocol, host_header: 'virtual', resources: [], ...extra };
}

/** runCheck for subaccount acme of connector-1 with these options (overridable per call). */
export function checker(options: () => CheckOptions): (m: MappingConfig, overrides?: Partial<CheckOptions>) => Promise<CheckReport> {
  return (m, overrides = {}) => runCheck({ connectorId: 'connector-1', locationId: '', subaccount: 'acme', mapping: m, trigger: 'cli' }, { ...options(), ...overrides });
}

export function stepOf(report: CheckReport, name: CheckStepName): CheckStep {
  const s = report.steps.find((x) => x.step === name);
  assert.ok(s, `step ${name} in ${JSON.stringify(report)}`);
  return s;
}

/** "dns:ok tcp:fail tls:skipped ..." */
export function outcomesOf(report: CheckReport): string {
  return report.steps.map((s) => `${s.step}:${s.outcome}`).join(' ');
}
