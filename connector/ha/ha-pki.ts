// The certificate of a connector's HA link (docs/ha.md): signed by the tunnel CA of `tunnelwatch pki`, CN =
// connector id, with the extended key usages serverAuth (its HA listener) and clientAuth (calling the peer).
// The tunnel's connector certificates carry clientAuth only, and TLS clients refuse a server certificate
// without serverAuth, hence one more certificate per connector. It also works as the tunnel client certificate.
import { randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TunnelwatchError } from '../../common/errors.js';
import { LEAF_VALIDITY_DAYS, loadCa, pemFiles, PKI_FILES, PkiError, validateConnectorName, writePemFiles, x509, type IssuedCertificate } from '../pki/pki.js';

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;
// Backdated like the tunnel certificates, for a peer whose clock runs a little behind.
const CLOCK_SKEW_MS = 5 * 60 * 1000;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export const haCertFiles = (name: string) => ({ cert: `${name}-ha.crt`, key: `${name}-ha.key` });

export async function issueHaCertificate(ca: IssuedCertificate, name: string, validityDays = LEAF_VALIDITY_DAYS): Promise<IssuedCertificate> {
  validateConnectorName(name);
  const keys = (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40;
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial.toString('hex'),
    subject: [{ CN: [name] }],
    issuer: ca.certificate.subjectName,
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + validityDays * DAY_MS),
    signingAlgorithm: SIGNING_ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate.publicKey),
    ],
  });
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { certificate, privateKey: keys.privateKey, certPem: certificate.toString('pem'), keyPem: x509.PemConverter.encode(der, 'PRIVATE KEY') };
}

/** Issues NAME-ha.crt and NAME-ha.key from the CA in dir (ca.crt, ca.key). Returns the paths written. */
export async function issueHaFiles(dir: string, name: string, options: { force?: boolean } = {}): Promise<string[]> {
  validateConnectorName(name);
  let certPem: string, keyPem: string;
  try {
    [certPem, keyPem] = await Promise.all([readFile(join(dir, PKI_FILES.caCert), 'utf8'), readFile(join(dir, PKI_FILES.caKey), 'utf8')]);
  } catch (err) {
    throw new PkiError(`cannot read the CA in ${dir} (ca.crt, ca.key): run \`tunnelwatch pki init --out ${dir}\` first`, { cause: err });
  }
  const ca = await loadCa(certPem, keyPem);
  return writePemFiles(dir, pemFiles(`${name}-ha`, await issueHaCertificate(ca, name)), { force: options.force ?? false });
}

/** Refuses, before anything listens, an HA certificate that the peer would reject or that names another connector. */
export function checkHaCertificate(certPem: Buffer, connectorId: string, file: string): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new TunnelwatchError('TW_ERR_HA_CERTIFICATE', `${file} is not a PEM certificate`, { cause: err });
  }
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? '';
  if (cn !== connectorId) throw new TunnelwatchError('TW_ERR_HA_CERTIFICATE', `${file} has CN "${cn}", connector.id is "${connectorId}"`);
  // No extended key usage extension at all allows every purpose.
  const usages = cert.keyUsage;
  if (!usages) return;
  const missing = [[SERVER_AUTH, 'serverAuth'], [CLIENT_AUTH, 'clientAuth']].filter(([oid]) => !usages.includes(oid as string)).map(([, n]) => n);
  if (missing.length > 0) throw new TunnelwatchError('TW_ERR_HA_CERTIFICATE', `${file} lacks the extended key usage ${missing.join(' and ')}`);
}
