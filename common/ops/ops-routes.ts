// /metrics, /healthz and /readyz as admin-listener routes (connector/relay/admin-server.ts), for the
// relay's admin listener and the connector's ops listener. All three are public, as a Prometheus scrape
// and a Kubernetes probe expect: they reveal counts and states, never call data or secrets.
import type { Registry } from 'prom-client';
import type { AdminRoute } from '../../connector/relay/admin-server.js';

export interface HealthView {
  /** relay, or connector with its HA role (master/shadow) and whether it takes calls. */
  readonly role: string;
  readonly [key: string]: unknown;
}

export interface Readiness {
  readonly ready: boolean;
  /** Why not ready ('' when ready). */
  readonly reason: string;
}

export function metricsRoute(registry: Registry): AdminRoute {
  return {
    method: 'GET',
    path: '/metrics',
    auth: 'public',
    handle: async () => ({ status: 200, body: await registry.metrics(), contentType: registry.contentType }),
  };
}

/** The process serves: 200 with its role and state, as long as it can answer at all. */
export function healthRoute(view: () => HealthView): AdminRoute {
  return { method: 'GET', path: '/healthz', auth: 'public', handle: () => ({ status: 200, body: { status: 'ok', ...view() } }) };
}

/** Ready for calls (or, for a standby, ready to take over): 200, else 503 with the reason. */
export function readyRoute(check: () => Readiness & Partial<HealthView>): AdminRoute {
  return {
    method: 'GET',
    path: '/readyz',
    auth: 'public',
    handle: () => {
      const r = check();
      return r.ready ? { status: 200, body: r } : { status: 503, body: r, headers: { 'retry-after': '5' } };
    },
  };
}
