// Ingest tokens: `Authorization: Bearer <token>`, checked against the SHA-256 digests in
// collector.ingest_tokens (as relay tokens are: a lookup by digest reveals nothing about the token). A
// token can be bound to the emitters it speaks for (`emitters:`): records in another emitter's name are
// then refused, so one relay's or connector's token cannot write into another's hash chain, rules or
// configuration history.
import { hashToken } from '../connector/relay/token-store.js';
import { IngestError } from './ingest-error.js';

export interface IngestTokenConfig {
  readonly name: string;
  readonly sha256: string;
  readonly emitters?: readonly string[] | undefined;
}

/** Who sent an ingest request: the token's name and, when bound, the emitter ids it may send for. */
export interface IngestHolder {
  readonly name: string;
  readonly emitters: ReadonlySet<string> | undefined;
}

function index(tokens: readonly IngestTokenConfig[]): ReadonlyMap<string, IngestHolder> {
  return new Map(tokens.map((t) => [t.sha256, { name: t.name, emitters: t.emitters ? new Set(t.emitters) : undefined }]));
}

export class IngestTokens {
  private byDigest: ReadonlyMap<string, IngestHolder>;

  constructor(tokens: readonly IngestTokenConfig[]) {
    this.byDigest = index(tokens);
  }

  /** Puts a new list in force (a config reload): one assignment, so a request sees the old or the new list. */
  replace(tokens: readonly IngestTokenConfig[]): void {
    this.byDigest = index(tokens);
  }

  /** The token's holder, or undefined when the header carries no known bearer token. */
  authenticate(authorization: string | undefined): IngestHolder | undefined {
    if (!authorization) return undefined;
    const space = authorization.indexOf(' ');
    if (space <= 0 || authorization.slice(0, space).toLowerCase() !== 'bearer') return undefined;
    const token = authorization.slice(space + 1).trim();
    return token ? this.byDigest.get(hashToken(token)) : undefined;
  }
}

/**
 * Refuses (403) a record in the name of an emitter the token is not bound to; `where` says which record
 * ("line 3", "the snapshot"). A token without `emitters:` may send for any.
 */
export function requireEmitter(holder: IngestHolder | undefined, emitterId: string, where: string): void {
  if (holder?.emitters === undefined || holder.emitters.has(emitterId)) return;
  throw new IngestError('TW_ERR_INGEST_FORBIDDEN_EMITTER', `${where}: emitter ${JSON.stringify(emitterId)} is not one the token "${holder.name}" may send for (collector.ingest_tokens[].emitters)`);
}
