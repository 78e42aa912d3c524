// Reading the findings table (migration 0012, written by the detectors) for the dashboard: findings whose
// window overlaps a range, in a subaccount scope, newest window first, each read once (FINAL).
import type { Finding, Severity } from '../../collector/detect/types.js';
import type { DashboardContext } from '../context.js';
import { chTime, isoTime, num, query } from './query-kit.js';

export interface StoredFinding extends Finding {
  readonly first_detected_at: string;
  readonly detected_at: string;
}

export interface FindingFilter {
  readonly from: Date;
  readonly to: Date;
  /** undefined = every subaccount (and cross-subaccount findings); else only these. */
  readonly subaccounts?: readonly string[];
  readonly detectors?: readonly string[];
  readonly minSeverity?: Severity;
  readonly limit: number;
}

const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];
const COLUMNS = 'finding_id, detector, severity, score, subaccount, entity_type, entity, window_start, window_end, title, explanation, evidence, first_detected_at, detected_at';

function fromRow(r: Record<string, unknown>): StoredFinding {
  let evidence: Finding['evidence'];
  try {
    evidence = JSON.parse(String(r.evidence)) as Finding['evidence'];
  } catch {
    evidence = { unreadable: String(r.evidence).slice(0, 200) };
  }
  return {
    finding_id: String(r.finding_id),
    detector: String(r.detector),
    severity: String(r.severity) as Severity,
    score: Math.round(num(r.score) * 100) / 100,
    subaccount: String(r.subaccount),
    entity_type: String(r.entity_type),
    entity: String(r.entity),
    window_start: isoTime(r.window_start),
    window_end: isoTime(r.window_end),
    title: String(r.title),
    explanation: String(r.explanation),
    evidence,
    first_detected_at: isoTime(r.first_detected_at),
    detected_at: isoTime(r.detected_at),
  };
}

export async function readFindings(ctx: DashboardContext, f: FindingFilter): Promise<StoredFinding[]> {
  const where = ["window_end > {from:DateTime64(3, 'UTC')}", "window_start < {to:DateTime64(3, 'UTC')}"];
  const params: Record<string, unknown> = { from: chTime(f.from), to: chTime(f.to), limit: f.limit };
  if (f.subaccounts) {
    where.push('subaccount IN {subs:Array(String)}');
    params.subs = f.subaccounts;
  }
  if (f.detectors) {
    where.push('detector IN {detectors:Array(String)}');
    params.detectors = f.detectors;
  }
  if (f.minSeverity) {
    where.push('severity IN {severities:Array(String)}');
    params.severities = SEVERITIES.slice(SEVERITIES.indexOf(f.minSeverity));
  }
  const rows = await query(ctx, `SELECT ${COLUMNS} FROM findings FINAL WHERE ${where.join(' AND ')} ORDER BY window_start DESC, finding_id LIMIT {limit:UInt32}`, params);
  return rows.map(fromRow);
}

export async function readFinding(ctx: DashboardContext, id: string): Promise<StoredFinding | undefined> {
  const rows = await query(ctx, `SELECT ${COLUMNS} FROM findings FINAL WHERE finding_id = {id:String}`, { id });
  return rows[0] ? fromRow(rows[0]) : undefined;
}
