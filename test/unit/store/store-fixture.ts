// Shared by the store tests: a throw-away data directory per store and events shaped like the spec's.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent } from '../../../common/audit/event.js';
import { uuidv7 } from '../../../common/ids.js';
import { openStore, type OpenStoreOptions } from '../../../collector/store/open-store.js';
import type { Store } from '../../../collector/store/store.js';

export function tempDir(prefix = 'tw-store-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Opens a store on a fresh directory; the returned cleanup closes it and removes the directory. */
export async function freshStore(options: OpenStoreOptions = {}): Promise<{ store: Store; dir: string; cleanup: () => Promise<void> }> {
  const dir = tempDir();
  const store = await openStore({ dataDir: dir, ...options });
  return {
    store,
    dir,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let seq = 0;

/** A complete, valid event; `overrides` replace fields. Times default to a few seconds ago. */
export function auditEvent(overrides: Partial<AuditEvent> & Record<string, unknown> = {}): AuditEvent {
  seq++;
  const tsMs = Date.now() - 5000 + seq;
  return {
    schema: 'tunnelwatch.audit/1',
    event_id: uuidv7(tsMs),
    ts: new Date(tsMs).toISOString(),
    duration_us: 1200 + seq,
    emitter: 'connector',
    emitter_id: 'conn-test',
    seq,
    prev_hash: 'c'.repeat(64),
    hash: 'd'.repeat(64),
    subaccount: 'acme-prod',
    location_id: '',
    cloud_app: 'orders-app',
    principal: 'alice@acme.example',
    client_ip: '203.0.113.7',
    protocol: 'https',
    method: 'GET',
    virtual_host: 'erp.virtual',
    virtual_port: 8000,
    internal_host: 'erp01.corp.local',
    internal_port: 8443,
    path: '/api/orders',
    query: '',
    user_agent: 'curl/8.0',
    decision: 'allow',
    rule_id: 'r1',
    deny_reason: '',
    status: 200,
    error_type: '',
    bytes_in: 10,
    bytes_out: 2000,
    backend_connect_us: 150,
    backend_ttfb_us: 900,
    trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    span_id: '00f067aa0ba902b7',
    ...overrides,
  } as AuditEvent;
}

export function auditEvents(count: number, overrides: (i: number) => Partial<AuditEvent> = () => ({})): AuditEvent[] {
  return Array.from({ length: count }, (_, i) => auditEvent(overrides(i)));
}

/** count() and count(DISTINCT event_id) of audit_events, plain and through FINAL (the documented read path). */
export async function counts(store: Store): Promise<{ rows: number; distinct: number; final: number }> {
  const [plain] = await store.query<{ rows: string; ids: string }>('SELECT count() AS rows, uniqExact(event_id) AS ids FROM audit_events');
  const [final] = await store.query<{ rows: string }>('SELECT count() AS rows FROM audit_events FINAL');
  return { rows: Number(plain?.rows), distinct: Number(plain?.ids), final: Number(final?.rows) };
}
