// Step 4 for http/https: one request (HEAD / unless the mapping's probe says otherwise) on the connection
// the earlier steps opened, with the Host header real calls carry. Only the response head is read.
import http, { type IncomingHttpHeaders } from 'node:http';
import type net from 'node:net';
import { errorCode, errorMessage, fail, ok, since, warn, type StepResult } from './step-kit.js';
import { CLIENT_CERT_ALERTS } from './tls-handshake.js';

export interface HttpProbeOptions {
  readonly at: string;
  readonly method: 'HEAD' | 'GET';
  readonly path: string;
  /** True when the path came from the mapping's probe.path (a 404 then matters). */
  readonly pathConfigured: boolean;
  readonly hostHeader: string;
  readonly timeoutMs: number;
}

export interface HttpProbeOutcome {
  readonly result: StepResult;
  /** The status, 0 when there was no response. */
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Request sent to response head, ms. */
  readonly responseMs: number;
}

const USER_AGENT = 'tunnelwatch-check/1';

export async function httpProbeStep(socket: net.Socket, o: HttpProbeOptions): Promise<HttpProbeOutcome> {
  const request = `${o.method} ${o.path}`;
  const start = performance.now();
  const detail: Record<string, unknown> = { method: o.method, path: o.path, host_header: o.hostHeader };
  try {
    const res = await exchange(socket, o);
    const responseMs = since(start);
    const status = res.statusCode ?? 0;
    const reason = res.statusMessage ? ` ${res.statusMessage}` : '';
    Object.assign(detail, { status, reason: res.statusMessage ?? '', response_ms: responseMs, server: res.headers.server ?? '' });
    const answered = `${o.at} answered ${status}${reason} to ${request} in ${responseMs} ms`;
    const outcome = (result: StepResult): HttpProbeOutcome => ({ result, status, headers: res.headers, responseMs });
    if (status === 503) {
      const retry = res.headers['retry-after'] ? ` (Retry-After: ${res.headers['retry-after']})` : '';
      return outcome(fail('probe_unavailable', `${answered}${retry}: the service runs but says it cannot serve now`, detail));
    }
    if (status === 501 && o.method === 'HEAD') {
      return outcome(ok(`${answered}: the service answers but does not implement HEAD (set probe.method: GET)`, detail));
    }
    if (status >= 500) return outcome(fail('probe_server_error', `${answered}: the service fails on the request`, detail));
    if (status === 404 && o.pathConfigured) return outcome(warn('probe_not_found', `${answered}: the configured probe.path does not exist there`, detail));
    return outcome(ok(answered, detail));
  } catch (err) {
    const code = errorCode(err);
    Object.assign(detail, { code, error: errorMessage(err) });
    const waited = since(start);
    const result = ((): StepResult => {
      if (code === 'TW_PROBE_TIMEOUT') {
        return fail('probe_timeout', `${o.at} accepted the connection but did not answer ${request} within ${o.timeoutMs} ms: the service accepts and then hangs`, detail);
      }
      if (code.startsWith('HPE_')) {
        return fail('probe_bad_response', `${o.at} answered ${request} with something that is not HTTP (${code}: ${errorMessage(err)})`, detail);
      }
      if (CLIENT_CERT_ALERTS.test(code)) {
        return fail('tls_client_cert_required', `${o.at} ended the TLS session after the handshake (${code}): it requires a client certificate, which the connector does not send`, detail);
      }
      if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || /hang up|closed/i.test(errorMessage(err))) {
        return fail('probe_closed', `${o.at} closed the connection without answering ${request} (after ${waited} ms)`, detail);
      }
      return fail('probe_bad_response', `${request} to ${o.at} failed: ${code || errorMessage(err)}`, detail);
    })();
    return { result, status: 0, headers: {}, responseMs: waited };
  }
}

function exchange(socket: net.Socket, o: HttpProbeOptions): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) {
      const err: NodeJS.ErrnoException = new Error('the connection was closed before the request');
      err.code = 'ECONNRESET';
      reject(err);
      return;
    }
    const req = http.request({
      // The connection is ours already (and TLS for https): no agent, no second connect.
      createConnection: () => socket,
      method: o.method,
      path: o.path,
      headers: { host: o.hostHeader, 'user-agent': USER_AGENT, accept: '*/*', connection: 'close' },
    });
    const timer = setTimeout(() => {
      const err: NodeJS.ErrnoException = new Error(`no response within ${o.timeoutMs} ms`);
      err.code = 'TW_PROBE_TIMEOUT';
      req.destroy(err);
    }, o.timeoutMs);
    timer.unref();
    req.once('response', (res) => {
      clearTimeout(timer);
      // The head is the answer; the body is not needed.
      res.on('error', () => {});
      res.destroy();
      resolve(res);
    });
    // on, not once: a late second error (after the response) must not go unhandled in the connector.
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}
