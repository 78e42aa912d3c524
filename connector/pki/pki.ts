// The tunnel's private PKI: one CA, a relay server certificate and one client certificate per connector,
// all ECDSA P-256, written as PEM files. The relay trusts connectors whose certificates this CA signed.
//
// @peculiar/x509 v2 resolves its services through tsyringe, which throws at load time unless a Reflect
// metadata polyfill is installed, so reflect-metadata must be evaluated before @peculiar/x509. ESM
// evaluates imports in source order. Import @peculiar/x509 through this module (`x509` below), not
// directly, so that the polyfill and the crypto provider are always in place.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

// Node's webcrypto types; the project compiles without the DOM lib that declares them globally.
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto);

export { x509 };

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;
// Backdated so that a peer whose clock runs a little behind still accepts a certificate issued just now.
const CLOCK_SKEW_MS = 5 * 60 * 1000;

export const CA_VALIDITY_DAYS = 3650;
export const LEAF_VALIDITY_DAYS = 825;
export const DEFAULT_RELAY_HOSTS: readonly string[] = ['localhost', '127.0.0.1'];
export const DEFAULT_CONNECTOR_NAME = 'connector-1';

/** A certificate with its private key, both as objects and as PEM text. */
export interface IssuedCertificate {
  readonly certificate: x509.X509Certificate;
  readonly privateKey: CryptoKey;
  readonly certPem: string;
  /** PKCS#8 ("BEGIN PRIVATE KEY"), which Node's tls and OpenSSL both read. */
  readonly keyPem: string;
}

export class PkiError extends Error {
  override readonly name = 'PkiError';
}

/** Connector names become file names and certificate CNs: keep them to a safe, portable alphabet. */
const CONNECTOR_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const RESERVED_NAMES = new Set(['ca', 'relay']);

export function validateConnectorName(name: string): void {
  if (!CONNECTOR_NAME.test(name)) {
    throw new PkiError(`invalid connector name "${name}": use 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
  if (RESERVED_NAMES.has(name.toLowerCase())) {
    throw new PkiError(`invalid connector name "${name}": "ca" and "relay" are the CA's and the relay's own file names`);
  }
}

function serialNumber(): string {
  const bytes = randomBytes(16);
  // Positive and without a leading zero byte, so the DER INTEGER is minimal and non-negative.
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex');
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + days * DAY_MS) };
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function issued(certificate: x509.X509Certificate, privateKey: CryptoKey): Promise<IssuedCertificate> {
  return { certificate, privateKey, certPem: certificate.toString('pem'), keyPem: await privateKeyPem(privateKey) };
}

export async function createCa(options: { commonName?: string; validityDays?: number } = {}): Promise<IssuedCertificate> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: [{ CN: [options.commonName ?? 'Tunnelwatch CA'] }],
    ...validity(options.validityDays ?? CA_VALIDITY_DAYS),
    signingAlgorithm: SIGNING_ALGORITHM,
    keys,
    extensions: [
      // pathLen 0: this CA signs leaf certificates only, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return issued(certificate, keys.privateKey);
}

/** Reads a CA back from PEM; the key may be PKCS#8 or SEC1 ("EC PRIVATE KEY"), e.g. made by openssl. */
export async function loadCa(certPem: string, keyPem: string): Promise<IssuedCertificate> {
  const certificate = new x509.X509Certificate(certPem);
  const basic = certificate.getExtension(x509.BasicConstraintsExtension);
  if (!basic?.ca) throw new PkiError(`the certificate "${certificate.subject}" is not a CA (basicConstraints CA:FALSE or missing)`);
  let pkcs8: Buffer;
  try {
    pkcs8 = createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' });
  } catch (err) {
    throw new PkiError('the CA private key cannot be read: expected an unencrypted PEM private key', { cause: err });
  }
  let privateKey: CryptoKey;
  try {
    privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, KEY_ALGORITHM, true, ['sign']);
  } catch (err) {
    throw new PkiError('the CA private key is not an ECDSA P-256 key', { cause: err });
  }
  // A key that does not belong to the certificate would issue certificates nobody can verify.
  const probe = randomBytes(32);
  const signature = await webcrypto.subtle.sign(SIGNING_ALGORITHM, privateKey, probe);
  const publicKey = await certificate.publicKey.export(KEY_ALGORITHM, ['verify']);
  if (!(await webcrypto.subtle.verify(SIGNING_ALGORITHM, publicKey, signature, probe))) {
    throw new PkiError('the CA private key does not match the CA certificate');
  }
  return { certificate, privateKey, certPem: certificate.toString('pem'), keyPem: await privateKeyPem(privateKey) };
}

interface LeafOptions {
  readonly commonName: string;
  readonly usage: x509.ExtendedKeyUsage;
  readonly altNames?: x509.JsonGeneralName[];
  readonly validityDays: number;
}

async function issueLeaf(ca: IssuedCertificate, options: LeafOptions): Promise<IssuedCertificate> {
  const keys = await generateKeys();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([options.usage]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(ca.certificate.publicKey),
  ];
  if (options.altNames && options.altNames.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(options.altNames));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: [{ CN: [options.commonName] }],
    issuer: ca.certificate.subjectName,
    ...validity(options.validityDays),
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    extensions,
  });
  return issued(certificate, keys.privateKey);
}

/** The relay's TLS server certificate; each host becomes a DNS or IP subject alternative name. */
export async function issueRelayCertificate(
  ca: IssuedCertificate,
  options: { hosts?: readonly string[]; validityDays?: number } = {},
): Promise<IssuedCertificate> {
  const hosts = [...new Set(options.hosts && options.hosts.length > 0 ? options.hosts : DEFAULT_RELAY_HOSTS)];
  const altNames = hosts.map((host): x509.JsonGeneralName => {
    if (isIP(host)) return { type: 'ip', value: host };
    if (!/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(host)) {
      throw new PkiError(`invalid relay host "${host}": give a DNS name or an IP address`);
    }
    return { type: 'dns', value: host.toLowerCase() };
  });
  return issueLeaf(ca, {
    commonName: hosts[0] ?? 'localhost',
    usage: x509.ExtendedKeyUsage.serverAuth,
    altNames,
    validityDays: options.validityDays ?? LEAF_VALIDITY_DAYS,
  });
}

/** A connector's TLS client certificate; the relay identifies the connector by the subject CN. */
export async function issueConnectorCertificate(
  ca: IssuedCertificate,
  options: { name: string; validityDays?: number },
): Promise<IssuedCertificate> {
  validateConnectorName(options.name);
  return issueLeaf(ca, {
    commonName: options.name,
    usage: x509.ExtendedKeyUsage.clientAuth,
    validityDays: options.validityDays ?? LEAF_VALIDITY_DAYS,
  });
}

export interface PemFile {
  readonly name: string;
  readonly content: string;
  /** True for private keys: written with mode 0600. */
  readonly secret: boolean;
}

export function pemFiles(baseName: string, cert: IssuedCertificate): PemFile[] {
  return [
    { name: `${baseName}.crt`, content: cert.certPem, secret: false },
    { name: `${baseName}.key`, content: cert.keyPem, secret: true },
  ];
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/**
 * Writes the files into dir (created if needed). Without force, refuses before writing anything when any
 * of them exists, so a CA key is never replaced by accident (that would orphan every issued certificate).
 * Returns the paths written.
 */
export async function writePemFiles(dir: string, files: readonly PemFile[], options: { force?: boolean } = {}): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths = files.map((f) => join(dir, f.name));
  if (!options.force) {
    const taken = [];
    for (const p of paths) if (await exists(p)) taken.push(p);
    if (taken.length > 0) throw new PkiError(`refusing to overwrite ${taken.join(', ')}: pass --force to replace them`);
  }
  for (const [i, file] of files.entries()) {
    const path = paths[i] as string;
    const mode = file.secret ? 0o600 : 0o644;
    // 'wx' fails if a file appeared since the check; with force, 'w' truncates. chmod covers a file that
    // existed before with a wider mode (open's mode only applies to files it creates).
    const handle = await open(path, options.force ? 'w' : 'wx', mode);
    try {
      await handle.chmod(mode);
      await handle.writeFile(file.content);
    } finally {
      await handle.close();
    }
  }
  return paths;
}

/** The file layout of a PKI directory, shared by `pki init`, `pki issue` and the tests. */
export const PKI_FILES = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  relayCert: 'relay.crt',
  relayKey: 'relay.key',
  connectorCert: (name: string) => `${name}.crt`,
  connectorKey: (name: string) => `${name}.key`,
} as const;

/** Creates a CA, the relay certificate and connector certificates in dir. Returns the paths written. */
export async function initPki(
  dir: string,
  options: { relayHosts?: readonly string[]; connectors?: readonly string[]; force?: boolean } = {},
): Promise<string[]> {
  const connectors = [...new Set(options.connectors && options.connectors.length > 0 ? options.connectors : [DEFAULT_CONNECTOR_NAME])];
  connectors.forEach(validateConnectorName);
  const ca = await createCa();
  const files = [...pemFiles('ca', ca), ...pemFiles('relay', await issueRelayCertificate(ca, { hosts: options.relayHosts ?? [] }))];
  for (const name of connectors) files.push(...pemFiles(name, await issueConnectorCertificate(ca, { name })));
  return writePemFiles(dir, files, { force: options.force ?? false });
}

/** Issues one more connector certificate from the CA already in dir. Returns the paths written. */
export async function issueConnectorFiles(dir: string, name: string, options: { force?: boolean } = {}): Promise<string[]> {
  validateConnectorName(name);
  const caCertPath = join(dir, PKI_FILES.caCert);
  const caKeyPath = join(dir, PKI_FILES.caKey);
  let certPem: string, keyPem: string;
  try {
    [certPem, keyPem] = await Promise.all([readFile(caCertPath, 'utf8'), readFile(caKeyPath, 'utf8')]);
  } catch (err) {
    throw new PkiError(`cannot read the CA (${caCertPath}, ${caKeyPath}): run \`tunnelwatch pki init --out ${dir}\` first`, { cause: err });
  }
  const ca = await loadCa(certPem, keyPem);
  return writePemFiles(dir, pemFiles(name, await issueConnectorCertificate(ca, { name })), { force: options.force ?? false });
}
