// Findings in ClickHouse (table `findings`, migration 0012): written as new versions of the same
// finding_id (ReplacingMergeTree(version)), read with FINAL. A finding whose content did not change is not
// written again, so a live runner that sees the same window every tick does not pile up versions, and
// first_detected_at keeps the moment it was first flagged (the detection delay).
import type { Store } from '../store/store.js';
import { chTime, n } from './sql.js';
import type { Finding, Severity } from './types.js';

export interface StoredFinding extends Finding {
  /** RFC 3339: when this finding was first written, and when its current version was. */
  readonly first_detected_at: string;
  readonly detected_at: string;
}

export interface WriteResult {
  /** Findings not stored before. */
  readonly created: Finding[];
  /** Findings stored before whose content changed (window grew, score rose, ...). */
  readonly updated: Finding[];
  readonly unchanged: number;
}

/** A row of `findings` as JSONEachRow returns it (64-bit integers may come quoted). */
export interface FindingRow {
  finding_id: string;
  detector: string;
  severity: string;
  score: number;
  subaccount: string;
  entity_type: string;
  entity: string;
  window_start: string;
  window_end: string;
  title: string;
  explanation: string;
  evidence: string;
  first_detected_at: string;
  detected_at: string;
  version: string | number;
}

/** The columns findingFromRow() reads, for SELECT lists. */
export const FINDING_COLUMNS = 'finding_id, detector, severity, score, subaccount, entity_type, entity, window_start, window_end, title, explanation, evidence, first_detected_at, detected_at, version';

/** What makes two versions of a finding the same (the time it was written does not). */
function content(f: Finding): string {
  return JSON.stringify([f.detector, f.severity, Math.round(f.score * 100) / 100, f.subaccount, f.entity_type, f.entity, f.window_start, f.window_end, f.title, f.explanation, f.evidence]);
}

let lastVersion = 0;

export async function writeFindings(store: Store, findings: readonly Finding[], now: Date = new Date()): Promise<WriteResult> {
  if (findings.length === 0) return { created: [], updated: [], unchanged: 0 };
  const existing = new Map<string, StoredFinding>();
  for (let i = 0; i < findings.length; i += 5000) {
    const ids = findings.slice(i, i + 5000).map((f) => f.finding_id);
    for (const f of await readFindingsById(store, ids)) existing.set(f.finding_id, f);
  }
  // Versions rise strictly within this process even when two writes share a millisecond.
  const version = Math.max(now.getTime(), lastVersion + 1);
  lastVersion = version;
  const created: Finding[] = [];
  const updated: Finding[] = [];
  const rows: FindingRow[] = [];
  for (const f of findings) {
    const before = existing.get(f.finding_id);
    if (before && content(before) === content(f)) continue;
    (before ? updated : created).push(f);
    rows.push({
      ...f,
      window_start: chTime(Date.parse(f.window_start)),
      window_end: chTime(Date.parse(f.window_end)),
      evidence: JSON.stringify(f.evidence),
      first_detected_at: chTime(before ? Date.parse(before.first_detected_at) : now.getTime()),
      detected_at: chTime(now.getTime()),
      version,
    });
  }
  if (rows.length > 0) await store.client.insert({ table: 'findings', values: rows, format: 'JSONEachRow' });
  return { created, updated, unchanged: findings.length - rows.length };
}

export interface FindingQuery {
  /** Findings whose window overlaps [from, to). */
  readonly from?: Date;
  readonly to?: Date;
  /** Only these subaccounts ('' included, for cross-subaccount findings, only when listed). */
  readonly subaccounts?: readonly string[];
  readonly detectors?: readonly string[];
  readonly minSeverity?: Severity;
  /** Newest window first; default 1000. */
  readonly limit?: number;
}

const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];

export async function readFindings(store: Store, q: FindingQuery = {}): Promise<StoredFinding[]> {
  const where: string[] = [];
  const params: Record<string, unknown> = { limit: q.limit ?? 1000 };
  if (q.from) {
    where.push('window_end > {from:DateTime64(3, \'UTC\')}');
    params.from = chTime(q.from.getTime());
  }
  if (q.to) {
    where.push('window_start < {to:DateTime64(3, \'UTC\')}');
    params.to = chTime(q.to.getTime());
  }
  if (q.subaccounts) {
    where.push('subaccount IN {subs:Array(String)}');
    params.subs = q.subaccounts;
  }
  if (q.detectors) {
    where.push('detector IN {detectors:Array(String)}');
    params.detectors = q.detectors;
  }
  if (q.minSeverity) {
    where.push('severity IN {severities:Array(String)}');
    params.severities = SEVERITIES.slice(SEVERITIES.indexOf(q.minSeverity));
  }
  const rows = await store.query<FindingRow>(
    `SELECT ${FINDING_COLUMNS} FROM findings FINAL ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY window_start DESC, finding_id LIMIT {limit:UInt32}`,
    params,
  );
  return rows.map(findingFromRow);
}

export async function readFindingsById(store: Store, ids: readonly string[]): Promise<StoredFinding[]> {
  if (ids.length === 0) return [];
  const rows = await store.query<FindingRow>(`SELECT ${FINDING_COLUMNS} FROM findings FINAL WHERE finding_id IN {ids:Array(String)}`, { ids });
  return rows.map(findingFromRow);
}

function iso(text: string): string {
  return `${text.replace(' ', 'T')}Z`;
}

/** A stored row back as the finding it was, with its write times. */
export function findingFromRow(r: FindingRow): StoredFinding {
  return {
    finding_id: r.finding_id,
    detector: r.detector,
    severity: r.severity as Severity,
    score: Math.round(n(r.score) * 100) / 100,
    subaccount: r.subaccount,
    entity_type: r.entity_type,
    entity: r.entity,
    window_start: iso(r.window_start),
    window_end: iso(r.window_end),
    title: r.title,
    explanation: r.explanation,
    evidence: JSON.parse(r.evidence) as Finding['evidence'],
    first_detected_at: iso(r.first_detected_at),
    detected_at: iso(r.detected_at),
  };
}
