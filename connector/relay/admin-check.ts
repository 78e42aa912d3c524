// POST /admin/v1/check: the relay side of an on-demand check. It picks the connector session that serves
// the subaccount and location, opens a control stream to CHECK_PATH on it, and relays the CheckReport the
// connector answers. The relay names a mapping (virtual host:port); the connector looks it up in its own
// rules and refuses anything else, so this route cannot make a connector probe an arbitrary host.
import http2, { type ClientHttp2Stream } from 'node:http2';
import { Type, type Static } from '@sinclair/typebox';
import { SUBACCOUNT_PATTERN } from '../../common/config/schema-parts.js';
import { TunnelwatchError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { CheckReport } from '../diagnostics/types.js';
import { CHECK_PATH, type CheckRequest } from '../tunnel/protocol.js';
import { adminError, type AdminRoute } from './admin-server.js';
import type { SessionRegistry, TunnelSession } from './session-registry.js';

export const AdminCheckBodySchema = Type.Object(
  {
    subaccount: Type.String({ pattern: SUBACCOUNT_PATTERN }),
    virtual_host: Type.String({ minLength: 3, maxLength: 300, pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+):[0-9]{1,5}$' }),
    location_id: Type.Optional(Type.String({ pattern: '^([A-Za-z0-9][A-Za-z0-9._-]{0,63})?$' })),
    requested_by: Type.String({ maxLength: 256 }),
  },
  { additionalProperties: false },
);
export type AdminCheckBody = Static<typeof AdminCheckBodySchema>;

/** A report is a few KiB; this bounds what a misbehaving connector can make the relay buffer. */
const MAX_REPORT_BYTES = 256 * 1024;

export interface CheckRouteOptions {
  readonly registry: SessionRegistry;
  /** admin.check_timeout_ms: the deadline for the connector's answer. */
  readonly checkTimeoutMs: number;
  readonly log: Logger;
}

export function checkRoute(options: CheckRouteOptions): AdminRoute {
  return {
    method: 'POST',
    path: '/admin/v1/check',
    auth: 'token',
    body: AdminCheckBodySchema,
    async handle(request) {
      const body = request.body as AdminCheckBody;
      const locationId = body.location_id ?? '';
      const started = Date.now();
      const fields = { token_name: request.tokenName, subaccount: body.subaccount, virtual_host: body.virtual_host, location_id: locationId, requested_by: body.requested_by };
      const session = options.registry.pick(body.subaccount, locationId);
      if (!session) {
        options.log.info({ ...fields, status: 404 }, 'admin check: no connector session');
        throw adminError('TW_ERR_RELAY_ADMIN_NO_CONNECTOR', `subaccount ${body.subaccount}, location id ${JSON.stringify(locationId)}`);
      }
      const ask: CheckRequest = { subaccount: body.subaccount, virtual_host: body.virtual_host, requested_by: body.requested_by };
      try {
        const report = await requestCheck(session, ask, options.checkTimeoutMs, request.signal);
        options.log.info({ ...fields, connector_id: session.connectorId, status: 200, state: report.state, classification: report.classification, duration_ms: Date.now() - started }, 'admin check');
        return { status: 200, body: report };
      } catch (err) {
        const status = err instanceof TunnelwatchError ? err.status : 500;
        options.log.info({ ...fields, connector_id: session.connectorId, status, err: (err as Error).message, duration_ms: Date.now() - started }, 'admin check failed');
        throw err;
      }
    },
  };
}

/** Asks the connector of this session for a check; rejects with a TW_ERR_RELAY_ADMIN_* TunnelwatchError. */
export function requestCheck(session: TunnelSession, ask: CheckRequest, timeoutMs: number, signal?: AbortSignal): Promise<CheckReport> {
  return new Promise<CheckReport>((resolve, reject) => {
    let stream: ClientHttp2Stream;
    try {
      stream = session.h2.request({ ':method': 'POST', ':path': CHECK_PATH, 'content-type': 'application/json' });
    } catch (err) {
      reject(adminError('TW_ERR_RELAY_ADMIN_TUNNEL_BROKEN', `cannot open a stream to connector ${session.connectorId}: ${(err as Error).message}`));
      return;
    }
    let settled = false;
    const finish = (outcome: { report: CheckReport } | { error: TunnelwatchError }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if ('error' in outcome) {
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(outcome.error);
      } else resolve(outcome.report);
    };
    const timer = setTimeout(() => {
      finish({ error: adminError('TW_ERR_RELAY_ADMIN_CHECK_TIMEOUT', `connector ${session.connectorId} did not answer within ${timeoutMs} ms`) });
    }, timeoutMs);
    timer.unref();
    // The admin client hung up: nobody waits for the report, so the stream goes (the connector still
    // ships the report to the collector).
    const onAbort = (): void => finish({ error: adminError('TW_ERR_RELAY_ADMIN_TUNNEL_BROKEN', 'the admin client went away') });
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();

    let status = 0;
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REPORT_BYTES) finish({ error: adminError('TW_ERR_RELAY_ADMIN_TUNNEL_BROKEN', `the connector's answer exceeds ${MAX_REPORT_BYTES} bytes`) });
      else chunks.push(chunk);
    });
    stream.on('end', () => finish(interpret(status, Buffer.concat(chunks).toString('utf8'), session.connectorId)));
    stream.on('error', (err) => finish({ error: adminError('TW_ERR_RELAY_ADMIN_TUNNEL_BROKEN', `stream to connector ${session.connectorId}: ${err.message}`) }));
    stream.on('close', () => finish({ error: adminError('TW_ERR_RELAY_ADMIN_TUNNEL_BROKEN', `the stream to connector ${session.connectorId} closed before an answer (code ${stream.rstCode ?? 0})`) }));
    stream.end(JSON.stringify(ask));
  });
}

function interpret(status: number, text: string, connectorId: string): { report: CheckReport } | { error: TunnelwatchError } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const said = body !== null && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string' ? (body as { error: string }).error : '';
  if (status === 200) {
    if (isReport(body) && body.connector_id === connectorId) return { report: body };
    return { error: adminError('TW_ERR_RELAY_ADMIN_TUNNEL_BROKEN', `connector ${connectorId} answered 200 without a check report`) };
  }
  if (status === 404) return { error: adminError('TW_ERR_RELAY_ADMIN_NO_MAPPING', said || `connector ${connectorId} answered 404`) };
  if (status === 429) return { error: adminError('TW_ERR_RELAY_ADMIN_CHECK_BUSY', said || `connector ${connectorId}`) };
  // 400/403 from a connector that treats the stream as a cloud call: one older than on-demand checks.
  return { error: adminError('TW_ERR_RELAY_ADMIN_TUNNEL_BROKEN', `connector ${connectorId} answered HTTP ${status}${said ? `: ${said}` : ' (a connector version without on-demand checks?)'}`) };
}

function isReport(v: unknown): v is CheckReport {
  if (v === null || typeof v !== 'object') return false;
  const r = v as Record<string, unknown>;
  return typeof r.check_id === 'string' && typeof r.connector_id === 'string' && typeof r.state === 'string' && typeof r.classification === 'string' && Array.isArray(r.steps);
}
