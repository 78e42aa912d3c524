// `tunnelwatch doctor`: can this connector reach its relay (each of relay.addresses)? DNS, TCP, the mTLS handshake with its own
// certificate, the relay's certificate, the tunnel hello, its own certificate's validity, and this host's
// clock. Steps that need the network path stop at its first failure; the local ones always run.
import { resolveFrom } from '../../common/config/load-config.js';
import { relayEndpoints, type ConnectorConfig, type RelayEndpoint } from '../agent/config-schema.js';
import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { isIP } from 'node:net';
import type { TlsMaterial } from '../tunnel/tls-files.js';
import { classificationInfo, RELAY_FIXES, type DoctorClassification } from './classifications.js';
import { clientCertStep, clockStep } from './doctor-local.js';
import { helloStep, relayTlsStep } from './doctor-tunnel.js';
import type { BackendState, Classification, StepOutcome } from './types.js';
import { dnsStep } from './steps/dns.js';
import { errorMessage, fail, hostPort, since, skipped, warn, type StepResult } from './steps/step-kit.js';
import { tcpStep } from './steps/tcp.js';
import { judgeCertificate } from './steps/tls-judge.js';

export type DoctorStepName = 'dns' | 'tcp' | 'tls' | 'relay_cert' | 'hello' | 'client_cert' | 'clock';

export interface DoctorStep {
  readonly step: DoctorStepName;
  readonly outcome: StepOutcome;
  readonly duration_ms: number;
  readonly classification: DoctorClassification;
  readonly message: string;
  readonly fix: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface DoctorReport {
  readonly connector_id: string;
  /** relay.address as configured, or the one of relay.addresses this report is about. */
  readonly relay_address: string;
  /** The name the relay certificate must carry (relay.server_name, else the host of the address). */
  readonly server_name: string;
  readonly started_at: string;
  readonly duration_ms: number;
  readonly state: BackendState;
  readonly classification: DoctorClassification;
  readonly summary: string;
  readonly steps: readonly DoctorStep[];
}

export interface DoctorOptions {
  /** Per step, ms. */
  readonly timeoutMs: number;
  readonly certWarnDays: number;
  readonly now?: () => Date;
}

const ORDER: readonly DoctorStepName[] = ['dns', 'tcp', 'tls', 'relay_cert', 'hello', 'client_cert', 'clock'];
/** What each step needs to have passed (ok or warn) to run at all. */
const NEEDS: Record<DoctorStepName, readonly DoctorStepName[]> = {
  client_cert: [],
  dns: [],
  tcp: ['dns'],
  tls: ['tcp'],
  relay_cert: ['tls'],
  hello: ['tls'],
  clock: [],
};

/** One report per configured relay (relay.address, or each of relay.addresses), checked at the same time. */
export async function runDoctorAll(config: ConnectorConfig, configFile: string, options: DoctorOptions): Promise<DoctorReport[]> {
  return Promise.all(relayEndpoints(config).map((relay) => runDoctor(config, configFile, options, relay)));
}

/**
 * Checks one relay (default: the first configured; relayEndpoints() throws on a config that sets both or
 * neither of relay.address and relay.addresses). Never throws otherwise: an unexpected error becomes a
 * failed step.
 */
export async function runDoctor(config: ConnectorConfig, configFile: string, options: DoctorOptions, relay?: RelayEndpoint): Promise<DoctorReport> {
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const t0 = performance.now();
  const endpoint = relay ?? (relayEndpoints(config)[0] as RelayEndpoint);
  const { host, port } = endpoint;
  const serverName = endpoint.serverName ?? host;
  const at = (address?: string): string => hostPort(address ?? host, port);
  const done = new Map<DoctorStepName, DoctorStep>();
  const sockets: net.Socket[] = [];

  const run = async (name: DoctorStepName, body: () => Promise<StepResult> | StepResult): Promise<void> => {
    const blocker = NEEDS[name].find((n) => { const s = done.get(n); return !s || s.outcome === 'fail' || s.outcome === 'skipped'; });
    if (blocker) {
      done.set(name, toStep(name, skipped(`not run: the ${blocker} step did not pass`), 0));
      return;
    }
    const start = performance.now();
    let result: StepResult;
    try {
      result = await body();
    } catch (err) {
      result = fail(name === 'dns' ? 'dns_error' : name === 'client_cert' ? 'client_cert_unreadable' : 'tls_handshake_failed', `unexpected error while checking: ${errorMessage(err)}`);
    }
    done.set(name, toStep(name, result, since(start)));
  };

  try {
    let material: TlsMaterial | undefined;
    let addresses: string[] = [];
    let address: string | undefined;
    let socket: net.Socket | undefined;
    let secure: TLSSocket | undefined;
    await run('client_cert', () => {
      const out = clientCertStep(config, configFile, now(), options.certWarnDays);
      material = out.material;
      return out.result;
    });
    await run('dns', async () => {
      const out = await dnsStep(host, options.timeoutMs);
      addresses = out.addresses;
      return out.result;
    });
    await run('tcp', async () => {
      const out = await tcpStep(addresses, port, options.timeoutMs, 'relay');
      if (out.socket) sockets.push(out.socket);
      socket = out.socket;
      address = out.address;
      return out.result;
    });
    await run('tls', async () => {
      if (!material) return skipped('not run: the files in relay.tls cannot be read (see client_cert)');
      if (!socket) throw new Error('no connection from the tcp step');
      const out = await relayTlsStep(socket, { at: at(address), servername: endpoint.serverName ?? (isIP(host) ? undefined : host), material, timeoutMs: options.timeoutMs });
      if (out.socket) sockets.push(out.socket);
      secure = out.socket;
      return out.result;
    });
    await run('relay_cert', () => {
      if (!secure || !material) return skipped('not run: no TLS session with the relay');
      const judged = judgeCertificate(secure, {
        host: serverName,
        at: at(address),
        ca: material.ca.toString('utf8'),
        trustLabel: `relay.tls.ca (${resolveFrom(configFile, config.relay.tls.ca)})`,
        now: now(),
        warnDays: options.certWarnDays,
      });
      const first = judged.problems.find((p) => p.outcome === 'fail') ?? judged.problems[0];
      if (first) return first.outcome === 'fail' ? fail(first.classification, first.message, judged.detail) : warn(first.classification, first.message, judged.detail);
      const d = judged.detail;
      return { outcome: 'ok', classification: 'ok', message: `the relay certificate ${String(d.subject)} (issued by ${String(d.issuer)}) is trusted by relay.tls.ca, valid for ${serverName} and ${String(d.days_left)} more days`, detail: d };
    });
    await run('hello', () => {
      if (!secure) return skipped('not run: no TLS session with the relay');
      return helloStep(secure, { at: at(address), connectorId: config.connector.id, locationId: config.connector.location_id, timeoutMs: options.timeoutMs });
    });
    await run('clock', () => clockStep(config, configFile, options.timeoutMs, now));
  } catch (err) {
    const missing = ORDER.find((n) => !done.has(n)) ?? 'clock';
    done.set(missing, toStep(missing, fail('tls_handshake_failed', `unexpected error while checking: ${errorMessage(err)}`), 0));
  } finally {
    // Outermost first (see run-check.ts).
    for (const s of sockets.reverse()) s.destroy();
  }
  const steps = ORDER.map((n) => done.get(n) ?? toStep(n, skipped('not run'), 0));
  // A fault of this connector's own certificate (expired, not yet valid, CN or key) is known for certain
  // and explains a refused handshake better than the tls step's guess from the outside.
  const failed = steps.find((s) => s.step === 'client_cert' && s.outcome === 'fail') ?? steps.find((s) => s.outcome === 'fail');
  const warned = steps.find((s) => s.outcome === 'warn');
  const durationMs = since(t0);
  return {
    connector_id: config.connector.id,
    relay_address: endpoint.address,
    server_name: serverName,
    started_at: startedAt.toISOString(),
    duration_ms: durationMs,
    state: failed ? 'down' : warned ? 'degraded' : 'up',
    classification: (failed ?? warned)?.classification ?? 'ok',
    summary: (failed ?? warned)?.message ?? `the relay at ${endpoint.address} accepts this connector (checked in ${durationMs} ms)`,
    steps,
  };
}

function toStep(step: DoctorStepName, r: StepResult, durationMs: number): DoctorStep {
  const fix = r.outcome === 'fail' || r.outcome === 'warn' ? RELAY_FIXES[r.classification as Classification] ?? classificationInfo(r.classification).fix : '';
  return { step, outcome: r.outcome, duration_ms: durationMs, classification: r.classification, message: r.message, fix, detail: r.detail };
}
