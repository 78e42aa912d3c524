// A real relay and real connectors, each its own `tunnelwatch` process, on configs written to a temp dir.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { AuditEvent } from '../../common/audit/event.js';
import { initPki } from '../../connector/pki/pki.js';
import { loadCursor } from '../../common/audit/shipper-state.js';
import { freePort } from './ports.js';
import { startProcess, waitFor, type StartedProcess } from './processes.js';

export const REPO = resolve(new URL('../../..', import.meta.url).pathname);
export const CLI = join(REPO, 'bin', 'tunnelwatch.js');

export interface TokenSpec {
  subaccount: string;
  cloudApp: string;
  token: string;
}

export interface ConnectorSpec {
  id: string;
  locationId?: string;
  /** The access rules: the `subaccounts:` section of connector.yaml. */
  subaccounts: Record<string, unknown>;
  /** Extra top-level keys merged into connector.yaml (e.g. backend timeouts). */
  extra?: Record<string, unknown>;
}

export interface StackOptions {
  tokens: TokenSpec[];
  connectors: ConnectorSpec[];
  /** Which connector CN may serve which subaccounts; default: each connector for the subaccounts it lists. */
  authorised?: { cn: string; subaccounts: string[] }[];
  relayExtra?: Record<string, unknown>;
  /** Turns on the relay's admin listener on a free loopback port, with these bearer tokens. */
  relayAdmin?: { tokens: { name: string; token: string }[]; checkTimeoutMs?: number };
  /** Runs once the PKI and the configs are written, before any process starts (e.g. to issue more certificates). */
  beforeStart?: (dir: string) => Promise<void>;
}

export interface TunnelStack {
  readonly dir: string;
  readonly proxyPort: number;
  readonly tunnelPort: number;
  /** The relay admin listener's port (options.relayAdmin), else 0. */
  readonly adminPort: number;
  readonly relay: () => StartedProcess | undefined;
  startRelay(): Promise<StartedProcess>;
  startConnector(id: string): Promise<StartedProcess>;
  connector(id: string): StartedProcess | undefined;
  /** Every audit event an emitter wrote so far, in file order. */
  auditEvents(emitterId: string): Promise<AuditEvent[]>;
  /** Waits until the emitter has written at least n events and returns them. */
  waitForAudit(emitterId: string, n: number, timeoutMs?: number): Promise<AuditEvent[]>;
  auditDir(emitterId: string): string;
  /** Waits until the emitter's shipper has had every event written so far acknowledged by the collector. */
  waitForShipped(emitterId: string, timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const READY_RELAY = /"msg":"relay listening"/;
const READY_CONNECTOR = /"msg":"tunnel registered with relay"/;

/**
 * Starts the stack; a port that freePort() found free can be taken by another process before the relay
 * binds it (EADDRINUSE), so that case is retried on fresh ports, twice at most.
 */
export async function startTunnelStack(options: StackOptions): Promise<TunnelStack> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startTunnelStackOnce(options);
    } catch (err) {
      if (attempt >= 3 || !String((err as Error).message).includes('EADDRINUSE')) throw err;
    }
  }
}

async function startTunnelStackOnce(options: StackOptions): Promise<TunnelStack> {
  const dir = await mkdtemp(join(tmpdir(), 'tw-stack-'));
  await initPki(join(dir, 'pki'), { connectors: options.connectors.map((c) => c.id) });
  const proxyPort = await freePort();
  const tunnelPort = await freePort();
  const adminPort = options.relayAdmin ? await freePort() : 0;
  const authorised = options.authorised ?? options.connectors.map((c) => ({ cn: c.id, subaccounts: Object.keys(c.subaccounts) }));
  const relayConfig = {
    relay: { id: 'relay-1' },
    tunnel: {
      listen: `127.0.0.1:${tunnelPort}`,
      tls: { cert: 'pki/relay.crt', key: 'pki/relay.key', ca: 'pki/ca.crt' },
      ping_interval_ms: 1000,
      connectors: authorised.filter((a) => a.subaccounts.length > 0),
    },
    tokens: options.tokens.map((t) => ({ subaccount: t.subaccount, cloud_app: t.cloudApp, sha256: sha256(t.token) })),
    audit: { dir: 'audit/relay-1' },
    log: { level: 'info' },
    ...(options.relayAdmin
      ? {
          admin: {
            listen: `127.0.0.1:${adminPort}`,
            tokens: options.relayAdmin.tokens.map((t) => ({ name: t.name, sha256: sha256(t.token) })),
            ...(options.relayAdmin.checkTimeoutMs ? { check_timeout_ms: options.relayAdmin.checkTimeoutMs } : {}),
          },
        }
      : {}),
    ...(options.relayExtra ?? {}),
    // A proxy section in relayExtra adds to the listener rather than replacing it.
    proxy: { listen: `127.0.0.1:${proxyPort}`, ...((options.relayExtra?.proxy as Record<string, unknown> | undefined) ?? {}) },
  };
  await writeFile(join(dir, 'relay.yaml'), stringify(relayConfig));
  for (const c of options.connectors) {
    const config = {
      connector: { id: c.id, location_id: c.locationId ?? '' },
      relay: {
        address: `127.0.0.1:${tunnelPort}`,
        server_name: 'localhost',
        tls: { cert: `pki/${c.id}.crt`, key: `pki/${c.id}.key`, ca: 'pki/ca.crt' },
        ping_interval_ms: 1000,
        reconnect: { initial_delay_ms: 100, max_delay_ms: 1000, jitter: 0.3 },
      },
      subaccounts: c.subaccounts,
      audit: { dir: `audit/${c.id}` },
      log: { level: 'info' },
      // No scheduled backend checks unless a test asks (extra.diagnostics): their HEAD requests would be
      // traffic that tests of calls do not expect at their backends.
      diagnostics: { interval_ms: 0 },
      ...(c.extra ?? {}),
    };
    await writeFile(join(dir, `${c.id}.yaml`), stringify(config));
  }

  let relay: StartedProcess | undefined;
  const connectors = new Map<string, StartedProcess>();
  const auditDir = (id: string): string => join(dir, 'audit', id);
  const auditEvents = async (id: string): Promise<AuditEvent[]> => {
    const d = auditDir(id);
    let names: string[];
    try {
      names = (await readdir(d)).filter((n) => /^audit-.+-\d+\.ndjson$/.test(n)).sort();
    } catch {
      return [];
    }
    const events: AuditEvent[] = [];
    for (const n of names) {
      for (const line of (await readFile(join(d, n), 'utf8')).split('\n')) if (line) events.push(JSON.parse(line) as AuditEvent);
    }
    return events;
  };

  const stack: TunnelStack = {
    dir,
    proxyPort,
    tunnelPort,
    adminPort,
    relay: () => relay,
    async startRelay() {
      relay = await startProcess(process.execPath, [CLI, 'relay', '--config', join(dir, 'relay.yaml')], { cwd: dir, readyWhen: READY_RELAY, timeoutMs: 15_000 });
      return relay;
    },
    async startConnector(id: string) {
      const p = await startProcess(process.execPath, [CLI, 'connector', '--config', join(dir, `${id}.yaml`)], { cwd: dir, readyWhen: READY_CONNECTOR, timeoutMs: 15_000 });
      connectors.set(id, p);
      return p;
    },
    connector: (id) => connectors.get(id),
    auditEvents,
    auditDir,
    waitForAudit: (id, n, timeoutMs = 5000) =>
      waitFor(async () => {
        const events = await auditEvents(id);
        return events.length >= n ? events : undefined;
      }, { timeoutMs, message: `${n} audit events from ${id}` }),
    waitForShipped: (id, timeoutMs = 30_000) =>
      waitFor(async () => {
        const events = await auditEvents(id);
        const cursor = loadCursor(auditDir(id), id);
        const last = events.at(-1)?.seq ?? 0;
        return cursor.ok && last > 0 && cursor.position.seq >= last ? last : undefined;
      }, { timeoutMs, intervalMs: 100, message: `the collector acknowledged every audit event of ${id}` }),
    async stop() {
      await Promise.all([...connectors.values()].map((p) => p.stop()));
      await relay?.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await options.beforeStart?.(dir);
    await stack.startRelay();
    for (const c of options.connectors) await stack.startConnector(c.id);
  } catch (err) {
    // Do not leave what did start running: the test process would wait on it forever.
    await stack.stop().catch(() => {});
    throw err;
  }
  return stack;
}

/**
 * A relay and one connector (`connectorId`, default connector-1) serving subaccount acme one mapping,
 * app.virtual:8000 -> 127.0.0.1:`backendPort`, everything under / allowed, for the cloud app portal with
 * `token`; resolves once the relay routes the connector.
 */
export async function startOneMappingStack(options: { token: string; backendPort: number; connectorId?: string; beforeStart?: (dir: string) => Promise<void> }): Promise<TunnelStack> {
  const stack = await startTunnelStack({
    tokens: [{ subaccount: 'acme', cloudApp: 'portal', token: options.token }],
    connectors: [{
      id: options.connectorId ?? 'connector-1',
      subaccounts: { acme: { mappings: [{ virtual: 'app.virtual:8000', internal: `127.0.0.1:${options.backendPort}`, protocol: 'http', resources: [{ path: '/', match: 'prefix' }] }] } },
    }],
    ...(options.beforeStart ? { beforeStart: options.beforeStart } : {}),
  });
  await waitFor(() => /"msg":"connector registered"/.test(`${stack.relay()?.stdout() ?? ''}${stack.relay()?.stderr() ?? ''}`), { timeoutMs: 10_000, message: 'the relay routes the connector' });
  return stack;
}
