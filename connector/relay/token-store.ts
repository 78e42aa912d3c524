// Cloud app tokens. Only SHA-256 digests are stored: tokens are 256-bit random strings, so a fast hash
// is enough (no password stretching needed), and a lookup by digest reveals nothing about the token.
import { createHash, randomBytes } from 'node:crypto';

export interface TokenIdentity {
  readonly subaccount: string;
  readonly cloudApp: string;
  /** Epoch ms from which the token is refused; Infinity = never. */
  readonly expiresAtMs: number;
}

export const TOKEN_PREFIX = 'tw_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

type TokenEntry = { subaccount: string; cloud_app: string; sha256: string; expires_at?: string };

/**
 * What the schema cannot check in a token list: one token listed twice (a token names one subaccount and
 * cloud app; without this check the last entry won, so a copy-paste slip silently moved a token to another
 * tenant), and an expiry that is not a real time (2027-02-30).
 */
export function tokenListProblems(tokens: readonly TokenEntry[]): string[] {
  const first = new Map<string, number>();
  const problems: string[] = [];
  tokens.forEach((t, i) => {
    const j = first.get(t.sha256);
    if (j === undefined) first.set(t.sha256, i);
    else problems.push(`tokens[${i}].sha256: the same token as tokens[${j}] (a token belongs to one subaccount and cloud app; remove one entry)`);
    if (t.expires_at !== undefined && !validTime(t.expires_at)) problems.push(`tokens[${i}].expires_at: ${t.expires_at} is not a time that exists`);
  });
  return problems;
}

/** Date.parse rolls 2027-02-30 over to March: a time is valid only if it reads back to the same fields. */
function validTime(text: string): boolean {
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) return false;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(text);
  if (!m) return false;
  const [, y, mo, d, h, mi] = m.map(Number) as [number, number, number, number, number, number];
  const probe = new Date(Date.UTC(y, mo - 1, d, h, mi));
  return probe.getUTCFullYear() === y && probe.getUTCMonth() === mo - 1 && probe.getUTCDate() === d && h < 24 && mi < 60;
}

/** Why a token is not accepted now, for the refusal's detail: the one case a caller may be told. */
export type Authentication = { identity: TokenIdentity } | { identity?: undefined; refused: string; expired?: TokenIdentity };

export class TokenStore {
  private byDigest: ReadonlyMap<string, TokenIdentity>;
  /** The digest each identity was made for, across replacements (held() asks it of calls admitted earlier). */
  private readonly digestOf = new WeakMap<TokenIdentity, string>();

  constructor(tokens: readonly TokenEntry[]) {
    this.byDigest = this.table(tokens);
  }

  /**
   * Puts a new token list in force (a config reload). One assignment: a request is judged wholly by the old
   * or wholly by the new list. HTTP calls already admitted go on; open tunnels it no longer holds are cut
   * by the relay (admitted-calls.ts).
   */
  replace(tokens: readonly TokenEntry[]): void {
    this.byDigest = this.table(tokens);
  }

  /**
   * Whether the token that gave `identity` is still in force, for the same subaccount and cloud app: a call
   * admitted before a reload that removed or moved its token is cut (admitted-calls.ts).
   */
  holds(identity: TokenIdentity, nowMs = Date.now()): boolean {
    return this.standing(identity, nowMs).held;
  }

  /** holds(), and when not: whether the token is still listed for the same app and has expired. */
  standing(identity: TokenIdentity, nowMs = Date.now()): { held: boolean; expiredAtMs?: number } {
    const digest = this.digestOf.get(identity);
    const now = digest === undefined ? undefined : this.byDigest.get(digest);
    if (now === undefined || now.subaccount !== identity.subaccount || now.cloudApp !== identity.cloudApp) return { held: false };
    return nowMs < now.expiresAtMs ? { held: true } : { held: false, expiredAtMs: now.expiresAtMs };
  }

  /** The earliest expiry after `afterMs` among the tokens in force (Infinity if none): when to cut next. */
  nextExpiry(afterMs: number): number {
    let next = Infinity;
    for (const t of this.byDigest.values()) if (t.expiresAtMs > afterMs && t.expiresAtMs < next) next = t.expiresAtMs;
    return next;
  }

  /** Tokens in force that expire before `beforeMs` (or have expired), for warnings and /metrics. */
  expiring(beforeMs: number): TokenIdentity[] {
    return [...this.byDigest.values()].filter((t) => t.expiresAtMs < beforeMs);
  }

  private table(tokens: readonly TokenEntry[]): ReadonlyMap<string, TokenIdentity> {
    const problems = tokenListProblems(tokens);
    // startRelay() and reloadRelay() refuse such a list first, naming the file; this only guards the table.
    if (problems.length > 0) throw new Error(problems.join('; '));
    const byDigest = new Map<string, TokenIdentity>();
    for (const t of tokens) {
      const identity = Object.freeze({ subaccount: t.subaccount, cloudApp: t.cloud_app, expiresAtMs: t.expires_at === undefined ? Infinity : Date.parse(t.expires_at) });
      byDigest.set(t.sha256, identity);
      this.digestOf.set(identity, t.sha256);
    }
    return byDigest;
  }

  /** Reads `Bearer <token>`, or `Basic base64(<anything>:<token>)` for clients that only do basic proxy auth. */
  authenticate(proxyAuthorization: string | undefined, nowMs = Date.now()): Authentication {
    if (!proxyAuthorization) return { refused: 'no Proxy-Authorization header' };
    const token = extractToken(proxyAuthorization);
    const identity = token === undefined ? undefined : this.byDigest.get(hashToken(token));
    if (identity === undefined) return { refused: 'the token is not known' };
    // Saying that a token expired tells its holder only what a rotation would have told them anyway.
    if (nowMs >= identity.expiresAtMs) return { refused: `the token expired at ${new Date(identity.expiresAtMs).toISOString()}`, expired: identity };
    return { identity };
  }
}

function extractToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const space = header.indexOf(' ');
  if (space <= 0) return undefined;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') return value || undefined;
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : undefined;
  }
  return undefined;
}
