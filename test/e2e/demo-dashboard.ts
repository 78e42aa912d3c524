// The running demo the dashboard's end-to-end tests drive: `tunnelwatch demo` as a child process on a
// copy of examples/quickstart (its own data, PKI and store), with LDAP sign-in pointed at a real slapd.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { startProcess, type StartedProcess } from '../helpers/processes.js';
import { GROUPS, SERVICE_DN, SERVICE_PASSWORD, startSlapd, type Slapd } from '../helpers/slapd.js';

export interface DemoDashboard {
  readonly url: string;
  readonly dir: string;
  readonly slapd: Slapd;
  readonly demo: StartedProcess;
  stop(): Promise<void>;
}

const QUICKSTART = join('examples', 'quickstart');

export async function startDemoDashboard(options: { rate?: number } = {}): Promise<DemoDashboard> {
  const dir = mkdtempSync(join(tmpdir(), 'tw-e2e-demo-'));
  const slapd = await startSlapd();
  for (const file of ['relay.yaml', 'connector.yaml', 'demo-ingest.token']) copyFileSync(join(QUICKSTART, file), join(dir, file));
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
  const url = /Dashboard: (http\S+)/.exec(demo.stdout())?.[1]?.replace(/\/$/, '') ?? '';
  return {
    url,
    dir,
    slapd,
    demo,
    async stop() {
      await demo.stop('SIGINT', 20_000);
      await slapd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
