// Exporter cursors in the store (table export_cursors, migration 0013): one position per exporter and
// stream, written as a new version on every move. Reads take the newest version, which also holds on a
// cluster where versions of one key may not be merged yet.
import { chTime } from '../detect/sql.js';
import type { Store } from '../store/store.js';
import type { ExportStream } from './types.js';
import { nextVersion } from './versions.js';

export interface StoredCursor {
  readonly exporter: string;
  readonly stream: ExportStream;
  readonly position: string;
  /** RFC 3339: when it was last moved. */
  readonly updated_at: string;
}

export interface CursorStore {
  load(exporter: string, stream: ExportStream): Promise<string | undefined>;
  save(exporter: string, stream: ExportStream, position: string): Promise<void>;
  /** Every exporter's cursors (a standalone dashboard's view of the exporters). */
  all(): Promise<StoredCursor[]>;
}

export function storeCursors(store: Store): CursorStore {
  return {
    async load(exporter, stream) {
      const [row] = await store.query<{ position: string; version: string }>(
        'SELECT position, version FROM export_cursors WHERE exporter = {e:String} AND stream = {s:String} ORDER BY version DESC LIMIT 1',
        { e: exporter, s: stream },
      );
      if (!row) return undefined;
      nextVersion(Number(row.version));
      return row.position;
    },
    async save(exporter, stream, position) {
      const now = Date.now();
      await store.client.insert({
        table: 'export_cursors',
        values: [{ exporter, stream, position, updated_at: chTime(now), version: nextVersion() }],
        format: 'JSONEachRow',
      });
    },
    async all() {
      const rows = await store.query<{ exporter: string; stream: ExportStream; position: string; updated_at: string }>(
        'SELECT exporter, stream, position, toString(updated_at) AS updated_at FROM export_cursors ORDER BY exporter, stream, version DESC LIMIT 1 BY exporter, stream',
      );
      return rows.map((r) => ({ ...r, updated_at: `${r.updated_at.replace(' ', 'T')}Z` }));
    },
  };
}
