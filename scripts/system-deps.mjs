#!/usr/bin/env node
// The Debian packages the tests start for real (see "Real components in tests" in the architecture).
// As root: installs what is missing, without letting the packages start their services: tests run their
// own nginx/slapd/sshd on their own ports, and a distro instance on :80/:389/:22 would only get in the way.
// As another user: prints what is missing and the command to run, then exits 1.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** One list: add a package here and every test run installs it. */
export const SYSTEM_PACKAGES = [
  'nginx',
  // The relay behind a TCP load balancer: nginx's stream module sends the PROXY protocol.
  'libnginx-mod-stream',
  'slapd',
  'ldap-utils',
  'socat',
  'curl',
  'openssh-server',
  'openssh-client',
  'wrk',
  // Dashboard end-to-end tests: headless Chromium driven by playwright-core, and fonts for its screenshots.
  'chromium',
  'fonts-dejavu-core',
  'fonts-liberation',
  // SIEM exporter tests: a real rsyslog receiving RFC 5424 over TCP and TLS (imtcp with the openssl driver).
  'rsyslog',
  'rsyslog-openssl',
  // deploy/ checks: `systemd-analyze verify` and `security --offline` on the unit files (nothing is started).
  'systemd',
];

// Preseeded so that slapd's postinst creates no database or default instance of its own.
const DEBCONF_SELECTIONS = ['slapd slapd/no_configuration boolean true'];

const POLICY_RC_D = '/usr/sbin/policy-rc.d';

/** True when dpkg reports the package fully installed (not merely known, half-configured or removed). */
function isInstalled(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() === 'install ok installed';
}

export function missingPackages(packages = SYSTEM_PACKAGES) {
  return packages.filter((p) => !isInstalled(p));
}

function aptCommand(pkgs) {
  return `DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
}

function run(cmd, args, env) {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args[0] ?? ''} exited with ${r.status ?? r.signal}`);
}

/**
 * Runs `install` with invoke-rc.d told to start nothing (exit 101 = "action forbidden"), and puts back
 * whatever policy-rc.d the machine had afterwards.
 */
function withServiceStartsForbidden(install) {
  const previous = existsSync(POLICY_RC_D) ? readFileSync(POLICY_RC_D) : undefined;
  const backup = `${POLICY_RC_D}.tunnelwatch-backup`;
  if (previous) renameSync(POLICY_RC_D, backup);
  writeFileSync(POLICY_RC_D, '#!/bin/sh\n# Written by tunnelwatch scripts/system-deps.mjs during apt-get install.\nexit 101\n', { mode: 0o755 });
  try {
    install();
  } finally {
    rmSync(POLICY_RC_D, { force: true });
    if (previous) renameSync(backup, POLICY_RC_D);
  }
}

/** Returns the exit code: 0 when everything is (now) installed. */
export function ensureSystemDeps(packages = SYSTEM_PACKAGES) {
  if (process.platform !== 'linux' || !existsSync('/usr/bin/dpkg-query')) {
    console.error(`system-deps: this needs Debian (dpkg/apt). Install by other means: ${packages.join(' ')}`);
    return 1;
  }
  const missing = missingPackages(packages);
  if (missing.length === 0) {
    console.log(`system-deps: all ${packages.length} packages installed (${packages.join(', ')})`);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    console.error(`system-deps: missing Debian packages: ${missing.join(' ')}`);
    console.error('system-deps: install them as root, then run the tests again:');
    console.error(`  sudo apt-get update && sudo ${aptCommand(missing)}`);
    return 1;
  }
  console.log(`system-deps: installing ${missing.join(' ')}`);
  try {
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    const selections = spawnSync('debconf-set-selections', [], { input: `${DEBCONF_SELECTIONS.join('\n')}\n`, encoding: 'utf8' });
    if (selections.status !== 0) console.warn(`system-deps: debconf-set-selections failed (ignored): ${selections.stderr}`);
    withServiceStartsForbidden(() => {
      run('apt-get', ['update'], env);
      run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], env);
    });
  } catch (err) {
    console.error(`system-deps: ${err.message}`);
    return 1;
  }
  const still = missingPackages(packages);
  if (still.length > 0) {
    console.error(`system-deps: still missing after apt-get install: ${still.join(' ')}`);
    return 1;
  }
  console.log('system-deps: installed; services were not started (tests start their own instances)');
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = ensureSystemDeps();
}
