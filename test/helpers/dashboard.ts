// The dashboard over a real embedded store, for route tests by inject(). The real auth service runs, and
// fixed bearer tokens naming a role (and optionally a subaccount scope) are accepted besides, so route
// tests need no sign-in; the auth service has its own tests, and the authorisation matrix uses it alone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { pino } from 'pino';
import { openStore } from '../../collector/store/open-store.js';
import type { Store } from '../../collector/store/store.js';
import { buildDashboardApp } from '../../dashboard/app.js';
import { createAuthService } from '../../dashboard/auth/auth-service.js';
import type { DashboardSettings } from '../../dashboard/config-schema.js';
import type { AdminEventInput, DashboardContext } from '../../dashboard/context.js';
import type { Principal } from '../../dashboard/roles.js';

/** Bearer tokens understood by the test auth: role, or role@subaccount,subaccount for a scoped identity. */
export const TEST_TOKENS = {
  viewer: 'viewer',
  analyst: 'analyst',
  admin: 'admin',
  /** An analyst who may only see acme. */
  acmeAnalyst: 'analyst@acme',
} as const;

function principalOfToken(token: string): Principal | undefined {
  const [role, scope] = token.split('@');
  if (role !== 'viewer' && role !== 'analyst' && role !== 'admin') return undefined;
  return { name: `test-${token}`, role, via: 'token', subaccounts: scope ? scope.split(',') : '*' };
}

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

export interface TestStore {
  readonly store: Store;
  readonly dir: string;
  close(): Promise<void>;
}

/** A fresh embedded store in a temporary folder. */
export async function openTestStore(): Promise<TestStore> {
  const dir = mkdtempSync(join(tmpdir(), 'tw-dash-'));
  const store = await openStore({ dataDir: join(dir, 'store'), batch: { maxDelayMs: 5 } });
  return {
    store,
    dir,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const TEST_SETTINGS: DashboardSettings = {
  listen: '127.0.0.1:0',
  session: { idle_minutes: 30, max_hours: 12 },
  login_rate_limit: { max_attempts: 10, window_s: 300 },
  users: [],
  api_tokens: [],
};

export interface TestDashboard {
  readonly app: FastifyInstance;
  readonly ctx: DashboardContext;
  /** Admin events recorded so far. */
  readonly adminEvents: AdminEventInput[];
}

export async function testDashboard(store: Store, configFile = join(tmpdir(), 'dashboard.yaml')): Promise<TestDashboard> {
  const adminEvents: AdminEventInput[] = [];
  const adminAudit = { record: async (e: AdminEventInput) => void adminEvents.push(e) };
  const log = pino({ level: 'silent' });
  const real = await createAuthService({ settings: TEST_SETTINGS, store, configFile, adminAudit, log });
  const ctx: DashboardContext = {
    store,
    settings: TEST_SETTINGS,
    log,
    configFile,
    adminAudit,
    auth: {
      ...real,
      identify: async (request: FastifyRequest) => {
        const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '');
        return (match?.[1] ? principalOfToken(match[1]) : undefined) ?? real.identify(request);
      },
    },
  };
  const app = await buildDashboardApp(ctx);
  await app.ready();
  return { app, ctx, adminEvents };
}
