// A second traffic generator, written apart from `tunnelwatch simulate` (collector/detect/simulate/) and
// sharing none of its code, tenants, rhythms or scenarios: detection is tuned on the simulator's seeds, so
// this checks it on shapes the simulator never makes. Seven tenants over 30 days from Tuesday 2026-09-01:
// machine-to-machine traffic around the clock with high-cardinality paths and a steady 2 % of 404s, a
// tenant of 50 calls a day, one growing 6 % a day with staff joining, nightly and weekly batch jobs, a
// follow-the-sun help desk in three time zones, a tenant onboarded on day 12, a partner's service account
// in five tenants, health probes every 30 s, a backend's weekly maintenance window, a holiday, a steady
// trickle of refusals; every cloud app behind the same four egress addresses. Then nine attacks, labelled.
import { emptyCallRecord, type CallRecord } from '../../common/audit/event.js';

export interface IndependentLabel {
  readonly name: string;
  /** '' when the attack is not in one subaccount (unauthenticated, or across tenants). */
  readonly subaccount: string;
  readonly entity: string;
  readonly fromMs: number;
  readonly toMs: number;
}

export const INDEPENDENT_START = Date.UTC(2026, 8, 1); // Tuesday 2026-09-01
const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;
/** Shared cloud egress: every tenant's cloud apps reach the relay from these. */
const NAT = ['52.28.10.1', '52.28.10.2', '52.28.10.3', '52.28.10.4'];

interface Call {
  sub: string;
  app: string;
  vhost: string;
  path: string;
  ua: string;
  principal?: string;
  ip?: string;
  status?: number;
  deny?: CallRecord['deny_reason'];
  error?: CallRecord['error_type'];
  bytes?: number;
}

export function independentTraffic(seed: number, days = 30): { records: CallRecord[]; labels: IndependentLabel[] } {
  let state = seed >>> 0;
  // mulberry32
  const rnd = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)] as T;
  const poisson = (mean: number): number => {
    if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * (rnd() + rnd() + rnd() - 1.5) * 2));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = 1;
    do {
      k++;
      p *= rnd();
    } while (p > limit);
    return k - 1;
  };
  const hex = (len: number): string => Array.from({ length: len }, () => '0123456789abcdef'[Math.floor(rnd() * 16)]).join('');
  const records: CallRecord[] = [];
  const labels: IndependentLabel[] = [];
  const add = (ts: number, c: Call): void => {
    records.push({
      ...emptyCallRecord(),
      ts: new Date(Math.floor(ts)).toISOString(), duration_us: 20_000 + Math.floor(rnd() * 30_000),
      subaccount: c.sub, cloud_app: c.app, principal: c.principal ?? '', client_ip: c.ip ?? pick(NAT), protocol: 'https', method: 'GET',
      virtual_host: c.vhost, virtual_port: 443, internal_host: c.deny === 'unauthenticated' ? '' : '10.0.0.5', internal_port: c.deny === 'unauthenticated' ? 0 : 443,
      path: c.path, user_agent: c.ua, decision: c.deny ? 'deny' : 'allow', rule_id: c.deny ? '' : `${c.sub}-r1`, deny_reason: c.deny ?? '',
      status: c.status ?? 200, error_type: c.error ?? '', bytes_out: c.bytes ?? Math.floor(2000 + rnd() * 8000),
      backend_connect_us: c.deny ? 0 : 900, backend_ttfb_us: c.deny ? 0 : 15_000, trace_id: hex(32), span_id: hex(16),
    });
  };
  // Business-hours intensity at local hour h, weekdays.
  const office = (h: number): number => (h >= 8 && h < 18 ? (h === 12 ? 0.6 : 1) : h >= 7 && h < 20 ? 0.2 : 0.01);
  const billingDoc = (): string => `/sap/opu/odata/sap/API_BILLING_DOCUMENT_SRV/A_BillingDocument('${90_000_000 + Math.floor(rnd() * 9e6)}')`;
  const JAVA = 'Apache-HttpClient/4.5.14 (Java/17.0.8)';
  const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/129.0 Safari/537.36';

  for (let d = 0; d < days; d++) {
    const day0 = INDEPENDENT_START + d * DAY;
    const wd = new Date(day0).getUTCDay();
    const weekend = wd === 0 || wd === 6;
    for (let m = 0; m < 1440; m++) {
      const t = day0 + m * MINUTE;
      const h = Math.floor(m / 60);
      const at = (): number => t + rnd() * MINUTE;
      // m2m-billing: around the clock, document ids, 2 % not found; kube-probe every 30 s.
      for (let i = poisson(2); i > 0; i--) add(at(), { sub: 'm2m-billing', app: 'billing-sync', vhost: 's4.virtual', path: billingDoc(), ua: JAVA, status: rnd() < 0.02 ? 404 : 200 });
      for (let i = 0; i < 2; i++) add(t + i * 30_000 + rnd() * 1000, { sub: 'm2m-billing', app: 'billing-sync', vhost: 's4.virtual', path: '/health', ua: 'kube-probe/1.29' });
      // Its backend's maintenance: Saturdays 22:00-22:30 UTC, refused connections.
      if (wd === 6 && h === 22 && m % 60 < 30) for (let i = poisson(2); i > 0; i--) add(at(), { sub: 'm2m-billing', app: 'billing-sync', vhost: 's4.virtual', path: billingDoc(), ua: JAVA, status: 503, error: 'connect_refused', bytes: 0 });
      if (!weekend) {
        // tiny-shop: ~50 calls a weekday from Berlin (UTC+2); 1 in ~250 refused (a page its rules never allowed).
        const berlin = (h + 2) % 24;
        for (let i = poisson((50 / 600) * office(berlin) * 1.6); i > 0; i--) add(at(), { sub: 'tiny-shop', app: 'shop-admin', principal: pick(['anna@tiny.example', 'ben@tiny.example', 'cem@tiny.example']), vhost: 'erp.virtual', path: pick(['/api/orders', '/api/orders', '/api/stock', '/api/customers', '/api/invoices']), ua: CHROME });
        if (rnd() < 0.004 * office(berlin)) add(at(), { sub: 'tiny-shop', app: 'shop-admin', principal: 'anna@tiny.example', vhost: 'erp.virtual', path: '/api/admin/settings', ua: CHROME, deny: 'path_not_allowed', status: 403 });
        // growth-co: New York (UTC-4), +6 % a day, staff joining; a holiday on day 10, catch-up on day 13; release on day 14.
        const ny = (h + 20) % 24;
        const staff = 5 + Math.floor(d * 0.7);
        for (let i = poisson((d === 10 ? 0.05 : d === 13 ? 1.5 : 1) * 0.8 * Math.pow(1.06, d) * office(ny)); i > 0; i--) {
          add(at(), { sub: 'growth-co', app: 'portal', principal: `user${Math.floor(rnd() * staff)}@growth.example`, vhost: 'crm.virtual', path: pick(['/crm/leads', '/crm/leads', '/crm/accounts', '/crm/opportunities', `/crm/leads/${Math.floor(rnd() * 5000)}`]), ua: d < 14 ? 'portal/1.8.2 (node/20.11.0)' : 'portal/1.9.0 (node/20.17.0)' });
        }
        // Its reports: 20-80 MB every weekday at 06:00 UTC.
        if (h === 6 && m % 60 < 5) for (let i = poisson(4); i > 0; i--) add(at(), { sub: 'growth-co', app: 'reports', vhost: 'bi.virtual', path: '/bi/reports/daily', ua: 'reports/1.0', bytes: Math.floor(1e6 + rnd() * 3e6) });
        // batch-corp's office (UTC+1).
        for (let i = poisson(1.5 * office((h + 1) % 24)); i > 0; i--) add(at(), { sub: 'batch-corp', app: 'hr-app', principal: `emp${Math.floor(rnd() * 40)}@batch.example`, vhost: 'hr.virtual', path: pick(['/hr/employees', '/hr/leave', '/hr/payslips']), ua: 'hr-app/2.0' });
        // follow-sun: a help desk in Manila (UTC+8), Berlin (UTC+2) and Mexico City (UTC-6).
        for (const [offset, team] of [[8, 'mnl'], [2, 'ber'], [-6, 'mex']] as const) {
          for (let i = poisson(0.7 * office((h + offset + 24) % 24)); i > 0; i--) add(at(), { sub: 'follow-sun', app: 'helpdesk', principal: `${team}${Math.floor(rnd() * 12)}@sun.example`, vhost: 'tickets.virtual', path: pick(['/tickets', '/tickets', '/tickets/search', `/tickets/${Math.floor(rnd() * 20_000)}`]), ua: 'helpdesk/5.1' });
        }
        // new-tenant: onboarded on day 12, Paris (UTC+2).
        if (d >= 12) for (let i = poisson(1.2 * office((h + 2) % 24)); i > 0; i--) add(at(), { sub: 'new-tenant', app: pick(['erp-ui', 'crm-ui']), principal: `u${Math.floor(rnd() * 25)}@newt.example`, vhost: pick(['erp.virtual', 'crm.virtual']), path: pick(['/api/a', '/api/b', '/api/c', `/api/d/${Math.floor(rnd() * 900)}`]), ua: 'Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/131.0' });
        // A partner's service account in five tenants, 09:00-10:00 UTC.
        if (h === 9) for (const sub of ['tiny-shop', 'growth-co', 'batch-corp', 'follow-sun', 'm2m-billing']) for (let i = poisson(0.3); i > 0; i--) add(at(), { sub, app: 'partner-sync', principal: 'integration@partner.example', vhost: 'erp.virtual', path: '/api/masterdata', ua: 'partner-sync/7.2 (Java/21)' });
      }
      // batch-corp's jobs: nightly at 01:00, an existence check at 03:00 (a sixth of the ids gone), a weekly export Sunday 02:00.
      if (h === 1 && m % 60 < 10) for (let i = poisson(50); i > 0; i--) add(at(), { sub: 'batch-corp', app: 'nightly-sync', vhost: 'hr.virtual', path: `/hr/employees/${Math.floor(rnd() * 4000)}`, ua: 'python-requests/2.32.3' });
      if (h === 3 && m % 60 < 10) for (let i = poisson(30); i > 0; i--) add(at(), { sub: 'batch-corp', app: 'nightly-sync', vhost: 'hr.virtual', path: `/hr/employees/${Math.floor(rnd() * 100_000)}`, ua: 'python-requests/2.32.3', status: rnd() < 0.17 ? 404 : 200 });
      if (wd === 0 && h === 2 && m % 60 < 20) for (let i = poisson(200); i > 0; i--) add(at(), { sub: 'batch-corp', app: 'weekly-export', vhost: 'hr.virtual', path: `/hr/export/${Math.floor(rnd() * 100)}`, ua: 'curl/8.5.0', bytes: 200_000 + Math.floor(rnd() * 100_000) });
      // One analyst of tiny-shop works Wednesday evenings, 20:00 Berlin.
      if (wd === 3 && h === 18) for (let i = poisson(0.4); i > 0; i--) add(at(), { sub: 'tiny-shop', app: 'shop-admin', principal: 'dora@tiny.example', vhost: 'erp.virtual', path: '/api/reports', ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15' });
    }
  }

  const A = (d: number, hh: number, mm: number): number => INDEPENDENT_START + d * DAY + hh * HOUR + mm * MINUTE;
  const attack = (name: string, subaccount: string, entity: string, fromMs: number, toMs: number, calls: Call[], everyMs: number): void => {
    calls.forEach((c, i) => add(fromMs + i * everyMs, c));
    labels.push({ name, subaccount, entity, fromMs, toMs });
  };
  const times = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
  if (days >= 29) {
    attack('password spraying at the relay', '', '198.51.100.77', A(16, 14, 0), A(16, 14, 10),
      times(300, () => ({ sub: '', app: '', ip: '198.51.100.77', vhost: 's4.virtual', path: '/sap/bc/ping', ua: 'Mozilla/5.0', deny: 'unauthenticated', status: 401, bytes: 0 })), 2000);
    attack('a Manila account used at 03:00 local on a Sunday', 'follow-sun', 'mnl3@sun.example', A(18, 19, 5), A(18, 20, 0),
      times(40, (i) => ({ sub: 'follow-sun', app: 'helpdesk', principal: 'mnl3@sun.example', vhost: 'tickets.virtual', path: `/tickets/${1000 + i}`, ua: 'helpdesk/5.1' })), 80_000);
    attack('scraping 4,000 leads through the portal', 'growth-co', 'portal', A(20, 15, 0), A(20, 15, 30),
      times(4000, (i) => ({ sub: 'growth-co', app: 'portal', principal: 'user3@growth.example', vhost: 'crm.virtual', path: `/crm/leads/${i}`, ua: 'portal/1.9.0 (node/20.17.0)', bytes: 9000 })), 450);
    attack('sqlmap with the shop\'s token', 'tiny-shop', 'sqlmap/1.8.4#stable (https://sqlmap.org)', A(21, 11, 0), A(21, 11, 3),
      times(25, (i) => ({ sub: 'tiny-shop', app: 'shop-admin', principal: 'ben@tiny.example', vhost: 'erp.virtual', path: '/api/orders', ua: 'sqlmap/1.8.4#stable (https://sqlmap.org)', status: i % 3 ? 500 : 200 })), 7000);
    attack('an employee probing the HR rules', 'batch-corp', 'emp17@batch.example', A(22, 10, 0), A(22, 10, 5),
      times(60, (i) => ({ sub: 'batch-corp', app: 'hr-app', principal: 'emp17@batch.example', vhost: 'hr.virtual', path: `/hr/${['admin', 'payroll', 'config', 'users'][i % 4]}/${i % 10}`, ua: 'hr-app/2.0', deny: 'path_not_allowed', status: 403, bytes: 0 })), 5000);
    const apps: Record<string, string> = { 'tiny-shop': 'shop-admin', 'growth-co': 'portal', 'follow-sun': 'helpdesk', 'new-tenant': 'erp-ui' };
    attack('one outside account in four tenants', '', 'svc-backup@evil.example', A(23, 16, 0), A(23, 16, 45),
      times(32, (i) => {
        const sub = Object.keys(apps)[Math.floor(i / 8)] as string;
        return { sub, app: apps[sub] as string, principal: 'svc-backup@evil.example', vhost: 'erp.virtual', path: '/api/export', ua: 'Mozilla/5.0' };
      }), 75_000);
    attack('billing-sync reaching the HR system', 'm2m-billing', 'billing-sync', A(24, 12, 0), A(24, 12, 5),
      times(12, () => ({ sub: 'm2m-billing', app: 'billing-sync', vhost: 'hr.virtual', path: '/hr/employees', ua: 'Apache-HttpClient/4.5.14 (Java/17.0.8)', bytes: 50_000 })), 20_000);
    attack('400 MB of payslips in an hour', 'batch-corp', 'hr-app', A(27, 13, 0), A(27, 14, 0),
      times(200, () => ({ sub: 'batch-corp', app: 'hr-app', principal: 'emp5@batch.example', vhost: 'hr.virtual', path: '/hr/payslips', ua: 'hr-app/2.0', bytes: 2_000_000 })), 18_000);
    attack('the CRM down for 45 minutes', 'growth-co', 'crm.virtual:443', A(23, 17, 0), A(23, 17, 45),
      times(90, () => ({ sub: 'growth-co', app: 'portal', principal: 'user1@growth.example', vhost: 'crm.virtual', path: '/crm/leads', ua: 'portal/1.9.0 (node/20.17.0)', status: 504, error: 'backend_timeout', bytes: 0 })), 30_000);
  }
  return { records, labels };
}
