// Which event ids of a batch the store already holds. Binding 10k ids as a query parameter costs more than
// the insert itself, so the lookup goes the other way: it asks for the ids stored in the batch's time
// windows, for the batch's subaccounts and emitters (the sort key and part min/max indexes prune the
// rest), and the writer compares them with a Set. Live batches cover a second or two, so the answer is
// small; a replay of duplicates returns about one batch of ids.
import type { ClickHouseClient } from '@clickhouse/client';
import type { PreparedAuditRow } from './audit-row.js';

/** Events further apart than this start a new window, so one late event does not widen the scan. */
const WINDOW_GAP_MS = 60_000;
/** At most this many windows per lookup; beyond it the closest ones are merged. */
const MAX_WINDOWS = 8;

export interface TimeWindow {
  from: number;
  to: number;
}

/** Time windows covering every row, each as tight as the gaps between event times allow. */
export function timeWindows(times: readonly number[]): TimeWindow[] {
  if (times.length === 0) return [];
  const sorted = Float64Array.from(times).sort();
  const windows: TimeWindow[] = [];
  let current: TimeWindow = { from: sorted[0] as number, to: sorted[0] as number };
  for (let i = 1; i < sorted.length; i++) {
    const t = sorted[i] as number;
    if (t - current.to > WINDOW_GAP_MS) {
      windows.push(current);
      current = { from: t, to: t };
    } else current.to = t;
  }
  windows.push(current);
  while (windows.length > MAX_WINDOWS) {
    let best = 0;
    for (let i = 1; i < windows.length - 1; i++) {
      if ((windows[i + 1] as TimeWindow).from - (windows[i] as TimeWindow).to < (windows[best + 1] as TimeWindow).from - (windows[best] as TimeWindow).to) best = i;
    }
    const [a, b] = windows.splice(best, 2) as [TimeWindow, TimeWindow];
    windows.splice(best, 0, { from: a.from, to: b.to });
  }
  return windows;
}

function dateTime64(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/** The SELECT for one table; the SQL text only varies with the number of windows, values are bound. */
function lookupSql(table: string, windows: number): string {
  const ranges = Array.from({ length: windows }, (_, i) => `(ts >= {from${i}:DateTime64(3, 'UTC')} AND ts <= {to${i}:DateTime64(3, 'UTC')})`);
  return `SELECT event_id FROM ${table} WHERE subaccount IN {subaccounts:Array(String)} AND (${ranges.join(' OR ')}) AND emitter_id IN {emitters:Array(String)}`;
}

/**
 * The ids among rows that audit_events or audit_events_archive already hold. Table names are fixed
 * here, never input.
 */
export async function findExistingIds(client: ClickHouseClient, rows: readonly PreparedAuditRow[]): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const subaccounts = new Set<string>();
  const emitters = new Set<string>();
  const times = new Array<number>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as PreparedAuditRow;
    subaccounts.add(row.event.subaccount);
    emitters.add(row.event.emitter_id);
    times[i] = row.tsMs;
  }
  const windows = timeWindows(times);
  const params: Record<string, unknown> = { subaccounts: [...subaccounts], emitters: [...emitters] };
  windows.forEach((w, i) => {
    params[`from${i}`] = dateTime64(w.from);
    params[`to${i}`] = dateTime64(w.to);
  });
  const query = `${lookupSql('audit_events', windows.length)} UNION ALL ${lookupSql('audit_events_archive', windows.length)}`;
  // One JSON document: a single JSON.parse for the whole answer instead of one per row.
  const result = await client.query({ query, query_params: params, format: 'JSONCompact' });
  const doc = (await result.json()) as unknown as { data: [string][] };
  const ids = new Set<string>();
  for (const [id] of doc.data) ids.add(id);
  return ids;
}
