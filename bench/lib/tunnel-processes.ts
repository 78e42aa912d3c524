// Relay and connector as real `tunnelwatch` processes for benchmarks: log level warn (so no readiness
// line to wait for: readiness is polled), audit on as in production, and optionally a CPU profile each.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { initPki } from '../../connector/pki/pki.js';
import { freePort, isPortOpen } from '../../test/helpers/ports.js';
import { startProcess, waitFor, type StartedProcess } from '../../test/helpers/processes.js';
import { CLI, sha256 } from '../../test/helpers/tunnel-stack.js';

export const CONNECTOR_ID = 'bench-connector';
export const SUBACCOUNT = 'bench';
export const CLOUD_APP = 'wrk';

export interface TunnelOptions {
  /** Working folder (configs, PKI, audit files). */
  readonly dir: string;
  /** The virtual host:port cloud apps ask for, e.g. bench.virtual:8000. */
  readonly virtual: string;
  /** The backend's host:port. */
  readonly internal: string;
  /** Exact paths allowed (GET). */
  readonly paths: readonly string[];
  readonly token: string;
  /** The `tunnelwatch` entry point to run; default this checkout's bin/tunnelwatch.js. */
  readonly cli?: string;
  /** When set, relay and connector write V8 CPU profiles (.cpuprofile) here on exit. */
  readonly profileDir?: string;
  /** Extra NODE_OPTIONS per process, e.g. `--import ./counters.mjs` for instrumentation. */
  readonly nodeOptions?: { readonly relay?: string; readonly connector?: string };
  readonly logLevel?: string;
}

export interface RunningTunnel {
  readonly proxyPort: number;
  readonly relay: StartedProcess;
  readonly connector: StartedProcess;
  /** Waits until a call through the proxy works (the connector registered), via the given check. */
  waitUntilRouted(check: () => Promise<boolean>): Promise<void>;
  /** The tail of what relay and connector logged (warn and above), for failure reports. */
  logs(): string;
  /** SIGTERM both, so a CPU profile is written, then SIGKILL after a grace period. */
  stop(): Promise<void>;
}

export async function startTunnel(options: TunnelOptions): Promise<RunningTunnel> {
  const { dir } = options;
  await mkdir(dir, { recursive: true });
  if (options.profileDir) await mkdir(options.profileDir, { recursive: true });
  await initPki(join(dir, 'pki'), { connectors: [CONNECTOR_ID] });
  const proxyPort = await freePort();
  const tunnelPort = await freePort();
  const level = options.logLevel ?? 'warn';
  const cli = options.cli ?? CLI;
  const relayConfig = {
    relay: { id: 'bench-relay' },
    proxy: { listen: `127.0.0.1:${proxyPort}` },
    tunnel: {
      listen: `127.0.0.1:${tunnelPort}`,
      tls: { cert: 'pki/relay.crt', key: 'pki/relay.key', ca: 'pki/ca.crt' },
      connectors: [{ cn: CONNECTOR_ID, subaccounts: [SUBACCOUNT] }],
    },
    tokens: [{ subaccount: SUBACCOUNT, cloud_app: CLOUD_APP, sha256: sha256(options.token) }],
    audit: { dir: 'audit/relay' },
    log: { level },
  };
  const connectorConfig = {
    connector: { id: CONNECTOR_ID },
    relay: {
      address: `127.0.0.1:${tunnelPort}`,
      server_name: 'localhost',
      tls: { cert: `pki/${CONNECTOR_ID}.crt`, key: `pki/${CONNECTOR_ID}.key`, ca: 'pki/ca.crt' },
      reconnect: { initial_delay_ms: 100, max_delay_ms: 1000 },
    },
    subaccounts: {
      [SUBACCOUNT]: {
        mappings: [
          {
            virtual: options.virtual,
            internal: options.internal,
            protocol: 'http',
            resources: options.paths.map((path, i) => ({ id: `bench-${i}`, path, match: 'exact', methods: ['GET'] })),
          },
        ],
      },
    },
    audit: { dir: `audit/${CONNECTOR_ID}` },
    log: { level },
  };
  await writeFile(join(dir, 'relay.yaml'), stringify(relayConfig));
  await writeFile(join(dir, 'connector.yaml'), stringify(connectorConfig));

  const env = (name: 'relay' | 'connector'): NodeJS.ProcessEnv => {
    const value = options.nodeOptions?.[name];
    return value ? { NODE_OPTIONS: value } : {};
  };
  // node flags, not NODE_OPTIONS: Node 20 refuses --cpu-prof there. Written when the process exits.
  const flags = (name: 'relay' | 'connector'): string[] =>
    options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  const relay = await startProcess(process.execPath, [...flags('relay'), cli, 'relay', '--config', join(dir, 'relay.yaml')], {
    cwd: dir,
    env: env('relay'),
    readyWhen: () => isPortOpen(proxyPort),
    timeoutMs: 15_000,
  });
  let connector: StartedProcess;
  try {
    connector = await startProcess(process.execPath, [...flags('connector'), cli, 'connector', '--config', join(dir, 'connector.yaml')], { cwd: dir, env: env('connector') });
  } catch (err) {
    await relay.stop();
    throw err;
  }
  return {
    proxyPort,
    relay,
    connector,
    async waitUntilRouted(check) {
      try {
        await waitFor(check, { timeoutMs: 15_000, intervalMs: 100, message: `a call routed through the relay on port ${proxyPort}` });
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- relay stderr ---\n${relay.stderr().slice(-4000)}\n--- connector stderr ---\n${connector.stderr().slice(-4000)}`, { cause: err });
      }
    },
    logs: () => `--- relay stderr ---\n${relay.stderr().slice(-4000)}\n--- connector stderr ---\n${connector.stderr().slice(-4000)}`,
    async stop() {
      // The connector first: the relay then sees the session close as it does in production.
      await connector.stop('SIGTERM', 10_000);
      await relay.stop('SIGTERM', 10_000);
    },
  };
}
