// Browser sessions, kept in memory (a restart signs everyone out, which is the safe direction). The cookie
// holds a random 32-byte id; the table is keyed by its SHA-256, so the raw id exists only in the cookie
// and a lookup's timing says nothing about other ids. Each session carries its own CSRF token.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role } from '../roles.js';

/** Who signed in; the principal of a session is built from it. */
export interface SessionIdentity {
  readonly name: string;
  readonly role: Role;
  readonly via: 'local' | 'ldap';
  readonly subaccounts: '*' | readonly string[];
}

export interface Session extends SessionIdentity {
  /** SHA-256 of the cookie value (base64url): what principals and logs carry, never the cookie itself. */
  readonly key: string;
  readonly csrfToken: string;
  readonly createdAt: number;
  lastUsedAt: number;
}

export interface SessionStoreOptions {
  readonly idleMs: number;
  readonly maxAgeMs: number;
  /** Above this many live sessions the oldest are ended (memory bound). */
  readonly maxSessions?: number;
  readonly now?: () => number;
}

export function sessionKey(cookieValue: string): string {
  return createHash('sha256').update(cookieValue).digest('base64url');
}

/** Constant-time equality of two strings of any length (compared as SHA-256 digests). */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly idleMs: number;
  private readonly maxAgeMs: number;
  private readonly maxSessions: number;
  private readonly now: () => number;
  private lastSweep = 0;

  constructor(options: SessionStoreOptions) {
    this.idleMs = options.idleMs;
    this.maxAgeMs = options.maxAgeMs;
    this.maxSessions = options.maxSessions ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** A new session; returns the cookie value (shown to nobody else) and the session. */
  create(identity: SessionIdentity): { cookie: string; session: Session } {
    const now = this.now();
    this.sweep(now);
    const cookie = randomBytes(32).toString('base64url');
    const session: Session = {
      name: identity.name,
      role: identity.role,
      via: identity.via,
      subaccounts: identity.subaccounts,
      key: sessionKey(cookie),
      csrfToken: randomBytes(32).toString('base64url'),
      createdAt: now,
      lastUsedAt: now,
    };
    this.sessions.set(session.key, session);
    // Map order is creation order: the first entries are the oldest sessions.
    while (this.sessions.size > this.maxSessions) {
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
    }
    return { cookie, session };
  }

  /** The live session of a cookie value, its idle timer restarted; undefined when unknown or expired. */
  use(cookieValue: string): Session | undefined {
    const key = sessionKey(cookieValue);
    const session = this.sessions.get(key);
    if (!session) return undefined;
    const now = this.now();
    if (now >= this.expiresAt(session)) {
      this.sessions.delete(key);
      return undefined;
    }
    session.lastUsedAt = now;
    return session;
  }

  /** By key (a principal's sessionId), without touching it; undefined when unknown or expired. */
  get(key: string): Session | undefined {
    const session = this.sessions.get(key);
    if (!session) return undefined;
    if (this.now() >= this.expiresAt(session)) {
      this.sessions.delete(key);
      return undefined;
    }
    return session;
  }

  end(key: string): Session | undefined {
    const session = this.sessions.get(key);
    this.sessions.delete(key);
    return session;
  }

  /** When the session ends unless used again: idle expiry or the absolute limit, whichever comes first. */
  expiresAt(session: Session): number {
    return Math.min(session.lastUsedAt + this.idleMs, session.createdAt + this.maxAgeMs);
  }

  /** Drops expired sessions, at most once a minute (amortised over sign-ins; no timer to clean up). */
  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000 && this.sessions.size < this.maxSessions) return;
    this.lastSweep = now;
    for (const [key, session] of this.sessions) if (now >= this.expiresAt(session)) this.sessions.delete(key);
  }
}
