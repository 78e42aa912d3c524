// The phases of `npm run bench:ingest`, each on the same embedded store (tables emptied in between):
// the engine on its own (INSERT ... SELECT FROM numbers()), the naive client path, each row format the
// client + chDB connection can carry, and the store's own insert path (validation, dedupe, batching).
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { AuditEvent } from '../../common/audit/event.js';
import { AUDIT_FIELDS } from '../../common/audit/event.js';
import { auditColumnsPayload, AUDIT_INSERT_COLUMNS, prepareAuditRow } from '../../collector/store/audit-row.js';
import type { Store } from '../../collector/store/store.js';
import { loadBetween, sampleLoad, type LoadReport } from './machine-load.js';
import { generateEvents } from './ingest-events.js';

export interface PhaseResult {
  readonly id: string;
  readonly label: string;
  readonly rows: number;
  readonly wallS: number;
  /** CPU of this process (JS thread and engine threads), seconds. */
  readonly cpuS: number;
  readonly peakRssMb: number;
  readonly load: LoadReport;
  readonly note?: string;
}

const TABLES = ['audit_events', 'audit_events_archive', 'audit_minute', 'audit_denied_1m'];

export async function emptyTables(client: ClickHouseClient): Promise<void> {
  for (const table of TABLES) await client.command({ query: 'TRUNCATE TABLE {t:Identifier}', query_params: { t: table } });
}

/** Highest RSS seen while fn runs, sampled every 25 ms (the process peak is in resourceUsage().maxRSS). */
export async function measure(id: string, label: string, rows: number, fn: () => Promise<string | void>): Promise<PhaseResult> {
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 25);
  sampler.unref();
  const before = await sampleLoad();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let note: string | void;
  try {
    note = await fn();
  } finally {
    clearInterval(sampler);
  }
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  peak = Math.max(peak, process.memoryUsage.rss());
  return { id, label, rows, wallS, cpuS: (cpu.user + cpu.system) / 1e6, peakRssMb: peak / 2 ** 20, load: loadBetween(before, await sampleLoad()), ...(note ? { note } : {}) };
}

/** The SELECT list that makes realistic rows inside the engine, in AUDIT_INSERT_COLUMNS order. */
const ENGINE_ROWS = `
  'tunnelwatch.audit/1', toString(generateUUIDv7(number)), now64(3) - toIntervalMillisecond(intDiv(number, 100)),
  800 + number * 7919 % 120000, if(number % 46 = 0, 'relay', 'connector'), concat('conn-', toString(number % 4)),
  intDiv(number, 4) + 1, repeat('a3f1', 16), repeat('a3f1', 16), concat('tenant-', leftPad(toString(number % 12), 2, '0')),
  if(number % 5 = 0, 'dc-west', ''), ['orders-app', 'hr-portal', 'crm-sync', 'billing', 'analytics', 'mobile-bff'][number % 6 + 1],
  if(number % 3 = 0, '', concat('user', toString(number % 500), '@corp.example')), IPv4NumToString(toUInt32(167772160 + number % 16777216)),
  'https', if(number % 4 = 0, 'POST', 'GET'), 'erp.virtual', 8000, 'erp01.corp.local', 8443,
  '/sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner', if(number % 2 = 1, '', '$top=50&sap-client=100&token=REDACTED'),
  'SAP-CloudSDK/5.2 Java/17', if(number % 23 = 0, 'deny', 'allow'), if(number % 23 = 0, '', concat('rule-', toString(number % 9))),
  if(number % 23 = 0, 'path_not_allowed', ''), if(number % 23 = 0, 403, 200), '', number % 2048, 2000 + number * 31 % 64000,
  150 + number % 900, 900 + number * 13 % 50000, lower(hex(cityHash64(number))) || lower(hex(cityHash64(number + 1))),
  lower(hex(cityHash64(number))), ''`;

export async function enginePhase(store: Store, rows: number, batchRows: number): Promise<PhaseResult[]> {
  const columns = AUDIT_INSERT_COLUMNS.join(', ');
  await emptyTables(store.client);
  const one = await measure('engine', `engine: one INSERT ... SELECT FROM numbers(${rows})`, rows, async () => {
    await store.client.command({ query: `INSERT INTO audit_events (${columns}) SELECT ${ENGINE_ROWS} FROM numbers({n:UInt64})`, query_params: { n: rows } });
  });
  await emptyTables(store.client);
  const batched = await measure('engine-batches', `engine: INSERT ... SELECT in ${batchRows.toLocaleString('en-US')}-row statements`, rows, async () => {
    for (let offset = 0; offset < rows; offset += batchRows) {
      await store.client.command({
        query: `INSERT INTO audit_events (${columns}) SELECT ${ENGINE_ROWS} FROM numbers({offset:UInt64}, {n:UInt64})`,
        query_params: { offset, n: Math.min(batchRows, rows - offset) },
      });
    }
  });
  return [one, batched];
}

async function execInsert(client: ClickHouseClient, format: string, body: string): Promise<void> {
  const result = await client.exec({ query: `INSERT INTO audit_events (${AUDIT_INSERT_COLUMNS.join(', ')}) FORMAT ${format}`, values: Readable.from([body], { objectMode: false, encoding: 'utf8' }) });
  for await (const chunk of result.stream) void chunk;
}

const ESCAPE = /[\t\n\\\r]/;
function tsv(s: string): string {
  return ESCAPE.test(s) ? s.replace(/[\t\n\\\r]/g, (c) => (c === '\t' ? '\\t' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\\\')) : s;
}

/** Row formats the client + chDB connection can carry (text only: the connection passes the body as a string). */
const FORMATS: Record<string, { format: string; label: string; build: (events: AuditEvent[]) => string }> = {
  naive: { format: 'JSONEachRow', label: 'client.insert(objects, JSONEachRow) — the naive path', build: () => '' },
  jsoneachrow: { format: 'JSONEachRow', label: 'JSONEachRow, one JSON.stringify per row', build: (events) => events.map((e) => JSON.stringify({ ...e, ts: e.ts.slice(0, 10) + ' ' + e.ts.slice(11, 23), extra: '' })).join('\n') },
  jsoncompacteachrow: {
    format: 'JSONCompactEachRow',
    label: 'JSONCompactEachRow, one array per row',
    build: (events) => events.map((e) => JSON.stringify([...AUDIT_FIELDS.map((f) => (f === 'ts' ? e.ts.slice(0, 10) + ' ' + e.ts.slice(11, 23) : e[f])), ''])).join('\n'),
  },
  tabseparated: {
    format: 'TabSeparated',
    label: 'TabSeparated, escaped by hand',
    build: (events) => {
      let out = '';
      for (const e of events) {
        for (const f of AUDIT_FIELDS) {
          const v = e[f];
          out += (f === 'ts' ? e.ts.slice(0, 10) + ' ' + e.ts.slice(11, 23) : typeof v === 'number' ? String(v) : tsv(v)) + '\t';
        }
        out += '\n';
      }
      return out;
    },
  },
  jsoncompactcolumns: { format: 'JSONCompactColumns', label: 'JSONCompactColumns, one JSON.stringify per batch (the store\'s format)', build: (events) => auditColumnsPayload(events.map(prepareAuditRow)) },
};

export async function formatPhases(store: Store, rows: number, batchRows: number): Promise<PhaseResult[]> {
  const batches: AuditEvent[][] = [];
  for (let offset = 0; offset < rows; offset += batchRows) batches.push(generateEvents(Math.min(batchRows, rows - offset), { startSeq: offset + 1 }));
  const results: PhaseResult[] = [];
  for (const [id, spec] of Object.entries(FORMATS)) {
    await emptyTables(store.client);
    results.push(
      await measure(`format-${id}`, spec.label, rows, async () => {
        for (const events of batches) {
          if (id === 'naive') {
            // ts as the events carry it (RFC 3339) needs best_effort parsing: part of what makes this path naive.
            await store.client.insert({ table: 'audit_events', values: events, format: 'JSONEachRow', clickhouse_settings: { date_time_input_format: 'best_effort' } });
          } else await execInsert(store.client, spec.format, spec.build(events));
        }
      }),
    );
  }
  return results;
}

/**
 * The store's path as the collector drives it: `callers` concurrent requests of `callRows` events each
 * (generated on the fly, included in the time), through validation, dedupe, 10k batching and commit.
 */
export async function storePhase(store: Store, rows: number, callRows: number, callers: number): Promise<PhaseResult> {
  await emptyTables(store.client);
  const before = store.stats().audit;
  let next = 0;
  const result = await measure('store', `store.insertAuditEvents: ${callers} callers × ${callRows.toLocaleString('en-US')} events`, rows, async () => {
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (next < rows) {
          const start = next;
          next += callRows;
          await store.insertAuditEvents(generateEvents(Math.min(callRows, rows - start), { startSeq: start + 1, spanMs: 50 }));
        }
      }),
    );
  });
  const after = store.stats().audit;
  const inserted = after.inserted - before.inserted;
  const [{ c = '0', d = '0' } = {}] = await store.query<{ c: string; d: string }>('SELECT count() AS c, uniqExact(event_id) AS d FROM audit_events');
  return { ...result, note: `${inserted.toLocaleString('en-US')} inserted; count() ${c}, distinct ids ${d}` };
}

/** What building the events costs on its own: the store phase includes it (the collector's JSON.parse is its counterpart). */
export async function generatorPhase(rows: number): Promise<PhaseResult> {
  return measure('generate', `generating ${rows.toLocaleString('en-US')} events in JS (part of the store phase, no insert)`, rows, async () => {
    for (let i = 0; i < rows; i += 10_000) generateEvents(Math.min(10_000, rows - i), { startSeq: i + 1 });
  });
}

/** Sends the same events again: every one is a duplicate and must be recognised without writing. */
export async function replayPhase(store: Store, rows: number, callRows: number): Promise<PhaseResult> {
  await emptyTables(store.client);
  const events = generateEvents(rows, { spanMs: 60_000 });
  for (let i = 0; i < rows; i += callRows) await store.insertAuditEvents(events.slice(i, i + callRows));
  const before = store.stats().audit.duplicates;
  const result = await measure('replay', `store.insertAuditEvents: replay of ${rows.toLocaleString('en-US')} stored events (all duplicates)`, rows, async () => {
    for (let i = 0; i < rows; i += callRows) await store.insertAuditEvents(events.slice(i, i + callRows));
  });
  return { ...result, note: `${(store.stats().audit.duplicates - before).toLocaleString('en-US')} recognised as duplicates` };
}
