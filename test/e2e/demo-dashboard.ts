// The running demo the dashboard's end-to-end tests drive: `tunnelwatch demo` as a child process on a
// copy of examples/quickstart (its own data, PKI and store), with LDAP sign-in pointed at a real slapd.
// Also what the tests need to know about it: its users, its rules and emitters, and a UI sign-in.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { parse, stringify } from 'yaml';
import { isPortOpen } from '../helpers/ports.js';
import { startProcess, type StartedProcess } from '../helpers/processes.js';
import { GROUPS, SERVICE_DN, SERVICE_PASSWORD, startSlapd, USERS, type Slapd } from '../helpers/slapd.js';

export interface DemoDashboard {
  readonly url: string;
  readonly dir: string;
  readonly slapd: Slapd;
  readonly demo: StartedProcess;
  /** When the demo said it was ready (its traffic runs from about then). */
  readonly startedAt: number;
  stop(): Promise<void>;
}

export const QUICKSTART = join('examples', 'quickstart');

/** The demo's fixed ports (examples/quickstart/*.yaml): two demos cannot run at once. */
const DEMO_PORTS = [18080, 18081, 18082, 18090, 18091, 18100, 18443];

export interface DemoUser {
  readonly username: string;
  readonly password: string;
  readonly role: 'viewer' | 'analyst' | 'admin';
  readonly via: 'local' | 'ldap';
}

/** The quickstart's local users (passwords demo-<name>) and the slapd user alice (soc-analysts -> analyst). */
export const DEMO_USERS = {
  admin: { username: 'admin', password: 'demo-admin', role: 'admin', via: 'local' },
  analyst: { username: 'analyst', password: 'demo-analyst', role: 'analyst', via: 'local' },
  viewer: { username: 'viewer', password: 'demo-viewer', role: 'viewer', via: 'local' },
  acmeViewer: { username: 'acme-viewer', password: 'demo-acme-viewer', role: 'viewer', via: 'local' },
  alice: { username: USERS.alice.uid, password: USERS.alice.password, role: 'analyst', via: 'ldap' },
} as const satisfies Record<string, DemoUser>;

/** Refusals demo/traffic.ts provokes: suspended invoices, /admin, DELETE, another tenant's host, a bad token. */
export const DEMO_DENY_REASONS = ['resource_suspended', 'path_not_allowed', 'method_not_allowed', 'no_mapping', 'unauthenticated'];

interface ConnectorYaml {
  connector: { id: string };
  subaccounts: Record<string, { mappings: { id?: string; protocol: string; resources?: { id: string; active?: boolean }[] }[] }>;
}

/** Every rule id the quickstart connector enforces, and the suspended ones (active: false). */
export function demoRules(): { connectorId: string; ids: string[]; suspended: string[] } {
  const c = parse(readFileSync(join(QUICKSTART, 'connector.yaml'), 'utf8')) as ConnectorYaml;
  const mappings = Object.values(c.subaccounts).flatMap((s) => s.mappings);
  const resources = mappings.flatMap((m) => m.resources ?? []);
  return {
    connectorId: c.connector.id,
    ids: [...mappings.filter((m) => m.protocol === 'tcp' && m.id).map((m) => m.id as string), ...resources.map((r) => r.id)].sort(),
    suspended: resources.filter((r) => r.active === false).map((r) => r.id),
  };
}

/** The relay's emitter id (relay.id in relay.yaml). */
export function demoRelayId(): string {
  return (parse(readFileSync(join(QUICKSTART, 'relay.yaml'), 'utf8')) as { relay: { id: string } }).relay.id;
}

export async function startDemoDashboard(options: { rate?: number } = {}): Promise<DemoDashboard> {
  // A demo left running (or the quickstart) would answer instead of ours, with other data and users.
  for (const port of DEMO_PORTS) {
    if (await isPortOpen(port)) throw new Error(`port ${port} is in use: another tunnelwatch demo is running on 127.0.0.1; stop it before the end-to-end tests`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tw-e2e-demo-'));
  const slapd = await startSlapd();
  for (const file of ['relay.yaml', 'connector.yaml', 'demo-ingest.token', 'demo-relay-admin.token']) copyFileSync(join(QUICKSTART, file), join(dir, file));
  writeFileSync(join(dir, 'ldap-service.password'), `${SERVICE_PASSWORD}\n`, { mode: 0o600 });
  const collector = parse(readFileSync(join(QUICKSTART, 'collector.yaml'), 'utf8')) as { dashboard: Record<string, unknown> };
  collector.dashboard.ldap = {
    url: slapd.url,
    bind_dn: SERVICE_DN,
    bind_password_file: 'ldap-service.password',
    user_base: slapd.peopleDn,
    group_base: slapd.groupsDn,
    group_roles: [
      { group: 'soc-analysts', role: 'analyst' },
      { group: GROUPS.admins, role: 'admin' },
    ],
    timeout_ms: 3000,
  };
  writeFileSync(join(dir, 'collector.yaml'), stringify(collector));
  let demo: StartedProcess;
  try {
    demo = await startProcess(process.execPath, [join('bin', 'tunnelwatch.js'), 'demo', '--config-dir', dir, '--rate', String(options.rate ?? 20)], {
      readyWhen: /Dashboard: http/,
      timeoutMs: 60_000,
    });
  } catch (err) {
    await slapd.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const startedAt = Date.now();
  const url = /Dashboard: (http\S+)/.exec(demo.stdout())?.[1]?.replace(/\/$/, '') ?? '';
  return {
    url,
    dir,
    slapd,
    demo,
    startedAt,
    async stop() {
      await demo.stop('SIGINT', 20_000);
      await slapd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Signs in through the sign-in page, as a person would: `path` first (which sends an anonymous visitor to
 * /login?next=<path>), then the form. Resolves on the page it lands on, once the header names the user.
 */
export async function signIn(context: BrowserContext, base: string, user: DemoUser, path = '/'): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${base}${path}`);
  await page.waitForURL((u) => u.pathname === '/login', { timeout: 10_000 });
  await fillSignIn(page, user.username, user.password);
  await page.waitForURL((u) => u.pathname === new URL(path, base).pathname, { timeout: 15_000 });
  await page.getByTestId('who').waitFor({ timeout: 10_000 });
  return page;
}

/** Types a user name and password into the sign-in form and submits it. */
export async function fillSignIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByTestId('username').fill(username);
  await page.getByTestId('password').fill(password);
  await page.getByTestId('sign-in').click();
}
