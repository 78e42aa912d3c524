// What every dashboard module is given: the store to read, the auth service, the admin audit trail.
import type { FastifyRequest } from 'fastify';
import type { Logger } from '../common/log.js';
import type { ReloadResult, ReloadSource } from '../common/service.js';
import type { ExporterHealthSource } from '../collector/export/health.js';
import type { Store } from '../collector/store/store.js';
import type { DashboardAuth } from './auth/auth-service.js';
import type { DashboardSettings } from './config-schema.js';
import type { Principal } from './roles.js';

/** Records security-relevant actions (sign-ins, failed sign-ins, token changes) as admin audit events. */
export interface AdminAudit {
  record(event: AdminEventInput): Promise<void>;
}

/** One admin action; the recorder adds id, time, emitter, chain fields (docs/audit-events.md, admin events). */
export interface AdminEventInput {
  /** e.g. 'login.success', 'login.failure', 'logout', 'token.create', 'token.revoke' */
  readonly action: string;
  readonly outcome: 'success' | 'failure';
  /** Who did it ('' when unknown, e.g. a failed sign-in as a user that does not exist: see `target`). */
  readonly actor: string;
  readonly actor_role: string;
  readonly via: string;
  /** What it was done to, e.g. the user name tried, or a token name. */
  readonly target: string;
  readonly client_ip: string;
  readonly user_agent: string;
  /** Why it failed, or other detail; never a secret. */
  readonly reason: string;
  /** JSON of the state before and after (config changes); '' when not applicable. */
  readonly before?: string;
  readonly after?: string;
}

/** Authentication for the dashboard: sessions (cookie + CSRF token) and API tokens. */
export interface AuthService {
  /** The principal behind a request's session cookie or Bearer token, or undefined. */
  identify(request: FastifyRequest): Promise<Principal | undefined>;
  /** For a state-changing request of a cookie session: is its CSRF token right? */
  checkCsrf(request: FastifyRequest, principal: Principal): boolean;
}

export interface DashboardContext {
  readonly store: Store;
  readonly settings: DashboardSettings;
  readonly log: Logger;
  /** Sessions, sign-in, API tokens (dashboard/auth/auth-service.ts). */
  readonly auth: DashboardAuth;
  readonly adminAudit: AdminAudit;
  /** Folder of the config file: relative paths in settings resolve from it. */
  readonly configFile: string;
  /**
   * Live health of the SIEM exporters, when the dashboard runs in the collector that runs them; absent in
   * a standalone dashboard, which reads their cursors and dead letters from the store instead.
   */
  readonly exporters?: ExporterHealthSource;
  /**
   * Reloads the configuration of the process the dashboard runs in (the collector: collector/reload.ts), for
   * POST /api/v1/admin/reload; absent in a standalone dashboard.
   */
  readonly reload?: (source: ReloadSource) => Promise<ReloadResult>;
}

/** What the process that starts the dashboard may add to its context. */
export type DashboardExtras = Pick<DashboardContext, 'exporters' | 'reload'>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least role this route needs, or 'public'. Required on every dashboard route. */
    access?: import('./roles.js').Access;
  }
  interface FastifyRequest {
    /** Set by the access hook on every non-public route. */
    principal?: Principal;
  }
}
