// Crafted detection inputs: days of ordinary background traffic (test/helpers/audit-traffic.ts) in a real
// embedded store, plus the events of one injected pattern, built through the real emitter so they are
// valid chained audit events.
import { after, before } from 'node:test';
import { AuditEmitter } from '../../../common/audit/emitter.js';
import { emptyCallRecord, type AuditEvent, type CallRecord } from '../../../common/audit/event.js';
import type { Store } from '../../../collector/store/store.js';
import { openTestStore, type TestStore } from '../../helpers/dashboard.js';
import { trafficEvents } from '../../helpers/audit-traffic.js';

export const DAY = 86_400_000;
export const HOUR = 3_600_000;
export const MINUTE = 60_000;

/** Midnight UTC that starts the background; injected patterns go on DAY_N(days) and later. */
export const T0 = Date.parse('2026-10-05T00:00:00.000Z'); // a Monday

export function at(dayOffset: number, hh: number, mm = 0, ss = 0): number {
  return T0 + dayOffset * DAY + hh * HOUR + mm * MINUTE + ss * 1000;
}

/** A normal allowed call of acme's erp-portal; override what the pattern changes. */
export function call(ts: number, overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    ...emptyCallRecord(),
    ts: new Date(ts).toISOString(),
    duration_us: 12_000,
    subaccount: 'acme',
    cloud_app: 'erp-portal',
    principal: 'alice@acme.example',
    client_ip: '203.0.113.7',
    protocol: 'http',
    method: 'GET',
    virtual_host: 'erp.virtual',
    virtual_port: 8000,
    internal_host: '10.0.0.5',
    internal_port: 8443,
    path: '/api/orders/42',
    user_agent: 'SAP-BTP-Destination/1.0',
    decision: 'allow',
    rule_id: 'acme-orders',
    status: 200,
    bytes_out: 2_000,
    backend_connect_us: 300,
    backend_ttfb_us: 5_000,
    trace_id: '0af7651916cd43dd8448eb211c80319c',
    span_id: 'b7ad6b7169203331',
    ...overrides,
  };
}

/** Events of the given call records, chained under their own emitter. */
export function emit(records: readonly CallRecord[], emitterId = 'connector-inject'): AuditEvent[] {
  const out: AuditEvent[] = [];
  const emitter = new AuditEmitter({
    emitter: 'connector',
    emitterId,
    chain: { seq: 0, hash: '' },
    sinks: [{ write: (e) => void out.push(e), flush: async () => {}, close: async () => {} }],
  });
  for (const r of [...records].sort((a, b) => a.ts.localeCompare(b.ts))) emitter.emit(r);
  return out;
}

/** `count` records spread evenly over [fromMs, toMs), made by `make(ts, i)`. */
export function spread(count: number, fromMs: number, toMs: number, make: (ts: number, i: number) => CallRecord): CallRecord[] {
  return Array.from({ length: count }, (_, i) => make(fromMs + Math.floor(((toMs - fromMs) * i) / count), i));
}

/** Background: `perDay` varied events a day over `days` days from T0 (tenants acme, globex, initech). */
export function background(days: number, perDay = 1500, seed = 7): AuditEvent[] {
  return trafficEvents({ count: days * perDay, from: new Date(T0), to: new Date(T0 + days * DAY), seed, emitterId: 'connector-background' });
}

/** One embedded store for a test file, opened before its tests and closed after them. */
export function useStore(): { readonly store: Store } {
  let test: TestStore | undefined;
  const holder = {
    get store(): Store {
      if (!test) throw new Error('store not open yet');
      return test.store;
    },
  };
  before(async () => {
    test = await openTestStore();
  });
  after(async () => {
    await test?.close();
  });
  return holder;
}

export async function load(store: Store, events: readonly AuditEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 10_000) await store.insertAuditEvents(events.slice(i, i + 10_000));
  await store.flush();
}

export function range(fromMs: number, toMs: number): { from: Date; to: Date } {
  return { from: new Date(fromMs), to: new Date(toMs) };
}

/** Only the named detectors, with their defaults (plus overrides). */
export function onlyDetectors(ids: readonly string[], overrides: Record<string, Record<string, number | boolean>> = {}): { detectors: Record<string, Record<string, number | boolean>> } {
  return { detectors: Object.fromEntries(ALL_DETECTORS.map((id) => [id, { enabled: ids.includes(id), ...(overrides[id] ?? {}) }])) };
}

export const ALL_DETECTORS = [
  'first_seen_resource', 'volume_spike', 'deny_burst', 'path_enumeration', 'off_hours', 'exfiltration',
  'cross_subaccount', 'auth_failure_burst', 'backend_failure', 'rare_user_agent', 'peer_deviation',
] as const;

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
