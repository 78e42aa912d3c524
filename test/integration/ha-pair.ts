// A master/shadow connector pair behind a real relay, for the HA system tests (ha-failover, ha-switch): each
// connector a real `tunnelwatch connector` process, a node backend that records what it receives, a bounded
// load of cloud-app calls each carrying its own trace id, and the audit files of all three emitters.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import type { AuditEvent } from '../../common/audit/event.js';
import { HaClient } from '../../connector/ha/ha-link.js';
import type { HaState } from '../../connector/ha/ha-node.js';
import { haCertFiles, issueHaFiles } from '../../connector/ha/ha-pki.js';
import { freePort } from '../helpers/ports.js';
import { proxyRequest } from '../helpers/proxy-client.js';
import { startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

export const TOKEN = 'tw_test_acme_ha_app_0123456789abcdef';
export const GLOBEX_TOKEN = 'tw_test_globex_ha_app_0123456789abcdef';
export const MASTER = 'conn-a';
export const SHADOW = 'conn-b';
export const ERP = 'http://erp.virtual:8000';
export const HA_TIMINGS = { check_interval_ms: 250, takeover_delay_ms: 1000, drain_timeout_ms: 10_000 };

/** A backend that records the path of every request and answers {url}; `?delay_ms=N` answers N ms later. */
export interface Backend {
  readonly port: number;
  readonly requests: { url: string; at: number }[];
  stop(): Promise<void>;
}

async function startBackend(): Promise<Backend> {
  const requests: { url: string; at: number }[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', at: Date.now() });
    req.resume();
    const delay = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('delay_ms') ?? 0);
    setTimeout(() => {
      const body = JSON.stringify({ url: req.url });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    }, delay);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as { port: number }).port,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface HaPair {
  stack: TunnelStack;
  backend: Backend;
  haPorts: Record<string, number>;
  /** GET /ha/v1/state of a connector, asked with its own HA certificate (as the CLI does). */
  state(id: string): Promise<HaState>;
  stop(): Promise<void>;
}

/** The master's rules: /api and /master-only allowed, everything else denied (e.g. /admin). */
function masterRules(backendPort: number): Record<string, unknown> {
  return {
    acme: {
      mappings: [
        {
          virtual: 'erp.virtual:8000',
          internal: `127.0.0.1:${backendPort}`,
          protocol: 'http',
          resources: [
            { path: '/api', methods: ['GET', 'POST'] },
            { path: '/master-only', match: 'exact', methods: ['GET'] },
          ],
        },
      ],
    },
  };
}

/**
 * The shadow's own file holds stale rules (only /old): they must be replaced, not merged, by the master's.
 * Its `subaccounts` could as well be empty; stale ones make the test sharper.
 */
function staleShadowRules(backendPort: number): Record<string, unknown> {
  return { acme: { mappings: [{ virtual: 'erp.virtual:8000', internal: `127.0.0.1:${backendPort}`, protocol: 'http', resources: [{ path: '/old', methods: ['GET'] }] }] } };
}

export async function startHaPair(): Promise<HaPair> {
  const backend = await startBackend();
  const haPorts: Record<string, number> = { [MASTER]: await freePort(), [SHADOW]: await freePort() };
  const haSection = (id: string, peer: string, role: 'master' | 'shadow') => ({
    ha: {
      role,
      listen: `127.0.0.1:${haPorts[id]}`,
      peer: `127.0.0.1:${haPorts[peer]}`,
      peer_id: peer,
      tls: { cert: `pki/${haCertFiles(id).cert}`, key: `pki/${haCertFiles(id).key}`, ca: 'pki/ca.crt' },
      ...HA_TIMINGS,
    },
  });
  let stack: TunnelStack;
  try {
    stack = await startTunnelStack({
      tokens: [
        { subaccount: 'acme', cloudApp: 'portal', token: TOKEN },
        { subaccount: 'globex', cloudApp: 'portal', token: GLOBEX_TOKEN },
      ],
      connectors: [
        { id: MASTER, subaccounts: masterRules(backend.port), extra: haSection(MASTER, SHADOW, 'master') },
        { id: SHADOW, subaccounts: staleShadowRules(backend.port), extra: haSection(SHADOW, MASTER, 'shadow') },
      ],
      // globex is authorised but served by nobody until a test adds it to the master's rules.
      authorised: [
        { cn: MASTER, subaccounts: ['acme', 'globex'] },
        { cn: SHADOW, subaccounts: ['acme', 'globex'] },
      ],
      beforeStart: async (dir) => {
        await issueHaFiles(join(dir, 'pki'), MASTER);
        await issueHaFiles(join(dir, 'pki'), SHADOW);
      },
    });
  } catch (err) {
    await backend.stop();
    throw err;
  }
  const clients = new Map<string, HaClient>();
  const clientOf = (id: string): HaClient => {
    let c = clients.get(id);
    if (!c) {
      const pki = join(stack.dir, 'pki');
      const files = haCertFiles(id);
      c = new HaClient({
        address: `127.0.0.1:${haPorts[id]}`,
        expectId: id,
        tls: { cert: readFileSync(join(pki, files.cert)), key: readFileSync(join(pki, files.key)), ca: readFileSync(join(pki, 'ca.crt')) },
      });
      clients.set(id, c);
    }
    return c;
  };
  return {
    stack,
    backend,
    haPorts,
    async state(id) {
      const r = await clientOf(id).request<HaState>('GET', '/ha/v1/state?rules=0', undefined, 3000);
      if (r.status !== 200 || !r.body) throw new Error(`${id}: /ha/v1/state answered ${r.status}`);
      return r.body;
    },
    async stop() {
      for (const c of clients.values()) c.close();
      await stack.stop();
      await backend.stop();
    },
  };
}

export interface CallRecord {
  traceId: string;
  path: string;
  startedMs: number;
  endedMs: number;
  status: number;
  /** x-tunnel-error of a refusal, '' otherwise. */
  error: string;
  /** The client's own failure (no HTTP answer at all, or a timeout), '' when an answer came. */
  clientError: string;
}

export function newTraceId(): string {
  return randomBytes(16).toString('hex');
}

/**
 * `clients` concurrent cloud-app loops for `durationMs`; every `denyEvery`-th call of a loop asks for /admin,
 * which the rules deny. Each call carries its own traceparent (the relay continues an authenticated app's
 * trace) and has a timeout: a call without a complete answer within it is a clientError, i.e. a hang.
 */
export async function runLoad(
  proxyPort: number,
  options: { clients: number; durationMs: number; denyEvery: number; timeoutMs: number; paceMs?: number; /** each loop starts its next call after paceMs without waiting for the answer */ concurrent?: boolean },
): Promise<CallRecord[]> {
  const calls: CallRecord[] = [];
  const until = Date.now() + options.durationMs;
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.clients });
  const loop = async (client: number): Promise<void> => {
    const pending: Promise<void>[] = [];
    for (let n = 0; Date.now() < until; n++) {
      const call = one(client, n);
      if (options.concurrent) pending.push(call);
      else await call;
      if (options.paceMs) await new Promise((r) => setTimeout(r, options.paceMs));
    }
    await Promise.all(pending);
  };
  const one = async (client: number, n: number): Promise<void> => {
    const traceId = newTraceId();
    const path = n % options.denyEvery === options.denyEvery - 1 ? `/admin/secret-${client}-${n}` : `/api/item/${client}-${n}`;
    const startedMs = Date.now();
    try {
      const r = await proxyRequest(proxyPort, `${ERP}${path}`, {
        token: TOKEN,
        // Concurrent calls of one loop each take a connection of their own rather than queue for one.
        ...(options.concurrent ? {} : { agent }),
        timeoutMs: options.timeoutMs,
        headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
      });
      calls.push({ traceId, path, startedMs, endedMs: Date.now(), status: r.status, error: String(r.headers['x-tunnel-error'] ?? ''), clientError: '' });
    } catch (err) {
      calls.push({ traceId, path, startedMs, endedMs: Date.now(), status: 0, error: '', clientError: (err as Error).message });
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, i) => loop(i)));
  agent.destroy();
  return calls;
}

/** Every audit event of the three emitters by trace id. */
export async function eventsByTrace(stack: TunnelStack): Promise<Map<string, AuditEvent[]>> {
  const byTrace = new Map<string, AuditEvent[]>();
  for (const id of ['relay-1', MASTER, SHADOW]) {
    for (const e of await stack.auditEvents(id)) {
      const list = byTrace.get(e.trace_id) ?? [];
      list.push(e);
      byTrace.set(e.trace_id, list);
    }
  }
  return byTrace;
}

/** Waits until the emitters stop writing (audit events are group-committed after the response). */
export async function settledEvents(stack: TunnelStack, quietMs = 400, timeoutMs = 10_000): Promise<Map<string, AuditEvent[]>> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  for (;;) {
    const events = await eventsByTrace(stack);
    const count = [...events.values()].reduce((n, l) => n + l.length, 0);
    if (count === last || Date.now() > deadline) return events;
    last = count;
    await new Promise((r) => setTimeout(r, quietMs));
  }
}
