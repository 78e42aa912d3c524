// Checks one mapping's backend step by step — dns, tcp, tls, probe, auth, latency — on one connection, as a
// real call would reach it, and says for the first step that fails what was seen and what to do. Used by
// `tunnelwatch check`, the connector's prober and checks the dashboard asks for through the tunnel.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import { splitHostPort } from '../../common/config/schema-parts.js';
import type { MappingConfig } from '../agent/config-schema.js';
import { mappingKey } from '../acl/policy.js';
import { normalizeAuthority } from '../acl/normalize-path.js';
import { CLASSIFICATIONS } from './classifications.js';
import type { BackendState, CheckReport, CheckStep, CheckStepName, Classification } from './types.js';
import { authStep, latencyStep } from './steps/auth-latency.js';
import { dnsStep } from './steps/dns.js';
import { httpProbeStep } from './steps/probe-http.js';
import { tcpProbeStep } from './steps/probe-tcp.js';
import { errorCode, errorMessage, fail, hostPort, since, skipped, type StepResult } from './steps/step-kit.js';
import { tcpStep } from './steps/tcp.js';
import { backendTlsStep } from './steps/tls.js';

export interface CheckTarget {
  connectorId: string;
  locationId: string;
  subaccount: string;
  mapping: MappingConfig;
  trigger: CheckReport['trigger'];
  requestedBy?: string;
}

export interface CheckOptions {
  /** Per step, ms. */
  timeoutMs: number;
  latencyWarnMs: number;
  certWarnDays: number;
  /** Resolves mapping.ca (and probe.ldap.password_file) relative to the config file. */
  resolvePath: (p: string) => string;
  now?: () => Date;
}

/** What an unexpected exception in a step is reported as: the nearest catalogue entry of that step. */
const UNEXPECTED: Record<CheckStepName, Classification> = {
  dns: 'dns_error',
  tcp: 'tcp_unreachable',
  tls: 'tls_handshake_failed',
  probe: 'probe_bad_response',
  auth: 'probe_bad_response',
  latency: 'probe_bad_response',
};

/** Never throws: whatever goes wrong becomes a failed step with its message. */
export async function runCheck(target: CheckTarget, options: CheckOptions): Promise<CheckReport> {
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const t0 = performance.now();
  const steps: CheckStep[] = [];
  let failedStep: CheckStepName | undefined;
  const sockets: net.Socket[] = [];

  const run = async (name: CheckStepName, body: () => Promise<StepResult> | StepResult): Promise<void> => {
    if (failedStep) {
      steps.push(toStep(name, skipped(`not run: the ${failedStep} step failed`), 0));
      return;
    }
    const start = performance.now();
    let result: StepResult;
    try {
      result = await body();
    } catch (err) {
      result = fail(UNEXPECTED[name], `unexpected error while checking: ${errorCode(err) ? `${errorCode(err)} ` : ''}${errorMessage(err)}`, { error: errorMessage(err) });
    }
    steps.push(toStep(name, result, since(start)));
    if (result.outcome === 'fail') failedStep = name;
  };

  const m = target.mapping;
  try {
    const { host, port } = splitHostPort(m.internal);
    const secure = m.protocol === 'https' || m.protocol === 'tcps';
    const timings = { dns: 0, connect: 0, tls: 0, response: 0 };
    let addresses: string[] = [];
    let address = '';
    let socket: net.Socket | undefined;
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    let boundAs = '';
    const probe = m.probe;
    const method = probe?.method ?? 'HEAD';
    const path = probe?.path ?? '/';
    const at = (): string => hostPort(address || host, port);

    await run('dns', async () => {
      const start = performance.now();
      const out = await dnsStep(host, options.timeoutMs);
      timings.dns = since(start);
      addresses = out.addresses;
      return out.result;
    });
    await run('tcp', async () => {
      const out = await tcpStep(addresses, port, options.timeoutMs, 'backend');
      if (out.socket) sockets.push(out.socket);
      socket = out.socket;
      address = out.address ?? '';
      timings.connect = out.connectMs;
      return out.result;
    });
    await run('tls', async () => {
      if (!secure) return skipped(`no TLS: the mapping's protocol is ${m.protocol}`);
      if (!socket) throw new Error('no connection from the tcp step');
      let ca: string | undefined;
      if (m.ca) {
        const file = options.resolvePath(m.ca);
        try {
          ca = readFileSync(file, 'utf8');
        } catch (err) {
          return fail('tls_untrusted_issuer', `cannot read the mapping's ca file ${file} (${errorCode(err) || errorMessage(err)}): the backend certificate cannot be checked against it`, { ca: file });
        }
      }
      const out = await backendTlsStep(socket, {
        host,
        at: at(),
        ca,
        trustLabel: m.ca ? `the mapping's ca ${m.ca}` : 'the system trust store',
        timeoutMs: options.timeoutMs,
        now: now(),
        warnDays: options.certWarnDays,
        reconnect: async () => {
          const again = await tcpStep([address], port, options.timeoutMs, 'backend');
          if (!again.socket) throw Object.assign(new Error(again.result.message), { code: 'ECONNREFUSED' });
          sockets.push(again.socket);
          return again.socket;
        },
      });
      timings.tls = out.handshakeMs;
      if (out.socket) {
        sockets.push(out.socket);
        socket = out.socket;
      }
      return out.result;
    });
    await run('probe', async () => {
      if (!socket) throw new Error('no connection from the earlier steps');
      if (m.protocol === 'http' || m.protocol === 'https') {
        const out = await httpProbeStep(socket, { at: at(), method, path, pathConfigured: probe !== undefined && path !== '/', hostHeader: hostHeaderOf(m), timeoutMs: options.timeoutMs });
        status = out.status;
        headers = out.headers;
        timings.response = out.responseMs;
        return out.result;
      }
      const out = await tcpProbeStep(socket, probe, { at: at(), secure, timeoutMs: options.timeoutMs, resolvePath: options.resolvePath });
      timings.response = out.responseMs;
      boundAs = out.boundAs;
      return out.result;
    });
    await run('auth', () => authStep({ protocol: m.protocol, at: at(), request: `${method} ${path}`, status, headers, boundAs }));
    await run('latency', () => latencyStep({ dnsMs: timings.dns, connectMs: timings.connect, tlsMs: timings.tls, responseMs: timings.response, warnMs: options.latencyWarnMs }));
  } catch (err) {
    // Only the bookkeeping above can get here (each step catches its own): report it rather than throw.
    const name = (['dns', 'tcp', 'tls', 'probe', 'auth', 'latency'] as const).find((s) => !steps.some((x) => x.step === s)) ?? 'latency';
    steps.push(toStep(name, fail(UNEXPECTED[name], `unexpected error while checking: ${errorMessage(err)}`), 0));
  } finally {
    // Outermost first: destroying a TCP socket and then the TLS socket over it crashes Node 20 (SIGSEGV).
    for (const s of sockets.reverse()) s.destroy();
  }
  for (const name of ['dns', 'tcp', 'tls', 'probe', 'auth', 'latency'] as const) {
    if (!steps.some((s) => s.step === name)) steps.push(toStep(name, skipped('not run: an earlier step failed'), 0));
  }
  return report(target, startedAt, since(t0), steps);
}

function toStep(step: CheckStepName, r: StepResult, durationMs: number): CheckStep {
  const classification = r.classification as Classification;
  const fix = r.outcome === 'fail' || r.outcome === 'warn' ? CLASSIFICATIONS[classification]?.fix ?? '' : '';
  return { step, outcome: r.outcome, duration_ms: durationMs, classification, message: r.message, fix, detail: r.detail };
}

function report(target: CheckTarget, startedAt: Date, durationMs: number, steps: CheckStep[]): CheckReport {
  const failed = steps.find((s) => s.outcome === 'fail');
  const warned = steps.find((s) => s.outcome === 'warn');
  const state: BackendState = failed ? 'down' : warned ? 'degraded' : 'up';
  const first = failed ?? warned;
  const latency = steps.find((s) => s.step === 'latency');
  const total = typeof latency?.detail.total_ms === 'number' ? latency.detail.total_ms : durationMs;
  return {
    check_id: randomUUID(),
    connector_id: target.connectorId,
    location_id: target.locationId,
    subaccount: target.subaccount,
    virtual_host: target.mapping.virtual,
    internal_host: target.mapping.internal,
    protocol: target.mapping.protocol,
    trigger: target.trigger,
    requested_by: target.requestedBy ?? '',
    started_at: startedAt.toISOString(),
    duration_ms: durationMs,
    state,
    classification: first?.classification ?? 'ok',
    summary: first ? first.message : `reachable in ${total} ms`,
    steps,
  };
}

/** The Host header real calls send this backend (policy.ts: the normalised virtual host:port, or internal). */
function hostHeaderOf(m: MappingConfig): string {
  if (m.host_header === 'internal') return m.internal;
  const v = normalizeAuthority(m.virtual);
  return v.ok ? mappingKey(v.host, v.port) : m.virtual;
}
