// Who is calling: a browser session (cookie + CSRF token) or an API token. Sign-in checks local users
// first (a local name never falls through to LDAP), then LDAP; every attempt is throttled and recorded as
// an admin event, and a sign-in whose event cannot be stored does not happen (fail closed).
import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { TunnelwatchError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { Store } from '../../collector/store/store.js';
import type { DashboardSettings } from '../config-schema.js';
import type { AdminAudit, AdminEventInput, AuthService } from '../context.js';
import type { Principal } from '../roles.js';
import { createApiTokens, type ApiTokens } from './api-tokens.js';
import { createLdapAuthenticator, type LdapAuthenticator } from './ldap.js';
import { hashPassword, parsePasswordHash, verifyPassword, type ParsedHash } from './password.js';
import { addressKey, LoginLimiter } from './rate-limit.js';
import { safeEqual, SessionStore, type SessionIdentity } from './sessions.js';

export interface AuthServiceOptions {
  readonly settings: DashboardSettings;
  readonly store: Store;
  readonly configFile: string;
  readonly adminAudit: AdminAudit;
  readonly log: Logger;
}

export const SESSION_COOKIE = 'tw_session';

/** Why a sign-in failed, as the admin event records it; the HTTP answer is the same for all but two. */
export type LoginFailure = 'empty_password' | 'unknown_user' | 'wrong_password' | 'no_role' | 'ldap_unavailable' | 'throttled';

export interface LoginRequest {
  readonly username: string;
  readonly password: string;
  readonly clientIp: string;
  readonly userAgent: string;
}

export interface LoginSuccess {
  /** The session cookie's value: set it, show it to nobody. */
  readonly cookie: string;
  readonly principal: Principal;
}

/** 429 with the seconds to wait (the route turns them into Retry-After). */
export class LoginThrottledError extends TunnelwatchError {
  constructor(readonly retryAfterS: number) {
    super('TW_ERR_DASH_LOGIN_THROTTLED', `${retryAfterS} s`);
  }
}

/** The dashboard's auth service: the AuthService of context.ts plus what the sign-in and token routes use. */
export interface DashboardAuth extends AuthService {
  readonly secureCookie: boolean;
  readonly tokens: ApiTokens;
  login(request: LoginRequest): Promise<LoginSuccess>;
  /** Ends the principal's session (if it has one) and records it; false when there was none. */
  logout(principal: Principal, meta: { clientIp: string; userAgent: string }): Promise<boolean>;
  /** For GET /api/v1/session: the CSRF token ('' for API tokens) and when the session or token ends ('' = never). */
  sessionInfo(principal: Principal): { csrf_token: string; expires_at: string };
  /**
   * A config reload: checks new settings (password hashes, duplicate names, LDAP files) and returns the swap
   * that puts their local users, LDAP settings and config API tokens in force; throws when they are not
   * valid, changing nothing. A session of a local user the new settings remove, or give another role or
   * scope, ends at its next request; so do LDAP sessions when LDAP is removed.
   */
  prepare(settings: DashboardSettings): () => void;
}

export function isDashboardAuth(auth: AuthService): auth is DashboardAuth {
  return typeof (auth as Partial<DashboardAuth>).login === 'function' && typeof (auth as Partial<DashboardAuth>).sessionInfo === 'function';
}

/**
 * An Origin header, when the browser sent one, must be the dashboard itself: a cross-site form or fetch
 * is refused even before its CSRF token is looked at. No Origin (curl, old browsers) passes this check.
 */
export function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    const from = new URL(origin);
    // Through URL both ways, so that a default port (":80", ":443") is dropped on either side alike.
    return from.host === new URL(`${from.protocol}//${request.headers.host ?? ''}`).host;
  } catch {
    return false; // includes Origin: null (sandboxed frames, file: pages)
  }
}

type Outcome = { ok: true; identity: SessionIdentity; detail: string } | { ok: false; reason: LoginFailure; detail: string };

interface LocalUser {
  readonly identity: SessionIdentity;
  readonly hash: ParsedHash;
}

function localUsers(settings: DashboardSettings): Map<string, LocalUser> {
  const users = new Map<string, LocalUser>();
  settings.users.forEach((u, i) => {
    const hash = parsePasswordHash(u.password_hash);
    if (!hash) throw new TunnelwatchError('TW_ERR_CONFIG_INVALID', `dashboard.users[${i}].password_hash (${u.name}): not a valid scrypt hash; make one with \`tunnelwatch user hash-password\``);
    if (users.has(u.name)) throw new TunnelwatchError('TW_ERR_CONFIG_INVALID', `dashboard.users[${i}]: the name ${u.name} appears twice`);
    users.set(u.name, { hash, identity: { name: u.name, role: u.role, via: 'local', subaccounts: u.subaccounts ?? '*' } });
  });
  return users;
}

export async function createAuthService(options: AuthServiceOptions): Promise<DashboardAuth> {
  const { settings, store, adminAudit, log } = options;
  let users = localUsers(settings);
  const ldapOf = (s: DashboardSettings): LdapAuthenticator | undefined => (s.ldap ? createLdapAuthenticator(s.ldap, options.configFile, log.child({ component: 'dashboard.ldap' })) : undefined);
  let ldap = ldapOf(settings);
  const tokens = await createApiTokens(settings, store, log);
  const sessions = new SessionStore({ idleMs: settings.session.idle_minutes * 60_000, maxAgeMs: settings.session.max_hours * 3_600_000 });
  const limiter = new LoginLimiter({ maxAttempts: settings.login_rate_limit.max_attempts, windowMs: settings.login_rate_limit.window_s * 1000 });
  // Checked against for names nobody has, so an unknown name costs as much time as a wrong password.
  const dummyHash = parsePasswordHash(await hashPassword(randomBytes(16).toString('hex'))) as ParsedHash;

  async function authenticate(username: string, password: string): Promise<Outcome> {
    if (password === '') return { ok: false, reason: 'empty_password', detail: '' };
    const local = users.get(username);
    if (local) {
      return (await verifyPassword(password, local.hash))
        ? { ok: true, identity: local.identity, detail: '' }
        : { ok: false, reason: 'wrong_password', detail: '' };
    }
    if (ldap) {
      const result = await ldap.authenticate(username, password);
      if (!result.ok) return { ok: false, reason: result.reason, detail: result.detail };
      return { ok: true, identity: { name: username, role: result.role, via: 'ldap', subaccounts: result.subaccounts }, detail: `groups: ${result.groups.join(', ')}` };
    }
    await verifyPassword(password, dummyHash);
    return { ok: false, reason: 'unknown_user', detail: '' };
  }

  function principalOf(identity: SessionIdentity, sessionId: string): Principal {
    return { name: identity.name, role: identity.role, via: identity.via, subaccounts: identity.subaccounts, sessionId };
  }

  /** Whether a session's identity is still what the settings in force give (a reload may have changed them). */
  function stillGranted(session: SessionIdentity): boolean {
    if (session.via === 'ldap') return ldap !== undefined;
    const user = users.get(session.name)?.identity;
    return user !== undefined && user.role === session.role && JSON.stringify(user.subaccounts) === JSON.stringify(session.subaccounts);
  }

  return {
    secureCookie: Boolean(settings.tls),
    tokens,

    async identify(request) {
      const authorization = request.headers.authorization;
      if (authorization !== undefined) {
        // A request that names a token is judged by it alone, never by a cookie it also carries.
        const token = /^Bearer +(\S+) *$/i.exec(authorization)?.[1];
        return token ? tokens.identify(token) : undefined;
      }
      const cookie = request.cookies?.[SESSION_COOKIE];
      const session = cookie ? sessions.use(cookie) : undefined;
      if (session && !stillGranted(session)) {
        sessions.end(session.key);
        return undefined;
      }
      return session && principalOf(session, session.key);
    },

    prepare(next) {
      const nextUsers = localUsers(next);
      const nextLdap = ldapOf(next);
      const swapTokens = tokens.prepareConfigTokens(next);
      return () => {
        users = nextUsers;
        ldap = nextLdap;
        swapTokens();
      };
    },

    checkCsrf(request, principal) {
      if (principal.sessionId === undefined) return true;
      if (!sameOrigin(request)) return false;
      const session = sessions.get(principal.sessionId);
      const header = request.headers['x-csrf-token'];
      return session !== undefined && typeof header === 'string' && safeEqual(header, session.csrfToken);
    },

    async login({ username, password, clientIp, userAgent }) {
      const base = { actor: '', actor_role: '', via: '', target: username, client_ip: clientIp, user_agent: userAgent };
      const failure = (reason: LoginFailure, detail: string): AdminEventInput =>
        ({ ...base, action: 'login.failure', outcome: 'failure', reason: detail ? `${reason}: ${detail}` : reason });

      const attempt = limiter.attempt([`ip:${addressKey(clientIp)}`, `user:${username.toLowerCase()}`]);
      if (!attempt.ok) {
        // One event per throttled address or name and window, not one per refused request: a flood of
        // attempts must not turn into a flood of rows.
        if (attempt.firstRefusal) {
          await adminAudit.record(failure('throttled', `by ${attempt.key.split(':')[0] === 'ip' ? 'client address' : 'user name'}`))
            .catch((err: unknown) => log.error({ err }, 'throttled sign-in not recorded'));
        }
        throw new LoginThrottledError(attempt.retryAfterS);
      }

      const outcome = await authenticate(username, password);
      if (!outcome.ok) {
        await adminAudit.record(failure(outcome.reason, outcome.detail));
        if (outcome.reason === 'ldap_unavailable') throw new TunnelwatchError('TW_ERR_DASH_LDAP_UNAVAILABLE');
        throw new TunnelwatchError('TW_ERR_DASH_LOGIN_FAILED');
      }
      const { identity } = outcome;
      // Recorded before the session exists: when the record fails, there is no session to leak.
      await adminAudit.record({ ...base, actor: identity.name, actor_role: identity.role, via: identity.via, action: 'login.success', outcome: 'success', reason: outcome.detail });
      attempt.release();
      const { cookie, session } = sessions.create(identity);
      return { cookie, principal: principalOf(identity, session.key) };
    },

    async logout(principal, meta) {
      if (principal.sessionId === undefined) return false;
      const ended = sessions.end(principal.sessionId);
      if (!ended) return false;
      await adminAudit.record({
        action: 'logout', outcome: 'success', actor: principal.name, actor_role: principal.role, via: principal.via,
        target: principal.name, client_ip: meta.clientIp, user_agent: meta.userAgent, reason: '',
      });
      return true;
    },

    sessionInfo(principal) {
      if (principal.sessionId === undefined) return { csrf_token: '', expires_at: tokens.expiresAt(principal) };
      const session = sessions.get(principal.sessionId);
      if (!session) return { csrf_token: '', expires_at: '' };
      return { csrf_token: session.csrfToken, expires_at: new Date(sessions.expiresAt(session)).toISOString() };
    },
  };
}
