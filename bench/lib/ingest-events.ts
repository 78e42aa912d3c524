// Realistic audit events for the ingest benchmark: a few subaccounts, apps, backends and paths, some
// denials and backend errors, unique UUIDv7 ids and a per-emitter hash chain shape (not real hashes:
// the store does not check them). Built from shared strings, as JSON.parse in the collector would not.
import type { AuditEvent } from '../../common/audit/event.js';
import { uuidv7 } from '../../common/ids.js';

const SUBACCOUNTS = Array.from({ length: 12 }, (_, i) => `tenant-${i.toString().padStart(2, '0')}`);
const APPS = ['orders-app', 'hr-portal', 'crm-sync', 'billing', 'analytics', 'mobile-bff'];
const BACKENDS: readonly [string, number, string, number, 'http' | 'https' | 'tcp'][] = [
  ['erp.virtual', 8000, 'erp01.corp.local', 8443, 'https'],
  ['hr.virtual', 443, 'hr.corp.local', 443, 'https'],
  ['ldap.virtual', 389, 'dc01.corp.local', 389, 'tcp'],
  ['files.virtual', 80, 'nas.corp.local', 8080, 'http'],
];
const PATHS = ['/sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner', '/api/v1/orders', '/api/v1/orders/4711/items', '/health', '/reports/Q3/übersicht', '/admin/users'];
const AGENTS = ['SAP-CloudSDK/5.2 Java/17', 'okhttp/4.12.0', 'python-requests/2.32', ''];
const HASH = 'a3f1'.repeat(16);

/** `count` events of `emitters` connectors, ending about now (or at `endMs`), spread over `spanMs`. */
export function generateEvents(count: number, options: { startSeq?: number; endMs?: number; spanMs?: number; emitters?: number } = {}): AuditEvent[] {
  const endMs = options.endMs ?? Date.now();
  const spanMs = options.spanMs ?? 1000;
  const emitters = options.emitters ?? 4;
  const startSeq = options.startSeq ?? 1;
  const out = new Array<AuditEvent>(count);
  for (let i = 0; i < count; i++) {
    const n = startSeq + i;
    const tsMs = endMs - spanMs + Math.floor((i * spanMs) / count);
    const [vhost, vport, ihost, iport, protocol] = BACKENDS[n % BACKENDS.length] as (typeof BACKENDS)[number];
    const denied = n % 23 === 0;
    const failed = !denied && n % 97 === 0;
    const tcp = protocol === 'tcp';
    out[i] = {
      schema: 'tunnelwatch.audit/1',
      event_id: uuidv7(tsMs),
      ts: new Date(tsMs).toISOString(),
      duration_us: 800 + ((n * 7919) % 120_000),
      emitter: denied && n % 2 === 0 ? 'relay' : 'connector',
      emitter_id: `conn-${n % emitters}`,
      seq: Math.floor(n / emitters) + 1,
      prev_hash: HASH,
      hash: HASH,
      subaccount: SUBACCOUNTS[n % SUBACCOUNTS.length] as string,
      location_id: n % 5 === 0 ? 'dc-west' : '',
      cloud_app: APPS[n % APPS.length] as string,
      principal: n % 3 === 0 ? '' : `user${n % 500}@corp.example`,
      client_ip: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
      protocol,
      method: tcp ? '' : n % 4 === 0 ? 'POST' : 'GET',
      virtual_host: vhost,
      virtual_port: vport,
      internal_host: denied ? '' : ihost,
      internal_port: denied ? 0 : iport,
      path: tcp ? '' : (PATHS[n % PATHS.length] as string),
      query: tcp || n % 2 ? '' : '$top=50&sap-client=100&token=REDACTED',
      user_agent: tcp ? '' : (AGENTS[n % AGENTS.length] as string),
      decision: denied ? 'deny' : 'allow',
      rule_id: denied ? '' : `rule-${n % 9}`,
      deny_reason: denied ? 'path_not_allowed' : '',
      status: tcp ? 0 : denied ? 403 : failed ? 502 : 200,
      error_type: failed ? 'connect_refused' : '',
      bytes_in: n % 4 === 0 ? 512 + (n % 2048) : 0,
      bytes_out: denied ? 120 : 2_000 + ((n * 31) % 64_000),
      backend_connect_us: denied ? 0 : 150 + (n % 900),
      backend_ttfb_us: denied || failed ? 0 : 900 + ((n * 13) % 50_000),
      trace_id: `4bf92f3577b34da6a3ce929d${(n >>> 0).toString(16).padStart(8, '0')}`,
      span_id: `00f067aa${(n >>> 0).toString(16).padStart(8, '0')}`,
    };
  }
  return out;
}
