// Backend check reports as a connector would ship them (connector/diagnostics/types.ts), and a stand-in for
// the relay's admin API (GET /admin/v1/connectors, POST /admin/v1/check) on loopback, for the collector,
// dashboard and browser tests of backend diagnostics. The stand-in checks the bearer token and records
// every request; the real relay's admin listener has its own tests.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CheckBatch, CheckReport, CheckStep, ConnectorSessionView } from '../../connector/diagnostics/types.js';

export interface ReportOptions {
  readonly subaccount?: string;
  readonly virtual_host?: string;
  readonly internal_host?: string;
  readonly connector_id?: string;
  readonly location_id?: string;
  readonly state?: CheckReport['state'];
  readonly at: number;
  readonly duration_ms?: number;
  /** down: which step failed and how (default tcp_refused). */
  readonly failure?: 'tcp_refused' | 'probe_server_error' | 'dns_not_found';
  /** degraded/up with a certificate about to expire. */
  readonly expiring?: { readonly days_left: number; readonly valid_to: string };
  readonly trigger?: CheckReport['trigger'];
  readonly requested_by?: string;
  readonly check_id?: string;
}

const ok = (step: CheckStep['step'], ms: number, message: string, detail: Record<string, unknown> = {}): CheckStep =>
  ({ step, outcome: 'ok', duration_ms: ms, classification: 'ok', message, fix: '', detail });
const skipped = (step: CheckStep['step']): CheckStep =>
  ({ step, outcome: 'skipped', duration_ms: 0, classification: 'ok', message: 'skipped: an earlier step failed', fix: '', detail: {} });

const FAILURES = {
  dns_not_found: { step: 'dns', message: (host: string) => `${host.split(':')[0] ?? host} does not resolve (ENOTFOUND)`, fix: 'Check the internal host name of the mapping and the connector host\'s DNS.', detail: { code: 'ENOTFOUND' } },
  tcp_refused: { step: 'tcp', message: (host: string) => `connection refused at ${host}`, fix: 'Nothing listens there: check the internal port of the mapping or whether the service runs.', detail: { code: 'ECONNREFUSED' } },
  probe_server_error: { step: 'probe', message: () => 'HEAD / answered 503 Service Unavailable', fix: 'The backend is up but failing: check its logs and its dependencies.', detail: { status: 503 } },
} as const;
const ORDER: CheckStep['step'][] = ['dns', 'tcp', 'tls', 'probe', 'auth', 'latency'];

/** A report with realistic steps for the state asked for. */
export function checkReport(o: ReportOptions): CheckReport {
  const internal = o.internal_host ?? '10.0.0.5:8443';
  const state = o.state ?? 'up';
  const duration = o.duration_ms ?? 42;
  let steps: CheckStep[] = [
    ok('dns', 1, `${internal.split(':')[0]} resolves`, { addresses: ['10.0.0.5'] }),
    ok('tcp', 2, `connected to ${internal}`),
    o.expiring
      ? { step: 'tls', outcome: 'warn', duration_ms: 5, classification: 'tls_expiring_soon', message: `the certificate of ${internal} expires in ${o.expiring.days_left} days`, fix: 'Renew the backend certificate before it expires.', detail: { subject: 'CN=erp.internal', issuer: 'CN=Corp CA', valid_to: o.expiring.valid_to, days_left: o.expiring.days_left } }
      : ok('tls', 5, 'certificate valid, trusted, host name matches'),
    ok('probe', 20, 'HEAD / answered 200', { status: 200 }),
    ok('auth', 0, 'no authentication asked'),
    state === 'degraded' && !o.expiring
      ? { step: 'latency', outcome: 'warn', duration_ms: 0, classification: 'latency_high', message: `the backend answered in ${duration} ms (warn at 1000 ms)`, fix: 'Check the backend\'s load.', detail: { total_ms: duration } }
      : ok('latency', 0, `answered in ${duration} ms`),
  ];
  let classification = o.expiring ? 'tls_expiring_soon' : state === 'degraded' ? 'latency_high' : 'ok';
  let summary = o.expiring ? `the certificate of ${internal} expires in ${o.expiring.days_left} days` : state === 'degraded' ? `slow: ${duration} ms` : `reachable in ${duration} ms`;
  if (state === 'down') {
    const kind = o.failure ?? 'tcp_refused';
    const f = FAILURES[kind];
    const at = ORDER.indexOf(f.step);
    steps = steps.map((s, i) => (i < at ? s : i === at ? { step: s.step, outcome: 'fail', duration_ms: 3, classification: kind, message: f.message(internal), fix: f.fix, detail: f.detail } : skipped(s.step)));
    classification = kind;
    summary = f.message(internal);
  }
  return {
    check_id: o.check_id ?? randomUUID(),
    connector_id: o.connector_id ?? 'conn-dc1',
    location_id: o.location_id ?? '',
    subaccount: o.subaccount ?? 'acme',
    virtual_host: o.virtual_host ?? 'erp.virtual:8000',
    internal_host: internal,
    protocol: 'https',
    trigger: o.trigger ?? 'schedule',
    requested_by: o.requested_by ?? '',
    started_at: new Date(o.at).toISOString(),
    duration_ms: duration,
    state,
    classification: classification as CheckReport['classification'],
    summary,
    steps,
  };
}

export function checkBatch(reports: readonly CheckReport[], connectorId = reports[0]?.connector_id ?? 'conn-dc1'): CheckBatch {
  return { schema: 'tunnelwatch.checks/1', connector_id: connectorId, reports };
}

export interface RecordedRequest { readonly method: string; readonly path: string; readonly authorization: string; readonly body: unknown }

export interface RelayAdminStandin {
  readonly url: string;
  readonly requests: RecordedRequest[];
  connectors: ConnectorSessionView[];
  /** How POST /admin/v1/check answers; default: a fresh up report of the mapping asked for. */
  check: (body: { subaccount: string; virtual_host: string; requested_by: string; location_id?: string }) => { status: number; body: unknown };
  close(): Promise<void>;
}

export async function startRelayAdminStandin(token: string): Promise<RelayAdminStandin> {
  const standin: Omit<RelayAdminStandin, 'url' | 'close'> = {
    requests: [],
    connectors: [],
    check: (b) => ({ status: 200, body: checkReport({ subaccount: b.subaccount, virtual_host: b.virtual_host, at: Date.now(), trigger: 'dashboard', requested_by: b.requested_by }) }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body = text ? (JSON.parse(text) as unknown) : undefined;
      const authorization = req.headers.authorization ?? '';
      standin.requests.push({ method: req.method ?? '', path: req.url ?? '', authorization, body });
      const send = (status: number, payload: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
      };
      if (authorization !== `Bearer ${token}`) return send(401, { code: 'unauthorized', message: 'bad admin token' });
      if (req.method === 'GET' && req.url === '/admin/v1/connectors') return send(200, { connectors: standin.connectors });
      if (req.method === 'POST' && req.url === '/admin/v1/check') {
        const answer = standin.check(body as Parameters<RelayAdminStandin['check']>[0]);
        return send(answer.status, answer.body);
      }
      return send(404, { code: 'not_found', message: `no route ${req.method} ${req.url}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(standin, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  });
}
