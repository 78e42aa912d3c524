// Varied, realistic audit events for dashboard and detection tests: several subaccounts with their own
// apps, principals, backends and path mixes; allowed and denied calls; backend errors; a spread over
// time. Seeded, so a test can count what it expects from the same generator.
import { AuditEmitter } from '../../common/audit/emitter.js';
import { emptyCallRecord, type AuditEvent, type CallRecord } from '../../common/audit/event.js';

/** Mulberry32: small, fast, good enough for test data. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface TenantShape {
  readonly subaccount: string;
  readonly apps: readonly string[];
  readonly principals: readonly string[];
  readonly backends: readonly { virtual: string; port: number; internal: string; internalPort: number; rules: readonly { id: string; prefix: string }[] }[];
}

export const TENANTS: readonly TenantShape[] = [
  {
    subaccount: 'acme',
    apps: ['erp-portal', 'analytics'],
    principals: ['alice@acme.example', 'bob@acme.example', 'carol@acme.example', ''],
    backends: [
      { virtual: 'erp.virtual', port: 8000, internal: '10.0.0.5', internalPort: 8443, rules: [{ id: 'acme-orders', prefix: '/api/orders' }, { id: 'acme-customers', prefix: '/api/customers' }] },
      { virtual: 'crm.virtual', port: 443, internal: '10.0.0.9', internalPort: 443, rules: [{ id: 'acme-crm-contacts', prefix: '/crm/contacts' }] },
    ],
  },
  {
    subaccount: 'globex',
    apps: ['shop'],
    principals: ['dave@globex.example', 'erin@globex.example'],
    backends: [
      { virtual: 'shop-erp.virtual', port: 8000, internal: '10.1.0.7', internalPort: 8080, rules: [{ id: 'globex-orders-read', prefix: '/api/orders' }] },
    ],
  },
  {
    subaccount: 'initech',
    apps: ['hr-app', 'payroll'],
    principals: ['frank@initech.example'],
    backends: [
      { virtual: 'hr.virtual', port: 8000, internal: '10.2.0.3', internalPort: 8000, rules: [{ id: 'initech-health', prefix: '/health' }, { id: 'initech-customers', prefix: '/api/customers' }] },
    ],
  },
];

export interface TrafficOptions {
  /** Events to make. */
  readonly count: number;
  /** Spread evenly (with jitter) over [from, to). */
  readonly from: Date;
  readonly to: Date;
  readonly seed?: number;
  /** Share of denied calls (default 0.1) and of backend errors among allowed ones (default 0.03). */
  readonly denyShare?: number;
  readonly errorShare?: number;
  readonly emitterId?: string;
}

const DENY_REASONS = ['path_not_allowed', 'method_not_allowed', 'no_mapping', 'app_not_trusted'] as const;
const ERRORS = [{ type: 'connect_refused', status: 502 }, { type: 'backend_timeout', status: 504 }, { type: 'reset', status: 502 }] as const;
const USER_AGENTS = ['SAP-BTP-Destination/1.0', 'okhttp/4.12.0', 'python-requests/2.32.3', 'Apache-HttpClient/5.3'];

function pick<T>(rnd: () => number, items: readonly T[]): T {
  return items[Math.floor(rnd() * items.length)] as T;
}

/** Chained events (one connector emitter) in time order. */
export function trafficEvents(options: TrafficOptions): AuditEvent[] {
  const rnd = seededRandom(options.seed ?? 1);
  const denyShare = options.denyShare ?? 0.1;
  const errorShare = options.errorShare ?? 0.03;
  const out: AuditEvent[] = [];
  const emitter = new AuditEmitter({
    emitter: 'connector',
    emitterId: options.emitterId ?? 'connector-test',
    chain: { seq: 0, hash: '' },
    sinks: [{ write: (e) => void out.push(e), flush: async () => {}, close: async () => {} }],
  });
  const span = options.to.getTime() - options.from.getTime();
  const times = Array.from({ length: options.count }, () => options.from.getTime() + Math.floor(rnd() * span)).sort((a, b) => a - b);
  for (const t of times) {
    // Acme is the busiest tenant; Zipf-like weights over tenants and resources.
    const tenant = rnd() < 0.55 ? TENANTS[0] : rnd() < 0.6 ? TENANTS[1] : TENANTS[2];
    if (!tenant) continue;
    const backend = pick(rnd, tenant.backends);
    const rule = backend.rules[Math.floor(Math.pow(rnd(), 2) * backend.rules.length)] ?? backend.rules[0];
    if (!rule) continue;
    const denied = rnd() < denyShare;
    const record: CallRecord = {
      ...emptyCallRecord(),
      ts: new Date(t).toISOString(),
      duration_us: Math.round(2000 + 40_000 * Math.pow(rnd(), 3)),
      subaccount: tenant.subaccount,
      cloud_app: pick(rnd, tenant.apps),
      principal: pick(rnd, tenant.principals),
      client_ip: `203.0.113.${1 + Math.floor(rnd() * 20)}`,
      protocol: 'http',
      method: rnd() < 0.8 ? 'GET' : 'POST',
      virtual_host: backend.virtual,
      virtual_port: backend.port,
      user_agent: pick(rnd, USER_AGENTS),
      trace_id: randomHex(rnd, 32),
      span_id: randomHex(rnd, 16),
    };
    if (denied) {
      const reason = pick(rnd, DENY_REASONS);
      emitter.emit({
        ...record,
        path: reason === 'path_not_allowed' ? `/admin/${Math.floor(rnd() * 50)}` : `${rule.prefix}/${Math.floor(rnd() * 1000)}`,
        decision: 'deny',
        deny_reason: reason,
        status: 403,
        internal_host: reason === 'no_mapping' ? '' : backend.internal,
        internal_port: reason === 'no_mapping' ? 0 : backend.internalPort,
      });
      continue;
    }
    const error = rnd() < errorShare ? pick(rnd, ERRORS) : undefined;
    const connect = Math.round(200 + 3000 * rnd());
    emitter.emit({
      ...record,
      path: `${rule.prefix}/${Math.floor(Math.pow(rnd(), 3) * 500)}`,
      internal_host: backend.internal,
      internal_port: backend.internalPort,
      decision: 'allow',
      rule_id: rule.id,
      status: error ? error.status : rnd() < 0.05 ? 404 : 200,
      error_type: error ? error.type : '',
      bytes_in: record.method === 'POST' ? Math.floor(rnd() * 4000) : 0,
      bytes_out: error ? 0 : Math.floor(200 + rnd() * 20_000),
      backend_connect_us: connect,
      backend_ttfb_us: error ? 0 : connect + Math.round(1000 + 20_000 * rnd()),
    });
  }
  return out;
}

function randomHex(rnd: () => number, length: number): string {
  let s = '';
  while (s.length < length) s += Math.floor(rnd() * 0x100000000).toString(16).padStart(8, '0');
  return s.slice(0, length);
}
