// Findings for the exporters, by (version, finding_id), from findings FINAL. A finding's version is the
// time (ms) its writer stored it, so an updated finding (same id, later window end or higher score) comes
// back as a new record "<finding_id>:<version>" after the cursor, and the receiver takes it as a new
// document. FINAL applies before the WHERE on version (the engine's default), so a version replaced before
// it was read is never sent; its successor is.
import { FINDING_COLUMNS, findingFromRow, type FindingRow } from '../detect/findings-store.js';
import type { Store } from '../store/store.js';
import { decodePosition, encodePosition, type PositionedRecord, type SourceOptions, type StreamLag } from './source.js';

const AFTER = '(version, finding_id) > ({v:UInt64}, {id:String})';

export async function readFindings(store: Store, options: SourceOptions, position: string | undefined, limit: number): Promise<PositionedRecord[]> {
  const [v, id] = decodePosition(position, 0);
  // Versions come from the writer's clock (Date.now() in the collector, which runs this too).
  const upto = Date.now() - options.settleMs;
  const rows = await store.query<FindingRow>(
    `SELECT ${FINDING_COLUMNS} FROM findings FINAL WHERE ${AFTER} AND version <= {upto:UInt64} ORDER BY version, finding_id LIMIT {limit:UInt32}`,
    { v, id, upto, limit },
  );
  return rows.map((r) => {
    const version = Number(r.version);
    return { record: { stream: 'findings', id: `${r.finding_id}:${version}`, finding: findingFromRow(r) }, position: encodePosition(version, r.finding_id) };
  });
}

export async function findingsLag(store: Store, position: string | undefined): Promise<StreamLag> {
  const [v, id] = decodePosition(position, 0);
  const [row] = await store.query<{ n: string; oldest: string }>(`SELECT count() AS n, min(version) AS oldest FROM findings FINAL WHERE ${AFTER}`, { v, id });
  const records = Number(row?.n ?? 0);
  return { records, oldestMs: records > 0 ? Number(row?.oldest) : undefined, positionMs: position ? v : undefined };
}
