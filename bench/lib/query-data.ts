// Fills audit_events with generated events inside the engine (INSERT ... SELECT FROM numbers()), so the
// 10-million-event store for the query benchmark fills at the engine's speed instead of the JS insert
// path's. The rollup views fill as they do for ingested data. The mix has the shapes that make queries
// expensive: 40 subaccounts with Zipf-like sizes, apps, principals and backends per subaccount,
// Zipf-like paths, ~7 % denied calls, ~2 % backend errors, latencies with a long tail, spread evenly over
// the days (no daily rhythm: it would not change the cost of a query).
import type { Store } from '../../collector/store/store.js';

/** r(k): a uniform number in [0, 1) for this row and salt k. */
const r = (k: number): string => `(cityHash64(number, ${k}) / 18446744073709551616.0)`;

const SELECT = `
SELECT
  'tunnelwatch.audit/1' AS schema,
  concat('bench-', toString(number)) AS event_id,
  toDateTime64({end:DateTime64(3, 'UTC')}, 3, 'UTC')
    - toIntervalMillisecond(toUInt64(${r(1)} * {span_ms:UInt64})) AS ts,
  toUInt64(800 + pow(${r(2)}, 4) * 400000) AS duration_us,
  'connector' AS emitter,
  concat('bench-connector-', toString(number % 3)) AS emitter_id,
  intDiv(number, 3) + 1 AS seq,
  lower(hex(SHA256(toString(number - 3)))) AS prev_hash,
  lower(hex(SHA256(toString(number)))) AS hash,
  concat('tenant-', leftPad(toString(toUInt32(pow(${r(3)}, 2.2) * 40)), 2, '0')) AS subaccount,
  '' AS location_id,
  concat(subaccount, '-app-', toString(toUInt32(pow(${r(4)}, 2) * 5))) AS cloud_app,
  if(${r(5)} < 0.2, '', concat('user', toString(toUInt32(pow(${r(6)}, 2) * 400)), '@', subaccount, '.example')) AS principal,
  concat('198.51.', toString(toUInt32(${r(7)} * 8)), '.', toString(toUInt32(${r(8)} * 250))) AS client_ip,
  'http' AS protocol,
  if(${r(9)} < 0.8, 'GET', 'POST') AS method,
  concat('svc', toString(toUInt32(pow(${r(10)}, 2) * 6)), '.', subaccount, '.virtual') AS virtual_host,
  toUInt16(8000) AS virtual_port,
  ${r(11)} < 0.07 AS denied,
  -- A virtual host maps to one backend, as a mapping does (a no_mapping denial has none).
  if(denied AND ${r(12)} < 0.3, '', concat('10.', toString(cityHash64(virtual_host) % 250), '.0.', toString(cityHash64(virtual_host, 1) % 250))) AS internal_host,
  toUInt16(if(internal_host = '', 0, 8443)) AS internal_port,
  concat('/api/', ['orders', 'customers', 'invoices', 'products', 'sap/opu/odata/sap/API_SALES_ORDER_SRV', 'admin'][1 + toUInt32(pow(${r(15)}, 1.5) * 6)],
         '/', toString(toUInt32(pow(${r(16)}, 3) * 5000))) AS path,
  if(${r(17)} < 0.1, concat('$top=', toString(toUInt32(${r(18)} * 100))), '') AS query,
  ['SAP-BTP-Destination/1.0', 'okhttp/4.12.0', 'python-requests/2.32.3', 'Apache-HttpClient/5.3', 'curl/8.5.0'][1 + toUInt32(pow(${r(19)}, 3) * 5)] AS user_agent,
  if(denied, 'deny', 'allow') AS decision,
  if(denied, '', concat(subaccount, '-rule-', toString(toUInt32(${r(15)} * 6)))) AS rule_id,
  if(denied, ['path_not_allowed', 'method_not_allowed', 'no_mapping', 'app_not_trusted'][1 + toUInt32(${r(20)} * 4)], '') AS deny_reason,
  ${r(21)} < 0.02 AND NOT denied AS failed,
  toUInt16(multiIf(denied, 403, failed, 502, ${r(22)} < 0.04, 404, 200)) AS status,
  if(failed, ['connect_refused', 'backend_timeout', 'reset'][1 + toUInt32(${r(23)} * 3)], '') AS error_type,
  toUInt64(if(method = 'POST', ${r(24)} * 5000, 0)) AS bytes_in,
  toUInt64(if(denied OR failed, 0, 200 + pow(${r(25)}, 3) * 200000)) AS bytes_out,
  toUInt64(if(denied, 0, 100 + ${r(26)} * 3000)) AS backend_connect_us,
  toUInt64(if(denied OR failed, 0, 1000 + pow(${r(27)}, 3) * 300000)) AS backend_ttfb_us,
  lower(hex(MD5(toString(number)))) AS trace_id,
  substring(lower(hex(MD5(concat('s', toString(number))))), 1, 16) AS span_id,
  '' AS extra
FROM numbers({start:UInt64}, {count:UInt64})`;

const COLUMNS = 'schema, event_id, ts, duration_us, emitter, emitter_id, seq, prev_hash, hash, subaccount, location_id, cloud_app, principal, client_ip, protocol, method, virtual_host, virtual_port, internal_host, internal_port, path, query, user_agent, decision, rule_id, deny_reason, status, error_type, bytes_in, bytes_out, backend_connect_us, backend_ttfb_us, trace_id, span_id, extra';

export interface FillOptions {
  readonly rows: number;
  /** Events spread over [end - days, end). */
  readonly days: number;
  readonly end: Date;
  readonly chunkRows?: number;
  readonly onChunk?: (done: number) => void;
}

/** Inserts `rows` generated events in chunks (progress after each); returns nothing until all are in. */
export async function fillAuditEvents(store: Store, options: FillOptions): Promise<void> {
  const chunk = options.chunkRows ?? 1_000_000;
  const end = options.end.toISOString().replace('T', ' ').replace('Z', '');
  for (let start = 0; start < options.rows; start += chunk) {
    const count = Math.min(chunk, options.rows - start);
    await store.client.command({
      query: `INSERT INTO audit_events (${COLUMNS}) SELECT ${COLUMNS} FROM (${SELECT})`,
      query_params: { start, count, end, span_ms: options.days * 86_400_000 },
    });
    options.onChunk?.(start + count);
  }
}
