// Judges the certificate chain a server presented, after a handshake that accepted anything: trust (the
// configured CA file or the system store), validity dates on our clock, the host name, and how soon it
// expires. Every problem found is listed; the caller reports the first, in this order of importance.
import { X509Certificate } from 'node:crypto';
import tls, { type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import { daysUntil } from './step-kit.js';

export type CertProblemId = 'tls_self_signed' | 'tls_untrusted_issuer' | 'tls_expired' | 'tls_not_yet_valid' | 'tls_hostname_mismatch' | 'tls_expiring_soon';

export interface CertProblem {
  readonly classification: CertProblemId;
  readonly outcome: 'fail' | 'warn';
  readonly message: string;
}

export interface JudgeOptions {
  /** The name the certificate must be for (internal host, or the relay's server name). */
  readonly host: string;
  /** Where the peer was reached, for messages: host:port. */
  readonly at: string;
  /** PEM text of the trusted CAs, or undefined for the system store. */
  readonly ca?: string;
  /** How to name the trust store in messages: "the mapping's ca /etc/x.pem" or "the system trust store". */
  readonly trustLabel: string;
  readonly now: Date;
  readonly warnDays: number;
}

export interface CertJudgement {
  readonly problems: CertProblem[];
  readonly detail: Record<string, unknown>;
}

const SELF_SIGNED = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN']);
const DATES = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

export function judgeCertificate(socket: TLSSocket, options: JudgeOptions): CertJudgement {
  const peer = socket.getPeerCertificate(true);
  const chain = presentedChain(peer);
  const leaf = chain[0];
  if (!leaf) {
    return { problems: [{ classification: 'tls_untrusted_issuer', outcome: 'fail', message: `${options.at} presented no certificate` }], detail: {} };
  }
  const cert = leaf.x509;
  const name = oneLine(cert.subject);
  const validTo = new Date(cert.validTo);
  const detail: Record<string, unknown> = {
    subject: name,
    issuer: oneLine(cert.issuer),
    valid_from: new Date(cert.validFrom).toISOString(),
    valid_to: validTo.toISOString(),
    days_left: daysUntil(validTo, options.now),
    sans: (cert.subjectAltName ?? '').split(', ').filter(Boolean),
    serial: cert.serialNumber,
    fingerprint256: cert.fingerprint256,
    protocol: socket.getProtocol(),
    cipher: socket.getCipher().name,
    trust: options.trustLabel,
    authorization_error: authorizationCode(socket),
    chain: chain.map((c) => ({ subject: oneLine(c.x509.subject), issuer: oneLine(c.x509.issuer), valid_to: new Date(c.x509.validTo).toISOString() })),
  };
  const problems: CertProblem[] = [];
  const of = `the certificate of ${options.at} (${name})`;

  const trust = trustVerdict(socket, chain.map((c) => c.x509), options.ca);
  if (trust === 'self_signed') {
    problems.push({ classification: 'tls_self_signed', outcome: 'fail', message: `${of} is self-signed and not trusted by ${options.trustLabel}` });
  } else if (trust !== 'trusted') {
    problems.push({ classification: 'tls_untrusted_issuer', outcome: 'fail', message: `${of} was issued by ${oneLine(cert.issuer)}, which ${options.trustLabel} does not trust (${trust})` });
  }
  for (const [i, c] of chain.entries()) {
    const which = i === 0 ? of : `the chain certificate ${oneLine(c.x509.subject)} of ${options.at}`;
    const notAfter = new Date(c.x509.validTo);
    const notBefore = new Date(c.x509.validFrom);
    if (notAfter < options.now) {
      problems.push({ classification: 'tls_expired', outcome: 'fail', message: `${which} expired on ${notAfter.toISOString()} (${-daysUntil(notAfter, options.now)} days ago)` });
    } else if (notBefore > options.now) {
      problems.push({ classification: 'tls_not_yet_valid', outcome: 'fail', message: `${which} is valid only from ${notBefore.toISOString()} (this host's clock says ${options.now.toISOString()})` });
    }
  }
  const mismatch = tls.checkServerIdentity(options.host, peer);
  if (mismatch) {
    const names = (cert.subjectAltName ?? '').trim() || `CN ${name}`;
    problems.push({ classification: 'tls_hostname_mismatch', outcome: 'fail', message: `${of} is for ${names}, not for ${options.host}` });
  }
  const soonest = chain.map((c) => new Date(c.x509.validTo)).filter((d) => d >= options.now).sort((a, b) => a.getTime() - b.getTime())[0];
  if (soonest && daysUntil(soonest, options.now) < options.warnDays) {
    const days = daysUntil(soonest, options.now);
    const which = soonest.getTime() === validTo.getTime() ? of : `a chain certificate of ${options.at}`;
    problems.push({ classification: 'tls_expiring_soon', outcome: 'warn', message: `${which} expires on ${soonest.toISOString()}, in ${days} day${days === 1 ? '' : 's'} (warning below ${options.warnDays})` });
  }
  detail.problems = problems.map((p) => p.classification);
  return { problems, detail };
}

interface ChainEntry {
  readonly x509: X509Certificate;
}

/** The chain as Node reports it (leaf first), each certificate once. */
function presentedChain(peer: DetailedPeerCertificate): ChainEntry[] {
  const out: ChainEntry[] = [];
  const seen = new Set<string>();
  let cur: DetailedPeerCertificate | undefined = peer;
  while (cur && cur.raw && !seen.has(cur.fingerprint256)) {
    seen.add(cur.fingerprint256);
    out.push({ x509: new X509Certificate(cur.raw) });
    cur = cur.issuerCertificate;
  }
  return out;
}

function authorizationCode(socket: TLSSocket): string {
  const e = socket.authorizationError as unknown;
  if (!e) return '';
  return typeof e === 'string' ? e : String((e as NodeJS.ErrnoException).code ?? (e as Error).message);
}

/**
 * OpenSSL's verdict, except when it reports a date error: it reports one error only, so an expired
 * certificate might hide an untrusted chain. Then trust is checked again here, ignoring dates.
 */
function trustVerdict(socket: TLSSocket, chain: X509Certificate[], ca: string | undefined): 'trusted' | 'self_signed' | string {
  const code = authorizationCode(socket);
  if (!code) return 'trusted';
  if (SELF_SIGNED.has(code)) return 'self_signed';
  if (!DATES.has(code)) return code;
  return walkTrust(chain, anchors(ca));
}

let systemAnchors: X509Certificate[] | undefined;

function anchors(ca: string | undefined): X509Certificate[] {
  if (ca === undefined) {
    systemAnchors ??= tls.rootCertificates.map((pem) => new X509Certificate(pem));
    return systemAnchors;
  }
  return (ca.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem));
}

function walkTrust(chain: X509Certificate[], trusted: X509Certificate[]): 'trusted' | 'self_signed' | string {
  const issues = (child: X509Certificate, parent: X509Certificate): boolean => child.checkIssued(parent) && child.verify(parent.publicKey);
  let cur = chain[0];
  for (let depth = 0; cur && depth < 10; depth++) {
    const at = cur;
    if (trusted.some((a) => a.fingerprint256 === at.fingerprint256 || issues(at, a))) return 'trusted';
    const next = chain.find((c) => c !== at && issues(at, c));
    if (!next) return at.checkIssued(at) ? 'self_signed' : 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY';
    cur = next;
  }
  return 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY';
}

/** "CN=x\nO=y" as "CN=x, O=y". */
export function oneLine(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ');
}
