// The `ssh -R` baseline on loopback: a throwaway sshd (Debian's /usr/sbin/sshd) with its own host key,
// config and authorised client key in a folder of its own, and an `ssh -N -R` client forwarding a port.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../../test/helpers/ports.js';
import { run, startProcess, waitFor, type StartedProcess } from '../../test/helpers/processes.js';

export const SSHD_BIN = '/usr/sbin/sshd';
/**
 * sshd refuses to start without its privilege-separation folder, which Debian's ssh.service creates at
 * boot. Created here when missing and left in place: other sshd instances on the machine may use it.
 */
const PRIVSEP_DIR = '/run/sshd';

export interface ReverseTunnelOptions {
  readonly dir: string;
  /** The port on 127.0.0.1 that the forwarded port leads to. */
  readonly targetPort: number;
  /** Resolves true once the forwarded port works end to end (polled). */
  readonly ready: (forwardedPort: number) => Promise<boolean>;
}

export interface ReverseTunnel {
  readonly forwardedPort: number;
  /** The cipher ssh negotiated, for the report. */
  readonly cipher: string;
  stop(): Promise<void>;
}

async function keygen(path: string): Promise<void> {
  const r = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tunnelwatch-bench', '-f', path]);
  if (r.code !== 0) throw new Error(`ssh-keygen -f ${path} failed: ${r.stderr}`);
}

export async function startReverseTunnel(options: ReverseTunnelOptions): Promise<ReverseTunnel> {
  const { dir } = options;
  await mkdir(dir, { recursive: true });
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  await keygen(hostKey);
  await keygen(clientKey);
  await run('cp', [`${clientKey}.pub`, join(dir, 'authorized_keys')]);
  const sshPort = await freePort();
  const config = join(dir, 'sshd_config');
  await writeFile(config, [
    `Port ${sshPort}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PermitRootLogin yes',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'AllowTcpForwarding yes',
    'X11Forwarding no',
    'PrintMotd no',
    'LogLevel VERBOSE',
    '',
  ].join('\n'));

  if (!existsSync(PRIVSEP_DIR)) await mkdir(PRIVSEP_DIR, { recursive: true, mode: 0o755 });
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    const sshd: StartedProcess = await startProcess(SSHD_BIN, ['-f', config, '-D', '-e'], { readyWhen: /Server listening on 127\.0\.0\.1/, timeoutMs: 10_000 });
    stops.push(() => sshd.stop());
    const forwardedPort = await freePort();
    const ssh = await startProcess('ssh', [
      '-F', '/dev/null', '-N', '-v',
      '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
      '-o', 'ExitOnForwardFailure=yes', '-o', 'IdentitiesOnly=yes',
      '-i', clientKey, '-p', String(sshPort),
      '-R', `127.0.0.1:${forwardedPort}:127.0.0.1:${options.targetPort}`,
      'root@127.0.0.1',
    ]);
    stops.push(() => ssh.stop());
    try {
      await waitFor(() => options.ready(forwardedPort), { timeoutMs: 15_000, intervalMs: 100, message: `ssh -R forwarding 127.0.0.1:${forwardedPort}` });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- ssh ---\n${ssh.stderr().slice(-3000)}\n--- sshd ---\n${sshd.stderr().slice(-3000)}`, { cause: err });
    }
    const cipher = /kex: server->client cipher: (\S+)/.exec(ssh.stderr())?.[1] ?? 'unknown';
    return { forwardedPort, cipher, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
