// The dashboard's client of the relay's admin API (relay.yaml `admin:`): the relay's view of connected
// connectors, and a check of one mapping that the relay asks the connector for over the tunnel's control
// channel. Configured by dashboard.relay_admin; the bearer token is read from its file on each use (so a
// rotated token needs no restart) and never logged or put in an error. Every failure is a TunnelwatchError
// that says what to check: not configured, unreachable or refusing (503), no such connector or mapping
// (404), or the connector did not answer in time (504).
import http from 'node:http';
import https from 'node:https';
import { Ajv } from 'ajv';
import { readConfiguredFile } from '../common/config/load-config.js';
import { TunnelwatchError } from '../common/errors.js';
import { CheckReportSchema } from '../collector/store/backend-checks.js';
import type { CheckReport, ConnectorSessionView } from '../connector/diagnostics/types.js';
import type { DashboardSettings } from './config-schema.js';

export interface CheckRequest {
  readonly subaccount: string;
  readonly virtual_host: string;
  readonly location_id?: string;
  /** The dashboard user on whose behalf the check runs. */
  readonly requested_by: string;
}

export interface RelayAdminClient {
  /** GET /admin/v1/connectors */
  connectors(): Promise<ConnectorSessionView[]>;
  /** POST /admin/v1/check: the connector's report, checked against tunnelwatch.checks/1. */
  check(request: CheckRequest): Promise<CheckReport>;
}

export interface RelayAdminOptions {
  readonly url: string;
  readonly token: () => string;
  readonly ca?: Buffer;
  readonly timeoutMs: number;
}

const ajv = new Ajv({ allErrors: false, strict: false });
const validReport = ajv.compile(CheckReportSchema);

const unavailable = (detail: string, cause?: unknown): TunnelwatchError =>
  new TunnelwatchError('TW_ERR_DASH_RELAY_ADMIN_UNAVAILABLE', detail, cause === undefined ? undefined : { cause });

/** The relay's own words from an error body ({code, message} or {error}), bounded. */
function relayMessage(body: unknown): string {
  const b = body as { message?: unknown; error?: unknown } | undefined;
  const text = typeof b?.message === 'string' ? b.message : typeof b?.error === 'string' ? b.error : '';
  return text.slice(0, 300);
}

export function createRelayAdminClient(options: RelayAdminOptions): RelayAdminClient {
  const base = new URL(options.url);
  const secure = base.protocol === 'https:';

  function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const token = options.token();
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const where = `${method} ${new URL(path, base).toString()}`;
    return new Promise((resolve, reject) => {
      const request = (secure ? https : http).request(new URL(path, base), {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
        },
        ...(secure && options.ca ? { ca: options.ca } : {}),
        // A connection per request: admin calls are rare, and a pooled socket to a relay that restarted
        // would fail the next call with a reset although the relay is back.
        agent: false,
        timeout: options.timeoutMs,
      }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('error', (err) => reject(unavailable(`${where}: ${err.message}`, err)));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          resolve({ status: response.statusCode ?? 0, body: parsed });
        });
      });
      request.on('timeout', () => request.destroy(unavailable(`${where}: no answer within ${options.timeoutMs} ms (relay_admin.timeout_ms)`)));
      request.on('error', (err) => reject(err instanceof TunnelwatchError ? err : unavailable(`${where}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, err)));
      request.end(payload);
    });
  }

  function refused(status: number, body: unknown, what: string): TunnelwatchError {
    if (status === 401 || status === 403) return unavailable(`the relay refused the admin token (${status}): check relay_admin.token_file against the relay's admin.tokens`);
    if (status === 404) return new TunnelwatchError('TW_ERR_DASH_NOT_FOUND', relayMessage(body) || `the relay knows no ${what}`);
    if (status === 504) return new TunnelwatchError('TW_ERR_DASH_CHECK_TIMEOUT', relayMessage(body) || undefined);
    return unavailable(`the relay answered ${status}${relayMessage(body) ? `: ${relayMessage(body)}` : ''}`);
  }

  return {
    async connectors() {
      const { status, body } = await call('GET', '/admin/v1/connectors');
      if (status !== 200) throw refused(status, body, 'connector list');
      const list = (body as { connectors?: unknown } | undefined)?.connectors;
      if (!Array.isArray(list)) throw unavailable('the relay\'s connector list has no connectors array');
      return list as ConnectorSessionView[];
    },
    async check(request) {
      const { status, body } = await call('POST', '/admin/v1/check', request);
      if (status !== 200) throw refused(status, body, `connector session or mapping ${request.virtual_host} for subaccount ${request.subaccount}`);
      if (!validReport(body)) {
        const e = validReport.errors?.[0];
        throw unavailable(`the relay's answer is not a check report (tunnelwatch.checks/1): ${e ? `${e.instancePath || 'body'} ${e.message ?? ''}` : 'invalid'}`);
      }
      return body as unknown as CheckReport;
    },
  };
}

/** The client of dashboard.relay_admin; TW_ERR_DASH_RELAY_ADMIN_UNCONFIGURED without one. */
export function relayAdminFromSettings(settings: DashboardSettings, configFile: string): RelayAdminClient {
  const c = settings.relay_admin;
  if (!c) throw new TunnelwatchError('TW_ERR_DASH_RELAY_ADMIN_UNCONFIGURED');
  let ca: Buffer | undefined;
  try {
    ca = c.ca ? readConfiguredFile(configFile, 'dashboard.relay_admin.ca', c.ca) : undefined;
  } catch (err) {
    throw unavailable((err as Error).message, err);
  }
  const token = (): string => {
    try {
      return readConfiguredFile(configFile, 'dashboard.relay_admin.token_file', c.token_file).toString('utf8').trim();
    } catch (err) {
      throw unavailable((err as Error).message, err);
    }
  };
  return createRelayAdminClient({ url: c.url, token, timeoutMs: c.timeout_ms, ...(ca ? { ca } : {}) });
}
