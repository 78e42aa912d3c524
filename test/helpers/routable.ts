// Waits until the relay routes a subaccount (and location) to a connector. Tests that are not about the
// moment a connector becomes routable call this after startTunnelStack()/startConnector(), so they do not
// depend on that moment: the relay used to add a session only after the connector had acknowledged its
// registration, i.e. after the connector's "tunnel registered with relay" line (resilience.test.ts checks
// that window itself, over a slow link).
import { waitFor } from './processes.js';
import { proxyConnect, proxyRequest, refusalOf } from './proxy-client.js';

/** Polls an HTTP call until its answer is anything but 503 no_connector; resolves with that status. */
export async function waitRoutable(
  proxyPort: number,
  url: string,
  token: string,
  options: { headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<number> {
  return waitFor(
    async () => {
      const r = await proxyRequest(proxyPort, url, { token, headers: options.headers ?? {}, timeoutMs: 2000 });
      return r.status === 503 && refusalOf(r.body)?.deny_reason === 'no_connector' ? undefined : r.status;
    },
    { timeoutMs: options.timeoutMs ?? 3000, intervalMs: 20, message: `the relay to route ${url}` },
  );
}

/** The same for CONNECT: polls until the answer is anything but 503 no_connector (an open tunnel is closed). */
export async function waitRoutableConnect(proxyPort: number, authority: string, token: string, timeoutMs = 3000): Promise<number> {
  return waitFor(
    async () => {
      const r = await proxyConnect(proxyPort, authority, { token, timeoutMs: 2000 });
      r.socket.destroy();
      return r.status === 503 && refusalOf(r.body)?.deny_reason === 'no_connector' ? undefined : r.status;
    },
    { timeoutMs, intervalMs: 20, message: `the relay to route CONNECT ${authority}` },
  );
}
