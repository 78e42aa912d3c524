// What simulated subaccounts are made of: on-premise systems (domains with their resources and
// endpoints), the cloud apps that call them, and where those apps run. Plain data; profiles.ts picks from it.

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface EndpointSpec {
  /** `{id}` becomes an id drawn with Zipf popularity from the domain's id space. */
  readonly path: string;
  readonly method: Method;
  /** Relative popularity inside its resource. */
  readonly weight: number;
  /** Median response body (bytes); sizes are log-normal around it. */
  readonly bytesOut: number;
  readonly bytesIn?: number;
  readonly status?: number;
  /** `{page}` becomes a small page offset. */
  readonly query?: string;
  /** Median backend time to first byte (ms). */
  readonly ttfbMs: number;
}

export interface ResourceSpec {
  /** Unique inside its domain; the access rule is `<subaccount>-<domain>-<id>`. */
  readonly id: string;
  readonly prefix: string;
  readonly endpoints: readonly EndpointSpec[];
}

export interface DomainSpec {
  readonly id: string;
  readonly virtualHost: string;
  readonly virtualPort: number;
  readonly internalPort: number;
  readonly protocol: 'http' | 'https' | 'tcp';
  /** Business objects per resource: the id space of `{id}`. */
  readonly ids: number;
  readonly resources: readonly ResourceSpec[];
}

const get = (path: string, weight: number, bytesOut: number, ttfbMs: number, query?: string): EndpointSpec => ({ path, method: 'GET', weight, bytesOut, ttfbMs, ...(query ? { query } : {}) });
const write = (method: Method, path: string, weight: number, bytesIn: number, ttfbMs: number): EndpointSpec => ({ path, method, weight, bytesIn, bytesOut: 600, ttfbMs, status: method === 'POST' ? 201 : method === 'DELETE' ? 204 : 200 });

function crud(prefix: string, listBytes: number, itemBytes: number, writes: number): EndpointSpec[] {
  return [
    get(prefix, 3, listBytes, 60, '$top=50&$skip={page}'),
    get(`${prefix}/{id}`, 6, itemBytes, 25),
    write('POST', prefix, writes, 1800, 80),
    write('PATCH', `${prefix}/{id}`, writes, 700, 70),
  ];
}

/** Every HTTP domain also answers /health, for monitoring; the rule is `<subaccount>-<domain>-health`. */
export const HEALTH: ResourceSpec = { id: 'health', prefix: '/health', endpoints: [get('/health', 1, 60, 2)] };

export const DOMAINS: readonly DomainSpec[] = [
  {
    id: 'erp', virtualHost: 'erp.virtual', virtualPort: 8000, internalPort: 8443, protocol: 'https', ids: 40_000,
    resources: [
      { id: 'orders', prefix: '/api/orders', endpoints: [...crud('/api/orders', 42_000, 3_800, 1.2), get('/api/orders/{id}/items', 2, 7_500, 35)] },
      { id: 'customers', prefix: '/api/customers', endpoints: crud('/api/customers', 55_000, 2_900, 0.4) },
      { id: 'invoices', prefix: '/api/invoices', endpoints: [...crud('/api/invoices', 48_000, 3_200, 0.5), get('/api/invoices/{id}/pdf', 1, 180_000, 150)] },
      { id: 'materials', prefix: '/api/materials', endpoints: crud('/api/materials', 38_000, 2_400, 0.2) },
      // Defined for the admin tooling on site; no cloud app calls it in normal operation.
      { id: 'admin', prefix: '/api/admin', endpoints: [get('/api/admin/users', 2, 24_000, 40), get('/api/admin/config', 1, 9_000, 30)] },
    ],
  },
  {
    id: 'crm', virtualHost: 'crm.virtual', virtualPort: 443, internalPort: 443, protocol: 'https', ids: 25_000,
    resources: [
      { id: 'contacts', prefix: '/crm/contacts', endpoints: crud('/crm/contacts', 36_000, 2_200, 0.8) },
      { id: 'leads', prefix: '/crm/leads', endpoints: crud('/crm/leads', 30_000, 1_900, 0.6) },
      { id: 'campaigns', prefix: '/crm/campaigns', endpoints: [get('/crm/campaigns', 2, 12_000, 40), get('/crm/campaigns/{id}', 3, 2_600, 20)] },
    ],
  },
  {
    id: 'hr', virtualHost: 'hr.virtual', virtualPort: 8000, internalPort: 8000, protocol: 'http', ids: 3_000,
    resources: [
      { id: 'employees', prefix: '/hr/employees', endpoints: [get('/hr/employees/{id}', 6, 2_100, 30), get('/hr/employees', 1, 65_000, 90, '$top=100&$skip={page}')] },
      { id: 'absences', prefix: '/hr/absences', endpoints: crud('/hr/absences', 9_000, 900, 1.5) },
      { id: 'payroll', prefix: '/hr/payroll', endpoints: [get('/hr/payroll/{id}', 4, 3_500, 60), write('POST', '/hr/payroll/runs', 0.2, 4_000, 400)] },
    ],
  },
  {
    id: 'wms', virtualHost: 'wms.virtual', virtualPort: 8080, internalPort: 8080, protocol: 'http', ids: 60_000,
    resources: [
      { id: 'shipments', prefix: '/wms/shipments', endpoints: crud('/wms/shipments', 28_000, 2_600, 1.5) },
      { id: 'stock', prefix: '/wms/stock', endpoints: [get('/wms/stock/{id}', 5, 800, 15), get('/wms/stock', 1, 70_000, 120, '$top=200&$skip={page}')] },
      { id: 'tracking', prefix: '/wms/tracking', endpoints: [get('/wms/tracking/{id}', 1, 1_400, 20)] },
    ],
  },
  {
    id: 'fin', virtualHost: 'fin.virtual', virtualPort: 8000, internalPort: 9443, protocol: 'https', ids: 15_000,
    resources: [
      { id: 'ledger', prefix: '/fin/ledger', endpoints: [get('/fin/ledger', 2, 90_000, 150, '$top=500&$skip={page}'), get('/fin/ledger/{id}', 4, 1_800, 30), write('POST', '/fin/ledger', 0.6, 1_500, 90)] },
      { id: 'reports', prefix: '/fin/reports', endpoints: [get('/fin/reports/balance-sheet', 1, 1_400_000, 2_500), get('/fin/reports/open-items', 2, 600_000, 1_200), get('/fin/reports/cash-flow', 1, 450_000, 900)] },
      { id: 'payments', prefix: '/fin/payments', endpoints: crud('/fin/payments', 22_000, 1_600, 0.7) },
    ],
  },
  {
    id: 'dms', virtualHost: 'dms.virtual', virtualPort: 8000, internalPort: 8000, protocol: 'http', ids: 80_000,
    resources: [
      { id: 'documents', prefix: '/dms/documents', endpoints: [get('/dms/documents/{id}', 5, 320_000, 120), get('/dms/documents/{id}/meta', 3, 1_200, 20), write('POST', '/dms/documents', 0.5, 250_000, 300)] },
      { id: 'search', prefix: '/dms/search', endpoints: [get('/dms/search', 1, 14_000, 180, 'q=doc&page={page}')] },
    ],
  },
];

/** TCP mappings that exist in the connector's configuration but that nothing uses day to day. */
export const DORMANT_TCP: readonly DomainSpec[] = [
  { id: 'legacy-db', virtualHost: 'db-legacy.virtual', virtualPort: 5432, internalPort: 5432, protocol: 'tcp', ids: 1, resources: [] },
  { id: 'sftp', virtualHost: 'sftp.virtual', virtualPort: 22, internalPort: 22, protocol: 'tcp', ids: 1, resources: [] },
];

export type AppKind =
  /** people behind a web or mobile front end; principals propagated; office hours */
  | 'web'
  /** people, office hours only, few of them, heavy downloads (reporting, finance close) */
  | 'office'
  /** system to system; around the clock with an office-hours hump; no principal */
  | 'integration'
  /** a nightly job: a dense window of calls at a fixed local time */
  | 'batch'
  /** health probes of every HTTP backend at a fixed interval */
  | 'monitor';

export interface AppTemplate {
  readonly name: string;
  readonly kind: AppKind;
  /** `domain.resource`: what the app calls; the first one's domain must exist for the app to be chosen. */
  readonly uses: readonly string[];
  /** Calls per minute at the peak hour for a subaccount of size 1 (batch: inside its window). */
  readonly peak: number;
  /** User agents with weights; a `/x.y.z` version may be bumped by a release. */
  readonly userAgents: readonly (readonly [string, number])[];
  /** Runs outside the cloud platform (a partner's gateway): own addresses rather than the platform's NAT. */
  readonly external?: boolean;
  /** Share of its calls that are denied in normal operation (a stale call the rules never allowed). */
  readonly denyRate: number;
}

export const APPS: readonly AppTemplate[] = [
  { name: 'sales-portal', kind: 'web', uses: ['erp.orders', 'erp.customers', 'erp.materials', 'crm.contacts'], peak: 24, userAgents: [['sales-portal/3.4.1 (node/20.17.0)', 1]], denyRate: 0.004 },
  { name: 'procurement', kind: 'web', uses: ['erp.orders', 'erp.materials', 'erp.invoices'], peak: 14, userAgents: [['Apache-HttpClient/5.3.1 (Java/17.0.12)', 1]], denyRate: 0.006 },
  { name: 'field-service', kind: 'web', uses: ['wms.tracking', 'wms.shipments', 'erp.orders'], peak: 16, userAgents: [['okhttp/4.12.0', 0.8], ['field-service-android/5.2.0 (okhttp/4.12.0)', 0.2]], denyRate: 0.003 },
  { name: 'hr-self-service', kind: 'web', uses: ['hr.employees', 'hr.absences'], peak: 10, userAgents: [['hr-self-service/2.8.0 (node/20.17.0)', 1]], denyRate: 0.005 },
  { name: 'doc-viewer', kind: 'web', uses: ['dms.documents', 'dms.search', 'erp.invoices'], peak: 9, userAgents: [['axios/1.7.7', 1]], denyRate: 0.004 },
  { name: 'crm-cockpit', kind: 'web', uses: ['crm.contacts', 'crm.leads', 'crm.campaigns', 'erp.customers'], peak: 12, userAgents: [['crm-cockpit/1.19.2 (Java/21.0.4)', 1]], denyRate: 0.004 },
  { name: 'bi-reports', kind: 'office', uses: ['fin.reports', 'fin.ledger', 'erp.invoices'], peak: 2.5, userAgents: [['Microsoft.Data.Mashup (https://go.microsoft.com/fwlink/?LinkID=304225)', 1]], denyRate: 0.002 },
  { name: 'finance-close', kind: 'office', uses: ['fin.ledger', 'fin.payments', 'fin.reports'], peak: 4, userAgents: [['finance-close/1.12.3 (Java/21.0.4)', 1]], denyRate: 0.003 },
  { name: 'order-sync', kind: 'integration', uses: ['erp.orders', 'wms.shipments', 'wms.stock'], peak: 12, userAgents: [['Apache-HttpClient/4.5.14 (Java/11.0.22)', 1]], denyRate: 0.002 },
  { name: 'edi-gateway', kind: 'integration', uses: ['erp.orders', 'erp.invoices'], peak: 6, userAgents: [['Jakarta Commons-HttpClient/3.1', 1]], external: true, denyRate: 0.004 },
  { name: 'crm-sync', kind: 'integration', uses: ['crm.contacts', 'crm.leads', 'erp.customers'], peak: 7, userAgents: [['Go-http-client/1.1', 1]], denyRate: 0.002 },
  { name: 'payroll-run', kind: 'batch', uses: ['hr.payroll', 'hr.employees'], peak: 60, userAgents: [['Apache-HttpClient/4.5.14 (Java/11.0.22)', 1]], denyRate: 0.001 },
  { name: 'data-lake-loader', kind: 'batch', uses: ['erp.orders', 'erp.customers', 'crm.contacts', 'wms.shipments'], peak: 90, userAgents: [['python-requests/2.32.3', 1]], denyRate: 0.001 },
  { name: 'uptime-probe', kind: 'monitor', uses: [], peak: 1, userAgents: [['Blackbox Exporter/0.25.0', 1]], denyRate: 0 },
];

export interface RegionSpec {
  readonly timeZone: string;
  /** ISO country for public holidays (calendar.ts). */
  readonly country: string;
  /** The cloud platform's egress NAT addresses in that region, shared by every app hosted there. */
  readonly nat: readonly string[];
}

export const REGIONS: readonly RegionSpec[] = [
  { timeZone: 'Europe/Berlin', country: 'DE', nat: ['3.120.181.40', '3.120.181.41', '18.196.35.112', '18.196.35.113', '52.28.241.9'] },
  { timeZone: 'America/New_York', country: 'US', nat: ['52.23.189.23', '52.23.189.24', '34.224.88.150', '34.224.88.151'] },
  { timeZone: 'Europe/London', country: 'GB', nat: ['18.130.47.2', '18.130.47.3', '35.178.96.40'] },
  { timeZone: 'Asia/Tokyo', country: 'JP', nat: ['13.112.66.201', '13.112.66.202', '54.250.22.18'] },
  { timeZone: 'Asia/Kolkata', country: 'IN', nat: ['13.232.14.77', '13.232.14.78', '65.0.110.9'] },
  { timeZone: 'America/Sao_Paulo', country: 'BR', nat: ['18.228.70.14', '18.228.70.15', '54.232.41.6'] },
  { timeZone: 'Europe/Paris', country: 'FR', nat: ['13.38.156.91', '13.38.156.92', '15.236.18.204'] },
  { timeZone: 'Australia/Sydney', country: 'AU', nat: ['3.104.77.12', '3.104.77.13', '54.66.193.80'] },
];

export const SUBACCOUNT_NAMES: readonly string[] = [
  'acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark-ind', 'wayne-ent', 'wonka', 'tyrell', 'cyberdyne',
  'soylent', 'vandelay', 'dunder', 'oscorp', 'aperture', 'massive-dyn',
];

export const FIRST_NAMES: readonly string[] = [
  'anna', 'ben', 'carla', 'david', 'elena', 'felix', 'greta', 'hiro', 'ines', 'jonas', 'kim', 'lars', 'maria',
  'nina', 'omar', 'paula', 'quentin', 'rosa', 'sven', 'tara', 'uwe', 'vera', 'wei', 'xenia', 'yusuf', 'zoe',
  'aiko', 'bruno', 'chen', 'dina', 'emil', 'fatima', 'gopal', 'hanna', 'ivan', 'julia', 'kenji', 'lena',
];

export const LAST_NAMES: readonly string[] = [
  'schmidt', 'meyer', 'garcia', 'tanaka', 'rossi', 'novak', 'kowalski', 'silva', 'martin', 'fischer', 'weber',
  'sato', 'singh', 'dubois', 'jansen', 'berg', 'costa', 'lopez', 'nguyen', 'hansen', 'moreau', 'klein',
];

/** A platform vendor's support engineers, seen in every subaccount now and then: a normal cross-tenant principal. */
export const VENDOR_SUPPORT_PRINCIPAL = 'support-l2@platform-vendor.example';

/** Addresses of internet-wide scanners knocking on the relay without a token, and what they announce. */
export const SCANNER_USER_AGENTS: readonly string[] = [
  'Mozilla/5.0 zgrab/0.x',
  'Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)',
  'Expanse, a Palo Alto Networks company, searches across the global IPv4 space multiple times per day to identify customers&#39; presences on the Internet. If you would like to be excluded from our scans, please send IP addresses/domains to: scaninfo@paloaltonetworks.com',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'curl/7.88.1',
  '',
];
