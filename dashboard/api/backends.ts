// /api/v1/backends: backend diagnostics (issue 7). The health matrix, a mapping's timeline and last check
// come from backend_checks (the reports connectors ship to the collector); the tunnel view and "Run check
// now" ask the relay's admin API (dashboard.relay_admin). A check asked for here is stored like a shipped
// one (so it shows in the history and its state change is recorded) and is itself an admin event.
import type { FastifyInstance } from 'fastify';
import { TunnelwatchError } from '../../common/errors.js';
import { createCheckIngest, type CheckIngest } from '../../collector/diagnostics/state-changes.js';
import { requestMeta } from '../auth/route-kit.js';
import type { DashboardContext } from '../context.js';
import { relayAdminFromSettings } from '../relay-admin-client.js';
import { canSeeSubaccount } from '../roles.js';
import { healthMatrix, history, lastCheck } from './backends-queries.js';
import {
  BackendQuery, CheckBody, CheckResponse, HistoryResponse, LastQuery, LastResponse, MatrixQuery, MatrixResponse, TunnelResponse,
  type BackendQueryT, type CheckBodyT, type LastQueryT, type MatrixQueryT,
} from './backends-schemas.js';
import { ErrorResponse, principalOf, requireSubaccount, resolveRange } from './query-kit.js';

const TAGS = ['backends'];
const ERRORS = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 503: ErrorResponse };

export async function backendRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  // Built on first use: the API reference is generated from an app without a store.
  let ingest: CheckIngest | undefined;
  const checks = (): CheckIngest => (ingest ??= createCheckIngest(ctx.store, { audit: ctx.adminAudit, log: ctx.log.child({ component: 'dashboard.checks' }) }));

  app.get<{ Querystring: MatrixQueryT }>('/api/v1/backends', {
    config: { access: 'viewer' },
    schema: {
      tags: TAGS,
      summary: 'Backend health matrix',
      description: 'Every mapping a connector checked in the 30 days before `to`, per subaccount: the last check\'s state, classification and summary, since when it is in that state, its checks in the range by state, the real calls to its virtual host that failed in the range by error_type (audit events), and the fix of the failing step. Only subaccounts in your scope.',
      querystring: MatrixQuery,
      response: { 200: MatrixResponse, ...ERRORS },
    },
  }, async (request) => {
    const principal = principalOf(request);
    const q = request.query;
    if (q.subaccount !== undefined) requireSubaccount(principal, q.subaccount);
    const range = resolveRange(q);
    const { lookbackFrom, backends } = await healthMatrix(ctx, principal, range, q.subaccount);
    const totals = { up: 0, degraded: 0, down: 0 };
    for (const b of backends) if (b.state === 'up' || b.state === 'degraded' || b.state === 'down') totals[b.state]++;
    return { from: range.from.toISOString(), to: range.to.toISOString(), lookback_from: lookbackFrom.toISOString(), backends, totals };
  });

  app.get<{ Querystring: BackendQueryT }>('/api/v1/backends/history', {
    config: { access: 'viewer' },
    schema: {
      tags: TAGS,
      summary: 'Check history of one mapping',
      description: 'The checks of one mapping in the range, oldest first: state, duration and classification per check, and the state changes; more than 720 checks come as buckets (worst state, mean duration). For a timeline chart.',
      querystring: BackendQuery,
      response: { 200: HistoryResponse, ...ERRORS },
    },
  }, async (request) => {
    const principal = principalOf(request);
    const q = request.query;
    requireSubaccount(principal, q.subaccount);
    const range = resolveRange(q);
    const virtualHost = q.virtual_host.toLowerCase();
    return { subaccount: q.subaccount, virtual_host: virtualHost, from: range.from.toISOString(), to: range.to.toISOString(), ...await history(ctx, principal, range, q.subaccount, virtualHost) };
  });

  app.get<{ Querystring: LastQueryT }>('/api/v1/backends/last', {
    config: { access: 'viewer' },
    schema: {
      tags: TAGS,
      summary: 'Last check of one mapping, step by step',
      description: 'The last check of one mapping with every step: DNS, TCP, TLS, the protocol probe, authentication and latency, each with its time, outcome, classification, what was observed and the suggested fix. `report` is null when the mapping was never checked.',
      querystring: LastQuery,
      response: { 200: LastResponse, ...ERRORS },
    },
  }, async (request) => {
    const principal = principalOf(request);
    requireSubaccount(principal, request.query.subaccount);
    return { report: await lastCheck(ctx, principal, request.query.subaccount, request.query.virtual_host.toLowerCase()) };
  });

  app.get('/api/v1/backends/tunnel', {
    config: { access: 'viewer' },
    schema: {
      tags: TAGS,
      summary: 'The relay\'s view of the tunnel',
      description: 'Connected connectors as the relay sees them (its admin API, dashboard.relay_admin): connected since, round-trip time, open streams, reconnects and the last error. Only connectors serving a subaccount in your scope, with those subaccounts. 503 when relay_admin is not configured or the relay does not answer.',
      response: { 200: TunnelResponse, ...ERRORS },
    },
  }, async (request) => {
    const principal = principalOf(request);
    const connectors = await relayAdminFromSettings(ctx.settings, ctx.configFile).connectors();
    return {
      checked_at: new Date().toISOString(),
      connectors: connectors
        .map((c) => ({ ...c, subaccounts: (Array.isArray(c.subaccounts) ? c.subaccounts : []).filter((s) => canSeeSubaccount(principal, s)) }))
        .filter((c) => c.subaccounts.length > 0)
        .sort((a, b) => a.connector_id.localeCompare(b.connector_id) || a.location_id.localeCompare(b.location_id)),
    };
  });

  app.post<{ Body: CheckBodyT }>('/api/v1/backends/check', {
    config: { access: 'admin' },
    schema: {
      tags: TAGS,
      summary: 'Run a check now',
      description: 'Asks the relay (dashboard.relay_admin) to have the connector serving the subaccount check one of its mappings now, through the tunnel\'s control channel, and waits for the report. The report is stored like the prober\'s (it shows in the history; a state change becomes a finding) and returned. Recorded as a backend.check admin event. 404 when no connector serves the subaccount or it has no such mapping, 504 when the connector did not finish in time, 503 when the relay cannot be asked.',
      body: CheckBody,
      response: { 200: CheckResponse, ...ERRORS, 404: ErrorResponse, 504: ErrorResponse },
    },
  }, async (request) => {
    const principal = principalOf(request);
    const b = request.body;
    requireSubaccount(principal, b.subaccount);
    const meta = requestMeta(request);
    const target = `${b.subaccount}/${b.virtual_host.toLowerCase()}`;
    const record = (outcome: 'success' | 'failure', reason: string, after = ''): Promise<void> => ctx.adminAudit.record({
      action: 'backend.check', outcome, actor: principal.name, actor_role: principal.role, via: principal.via, target,
      client_ip: meta.clientIp, user_agent: meta.userAgent, reason, after,
    });
    let report;
    try {
      report = await relayAdminFromSettings(ctx.settings, ctx.configFile).check({
        subaccount: b.subaccount, virtual_host: b.virtual_host, requested_by: principal.name, ...(b.location_id !== undefined ? { location_id: b.location_id } : {}),
      });
      if (report.subaccount !== b.subaccount || report.virtual_host.toLowerCase() !== b.virtual_host.toLowerCase()) {
        throw new TunnelwatchError('TW_ERR_DASH_RELAY_ADMIN_UNAVAILABLE', `the relay answered a check of ${report.subaccount}/${report.virtual_host}, not of ${target}`);
      }
    } catch (err) {
      await record('failure', (err as Error).message.slice(0, 1000)).catch((e: unknown) => ctx.log.error({ err: e }, 'cannot record a failed check as an admin event'));
      throw err;
    }
    const stored = await checks().ingest([report]).catch((err: unknown) => {
      ctx.log.error({ err }, 'cannot store a dashboard check');
      throw new TunnelwatchError('TW_ERR_DASH_STORE_UNAVAILABLE', `the check ran (${report.state}: ${report.summary}) but could not be stored: ${(err as Error).message.split('\n')[0]?.slice(0, 200)}`, { cause: err });
    });
    await record('success', `${report.state}: ${report.summary}`.slice(0, 1000), JSON.stringify({ check_id: report.check_id, state: report.state, classification: report.classification, duration_ms: report.duration_ms }));
    return { report, stored: { accepted: stored.accepted, state_changes: stored.state_changes } };
  });
}
