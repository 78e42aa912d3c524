// Every audit record of a store, read through the export source page by page and handed out in batches,
// as the export runner reads them: the records carry their stored row (`row`) and decode the event only
// when asked. Shared by the syslog tests and bench:export.
import { createExportSource } from '../../collector/export/source.js';
import type { ExportRecord } from '../../collector/export/types.js';
import type { Store } from '../../collector/store/store.js';

export type AuditRecord = Extract<ExportRecord, { stream: 'audit' }>;

export interface ReadOptions {
  /** The source's settle margin (ms, default 0: everything committed). */
  readonly settleMs?: number;
  /** Rows per page (default 250). */
  readonly readSize?: number;
  /** Rows per batch of a page (default 100): records of different batches share the page's buffer. */
  readonly batchSize?: number;
}

export async function readAllAudit(store: Store, options: ReadOptions = {}): Promise<AuditRecord[]> {
  const readSize = options.readSize ?? 250;
  const batchSize = options.batchSize ?? 100;
  const source = createExportSource(store, { settleMs: options.settleMs ?? 0 });
  const out: AuditRecord[] = [];
  let position: string | undefined;
  for (;;) {
    const page = await source.readPage('audit', position, readSize);
    if (page.rows === 0) return out;
    for (let i = 0; i < page.rows; i += batchSize) {
      for (const r of page.batch(i, Math.min(i + batchSize, page.rows)).records) out.push(r as AuditRecord);
    }
    position = page.end;
  }
}

/**
 * Two copies of a stored audit row that the row writers must handle as the decoder does: 'x-huge-u64'
 * with UInt64 values beyond 2^53 (bytes_in and duration_us at the maximum), and 'x-not-utf8' whose path
 * and user agent are not valid UTF-8 (the decoder puts U+FFFD in their place).
 */
export async function insertEdgeRows(store: Store, sourceId: string): Promise<void> {
  // (A subquery: an alias in REPLACE would also rename the column the WHERE reads.)
  await store.client.command({
    query: `INSERT INTO audit_events SELECT * REPLACE ('x-huge-u64' AS event_id, toUInt64('18446744073709551615') AS bytes_in, toUInt64('9007199254740993') AS bytes_out, toUInt64('18446744073709551615') AS duration_us) FROM (SELECT * FROM audit_events WHERE event_id = {id:String})`,
    query_params: { id: sourceId },
  });
  await store.client.command({
    query: `INSERT INTO audit_events SELECT * REPLACE ('x-not-utf8' AS event_id, unhex('2f61ff62') AS path, unhex('c0af') AS user_agent) FROM (SELECT * FROM audit_events WHERE event_id = {id:String})`,
    query_params: { id: sourceId },
  });
}
