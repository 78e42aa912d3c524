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
