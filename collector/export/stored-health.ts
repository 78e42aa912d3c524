// Exporter health as the store alone tells it, for a dashboard that does not run in the collector (a
// standalone dashboard on a ClickHouse server): each exporter's cursors, how far behind them the store
// is, and its dead letters. Its live state (retrying, failing) and error counts are only known inside the
// collector that runs it, so the state is 'unknown' and last_success_at is when its cursor last moved.
import type { Store } from '../store/store.js';
import { storeCursors } from './cursor.js';
import { storeDeadLetters } from './dead-letters.js';
import type { ExporterHealth, StreamHealth } from './health.js';
import { createExportSource } from './source.js';

export async function storedExporterHealth(store: Store): Promise<ExporterHealth[]> {
  const [cursors, dead] = await Promise.all([storeCursors(store).all(), storeDeadLetters(store).counts()]);
  const source = createExportSource(store, { settleMs: 0 });
  const names = [...new Set([...cursors.map((c) => c.exporter), ...dead.keys()])].sort();
  const now = Date.now();
  return Promise.all(names.map(async (name): Promise<ExporterHealth> => {
    const own = cursors.filter((c) => c.exporter === name);
    const streams = await Promise.all(own.map(async (c): Promise<StreamHealth> => {
      const lag = await source.lag(c.stream, c.position);
      return {
        stream: c.stream,
        lag_records: lag.records,
        lag_seconds: lag.oldestMs === undefined ? 0 : Math.max(0, Math.round((now - lag.oldestMs) / 1000)),
        position_at: lag.positionMs === undefined ? null : new Date(lag.positionMs).toISOString(),
        last_success_at: c.updated_at,
        sent: 0,
      };
    }));
    const moved = own.map((c) => c.updated_at).sort().at(-1) ?? null;
    return {
      name, type: '', state: 'unknown', streams, last_success_at: moved, last_error: null,
      errors: { retryable: 0, failure: 0, dead_letter: 0, store: 0 }, dead_letters: dead.get(name) ?? 0,
    };
  }));
}
