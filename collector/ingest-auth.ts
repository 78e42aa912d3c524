// Ingest tokens: `Authorization: Bearer <token>`, checked against the SHA-256 digests in
// collector.ingest_tokens (as relay tokens are: a lookup by digest reveals nothing about the token).
import { hashToken } from '../connector/relay/token-store.js';

export class IngestTokens {
  private byDigest: ReadonlyMap<string, string>;

  constructor(tokens: readonly { name: string; sha256: string }[]) {
    this.byDigest = new Map(tokens.map((t) => [t.sha256, t.name]));
  }

  /** Puts a new list in force (a config reload): one assignment, so a request sees the old or the new list. */
  replace(tokens: readonly { name: string; sha256: string }[]): void {
    this.byDigest = new Map(tokens.map((t) => [t.sha256, t.name]));
  }

  /** The name of the token's holder, or undefined when the header carries no known bearer token. */
  authenticate(authorization: string | undefined): string | undefined {
    if (!authorization) return undefined;
    const space = authorization.indexOf(' ');
    if (space <= 0 || authorization.slice(0, space).toLowerCase() !== 'bearer') return undefined;
    const token = authorization.slice(space + 1).trim();
    return token ? this.byDigest.get(hashToken(token)) : undefined;
  }
}
