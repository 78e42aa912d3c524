// Starts the dashboard on a store that is already open: inside the collector's process on the embedded
// store (collector.yaml has a dashboard: section), or standalone against a ClickHouse server.
import type { FastifyInstance } from 'fastify';
import { readConfiguredFile } from '../common/config/load-config.js';
import { splitHostPort } from '../common/config/schema-parts.js';
import type { Logger } from '../common/log.js';
import type { Store } from '../collector/store/store.js';
import { buildDashboardApp } from './app.js';
import { createAdminAudit } from './auth/admin-audit.js';
import { createAuthService, type DashboardAuth } from './auth/auth-service.js';
import type { DashboardSettings } from './config-schema.js';
import type { DashboardContext, DashboardExtras } from './context.js';

export interface RunningDashboard {
  readonly port: number;
  readonly app: FastifyInstance;
  readonly url: string;
  /** Its auth service, for a config reload of users, tokens and LDAP settings (collector/reload.ts). */
  readonly auth: DashboardAuth;
  close(): Promise<void>;
}

/** The context without a listening server: for tests that inject requests. */
export async function createDashboardContext(settings: DashboardSettings, store: Store, configFile: string, log: Logger, extras: DashboardExtras = {}): Promise<DashboardContext> {
  const adminAudit = await createAdminAudit(store, log.child({ component: 'dashboard.admin-audit' }));
  const auth = await createAuthService({ settings, store, configFile, adminAudit, log: log.child({ component: 'dashboard.auth' }) });
  return { store, settings, log, auth, adminAudit, configFile, ...extras };
}

export async function startDashboard(settings: DashboardSettings, store: Store, configFile: string, log: Logger, extras: DashboardExtras = {}): Promise<RunningDashboard> {
  const tls = settings.tls;
  const https = tls ? { cert: readConfiguredFile(configFile, 'dashboard.tls.cert', tls.cert), key: readConfiguredFile(configFile, 'dashboard.tls.key', tls.key) } : undefined;
  const ctx = await createDashboardContext(settings, store, configFile, log.child({ component: 'dashboard' }), extras);
  const app = await buildDashboardApp(ctx, https ? { https } : {});
  const { host, port } = splitHostPort(settings.listen);
  await app.listen({ host, port });
  const bound = (app.server.address() as { port: number }).port;
  const url = `${https ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${bound}/`;
  log.info({ url, users: settings.users.length, ldap: Boolean(settings.ldap) }, 'dashboard listening');
  return {
    port: bound,
    app,
    url,
    auth: ctx.auth,
    close: () => app.close(),
  };
}
