// Demo traffic: a few cloud apps in three subaccounts calling through the relay, some of them denied.
import http from 'node:http';
import { proxyConnect, proxyRequest, type RelayAddress } from './proxy-client.js';

export const DEMO_TOKENS = {
  acmeErpPortal: 'tw_demo_acme_erp_portal',
  acmeAnalytics: 'tw_demo_acme_analytics',
  globexShop: 'tw_demo_globex_shop',
  initechHr: 'tw_demo_initech_hr_app',
} as const;

interface DemoCall {
  weight: number;
  run(relay: RelayAddress, agent: http.Agent): Promise<number>;
}

const get = (token: string, url: string, headers: Record<string, string> = {}) => (relay: RelayAddress, agent: http.Agent) =>
  proxyRequest(relay, token, 'GET', url, { agent, headers }).then((r) => r.status);

const CALLS: DemoCall[] = [
  { weight: 30, run: (r, a) => get(DEMO_TOKENS.acmeErpPortal, 'http://erp.virtual:8000/api/orders', { 'x-tunnel-principal': 'alice@acme.example' })(r, a) },
  { weight: 15, run: (r, a) => get(DEMO_TOKENS.acmeErpPortal, `http://erp.virtual:8000/api/orders/${4500000 + Math.floor(Math.random() * 30)}`, { 'x-tunnel-principal': 'bob@acme.example' })(r, a) },
  { weight: 5, run: (r, a) => proxyRequest(r, DEMO_TOKENS.acmeErpPortal, 'POST', 'http://erp.virtual:8000/api/orders', { agent: a, body: '{"customer":"C1001","amount":99.5}', headers: { 'content-type': 'application/json' } }).then((x) => x.status) },
  { weight: 10, run: get(DEMO_TOKENS.acmeErpPortal, 'http://erp.virtual:8000/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder?$top=3') },
  { weight: 8, run: get(DEMO_TOKENS.acmeAnalytics, 'http://erp.virtual:8000/api/customers') },
  { weight: 3, run: get(DEMO_TOKENS.acmeErpPortal, 'http://erp.virtual:8000/api/invoices') }, // suspended
  { weight: 2, run: get(DEMO_TOKENS.acmeErpPortal, 'http://erp.virtual:8000/admin/users') }, // path_not_allowed
  { weight: 12, run: get(DEMO_TOKENS.globexShop, 'http://shop-erp.virtual:8000/api/orders') },
  { weight: 2, run: (r, a) => proxyRequest(r, DEMO_TOKENS.globexShop, 'DELETE', 'http://shop-erp.virtual:8000/api/orders/4500001', { agent: a }).then((x) => x.status) }, // method_not_allowed
  { weight: 1, run: get(DEMO_TOKENS.globexShop, 'http://erp.virtual:8000/api/orders') }, // acme's host: no_mapping for globex
  { weight: 8, run: get(DEMO_TOKENS.initechHr, 'http://hr.virtual:8000/health') },
  { weight: 6, run: get(DEMO_TOKENS.initechHr, 'http://hr.virtual:8000/api/customers?token=s3cret&page=2') },
  { weight: 1, run: get('tw_not_a_real_token', 'http://erp.virtual:8000/api/orders') }, // 407
  {
    weight: 4,
    async run(relay) {
      const c = await proxyConnect(relay, DEMO_TOKENS.acmeAnalytics, 'quotes.virtual:7000');
      if (!c.socket) return c.status;
      const socket = c.socket;
      await new Promise<void>((resolve) => {
        socket.on('data', (d: Buffer) => {
          if (d.toString().includes('.')) socket.end('QUIT\n');
        });
        socket.on('close', () => resolve());
        socket.on('error', () => resolve());
        socket.write('QUOTE SAP\n');
      });
      return 200;
    },
  },
];

const TOTAL_WEIGHT = CALLS.reduce((s, c) => s + c.weight, 0);

function pick(): DemoCall {
  let r = Math.random() * TOTAL_WEIGHT;
  for (const c of CALLS) {
    r -= c.weight;
    if (r <= 0) return c;
  }
  return CALLS[0] as DemoCall;
}

export interface TrafficStats {
  calls: number;
  byStatus: Map<number, number>;
  failures: number;
}

/** Sends calls at about `ratePerSecond` until stopped. */
export function startTraffic(relay: RelayAddress, ratePerSecond: number): { stats: TrafficStats; stop(): void } {
  const stats: TrafficStats = { calls: 0, byStatus: new Map(), failures: 0 };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const timer = setInterval(() => {
    pick()
      .run(relay, agent)
      .then((status) => {
        stats.calls++;
        stats.byStatus.set(status, (stats.byStatus.get(status) ?? 0) + 1);
      })
      .catch(() => {
        stats.calls++;
        stats.failures++;
      });
  }, Math.max(5, Math.round(1000 / ratePerSecond)));
  return {
    stats,
    stop() {
      clearInterval(timer);
      agent.destroy();
    },
  };
}
