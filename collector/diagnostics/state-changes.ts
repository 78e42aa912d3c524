// Backend checks become events when a backend's state changes (issue 7): going down, recovering, and a
// TLS certificate that starts to expire soon. Each change is a finding of detector `backend_health` (the
// findings store, so the SIEM exporters send it and the Findings page lists it) and an admin audit event.
//
// A backend is (connector, subaccount, virtual host): each report is compared with the one before it, the
// latest stored or an earlier one of the same batch. A report older than what is stored is history only.
// Ids are stable per backend and episode (the first down check, the recovering check, the certificate's
// expiry), so a re-sent batch finds its reports stored and changes nothing, and a retry after a partial
// failure rewrites the same findings; an admin event is written once per finding id. The reports are
// inserted last, so a failure before that leaves them unstored and the sender's retry redoes the work.
import { createHash } from 'node:crypto';
import type { Logger } from '../../common/log.js';
import type { CheckReport, CheckStep } from '../../connector/diagnostics/types.js';
import { collectorAdminTrail } from '../admin-trail.js';
import type { AdminAudit, AdminEventInput } from '../../dashboard/context.js';
import { readFindingsById, writeFindings } from '../detect/findings-store.js';
import type { Finding, Severity } from '../detect/types.js';
import { backendKey, insertCheckRows, latestChecks, normalisedReport, readChecks, runStart, splitExpired, storedCheckIds } from '../store/backend-checks.js';
import type { Store } from '../store/store.js';

export const DETECTOR = 'backend_health';
export const EXPIRING = 'tls_expiring_soon';
/** A down finding's window starts at the last good check, at most this long before the first failing one. */
const TRANSITION_MS = 10 * 60_000;

export type ChangeKind = 'down' | 'recovered' | 'cert_expiring';

export interface StateChange {
  readonly kind: ChangeKind;
  readonly report: CheckReport;
  /** The check before it; undefined for a backend's first check. */
  readonly previous: CheckReport | undefined;
  /** recovered: when the down run began, when the batch itself shows it. */
  readonly downSince?: string;
}

const ACTIONS: Record<ChangeKind, string> = { down: 'backend.state_change', recovered: 'backend.state_change', cert_expiring: 'backend.cert_expiring' };

function expiringStep(r: CheckReport | undefined): CheckStep | undefined {
  return r?.steps.find((s) => s.classification === EXPIRING);
}

/** Which certificate a warning is about: its expiry, else its subject (one warning per certificate). */
function certOf(step: CheckStep): string {
  const d = step.detail;
  return String(d.valid_to ?? d.subject ?? '');
}

/**
 * The changes a batch shows, in time order per backend. `latest` holds the latest stored report of each
 * backend (by backendKey); `reports` are new (not stored) and normalised.
 */
export function stateChanges(reports: readonly CheckReport[], latest: ReadonlyMap<string, CheckReport>): StateChange[] {
  const byKey = new Map<string, CheckReport[]>();
  for (const r of reports) byKey.set(backendKey(r), [...(byKey.get(backendKey(r)) ?? []), r]);
  const changes: StateChange[] = [];
  for (const [key, list] of byKey) {
    let previous = latest.get(key);
    let downSince: string | undefined;
    for (const r of [...list].sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at))) {
      if (previous && Date.parse(r.started_at) <= Date.parse(previous.started_at)) continue;
      if (r.state === 'down' && previous?.state !== 'down') {
        changes.push({ kind: 'down', report: r, previous });
        downSince = r.started_at;
      } else if (r.state !== 'down' && previous?.state === 'down') {
        changes.push({ kind: 'recovered', report: r, previous, ...(downSince ? { downSince } : {}) });
      }
      const step = expiringStep(r);
      const before = expiringStep(previous);
      if (step && (!before || certOf(before) !== certOf(step))) changes.push({ kind: 'cert_expiring', report: r, previous });
      previous = r;
    }
  }
  return changes;
}

function findingId(kind: ChangeKind, r: CheckReport, anchor: string): string {
  const digest = createHash('sha256').update([kind, r.connector_id, r.subaccount, r.virtual_host, anchor].join('\u0000')).digest('hex');
  return `${DETECTOR}:${digest.slice(0, 40)}`;
}

function span(fromIso: string, toIso: string): string {
  const min = Math.max(0, Math.round((Date.parse(toIso) - Date.parse(fromIso)) / 60_000));
  if (min < 60) return `${min} min`;
  if (min < 2880) return `${Math.floor(min / 60)} h ${min % 60} min`;
  return `${Math.round(min / 1440)} days`;
}

function endOf(r: CheckReport): string {
  return new Date(Date.parse(r.started_at) + r.duration_ms).toISOString();
}

/** The finding of one change; `downSince` is when the down run that a recovery ends began. */
export function findingOf(c: StateChange, downSince?: string): Finding {
  const r = c.report;
  const p = c.previous;
  const where = `${r.virtual_host} in ${r.subaccount}`;
  const by = `connector ${r.connector_id}${r.location_id ? ` (location ${r.location_id})` : ''}, ${r.trigger} check`;
  const before = p ? `The check before (${p.check_id} at ${p.started_at}) found it ${p.state}: ${p.summary}.` : 'It is the first check of this backend.';
  const base = {
    detector: DETECTOR, subaccount: r.subaccount, entity_type: 'backend', entity: `${r.subaccount}/${r.virtual_host}`,
  };
  const evidence = {
    check_ids: p ? [p.check_id, r.check_id] : [r.check_id],
    connector_id: r.connector_id, location_id: r.location_id, virtual_host: r.virtual_host, internal_host: r.internal_host,
    previous_state: p?.state ?? '', state: r.state, classification: r.classification,
  };
  const make = (severity: Severity, score: number, anchor: string, rest: Omit<Finding, 'finding_id' | 'severity' | 'score' | 'detector' | 'subaccount' | 'entity_type' | 'entity'>): Finding =>
    ({ finding_id: findingId(c.kind, r, anchor), severity, score, ...base, ...rest });
  if (c.kind === 'down') {
    const failed = r.steps.find((s) => s.outcome === 'fail');
    // The backend went down between the last good check and this one (bounded, for sparse checks).
    const start = p ? Math.max(Date.parse(p.started_at), Date.parse(r.started_at) - TRANSITION_MS) : Date.parse(r.started_at);
    return make('high', 80, r.started_at, {
      window_start: new Date(start).toISOString(), window_end: endOf(r),
      title: `Backend ${where} is down: ${r.classification}`,
      explanation: `Check ${r.check_id} at ${r.started_at} (${by}) could not reach ${r.internal_host}: `
        + `${failed ? `the ${failed.step} step failed (${failed.classification}): ${failed.message}` : r.summary}. ${before} Down since ${r.started_at}.`
        + `${failed?.fix ? ` Suggested fix: ${failed.fix}` : ''}`,
      evidence: { ...evidence, failed_step: failed?.step ?? '', fix: failed?.fix ?? '', down_since: r.started_at },
    });
  }
  if (c.kind === 'recovered') {
    const since = downSince ?? p?.started_at ?? r.started_at;
    return make('low', 10, r.started_at, {
      window_start: since, window_end: endOf(r),
      title: `Backend ${where} is reachable again`,
      explanation: `Check ${r.check_id} at ${r.started_at} (${by}) found it ${r.state}: ${r.summary}. It was down from ${since} for ${span(since, r.started_at)};`
        + ` the last failing check (${p?.check_id ?? '?'} at ${p?.started_at ?? '?'}) said: ${p?.summary ?? ''}.`,
      evidence: { ...evidence, down_since: since, down_ms: Date.parse(r.started_at) - Date.parse(since) },
    });
  }
  const step = expiringStep(r) as CheckStep;
  const d = step.detail;
  const days = typeof d.days_left === 'number' ? d.days_left : undefined;
  return make('medium', days !== undefined && days <= 7 ? 70 : 50, certOf(step) || r.started_at, {
    window_start: r.started_at, window_end: endOf(r),
    title: `TLS certificate of ${r.internal_host} (${where}) expires ${days !== undefined ? `in ${days} days` : 'soon'}`,
    explanation: `Check ${r.check_id} at ${r.started_at} (${by}): ${step.message}.${d.valid_to ? ` Valid until ${String(d.valid_to)}.` : ''}`
      + `${step.fix ? ` Suggested fix: ${step.fix}` : ''}`,
    evidence: { ...evidence, valid_to: d.valid_to ?? '', days_left: days ?? null, subject: d.subject ?? '', issuer: d.issuer ?? '' },
  });
}

/**
 * The down finding of the run a recovery ends, closed: its window spans the outage and it says when and
 * after how long it ended (the exporters send it again as an update). Closing it twice changes nothing.
 */
export function closedDownFinding(down: Finding, recovered: CheckReport, since: string): Finding {
  if (down.evidence.recovered_check_id === recovered.check_id) return down;
  const lasted = span(since, recovered.started_at);
  return {
    ...down,
    window_end: endOf(recovered),
    title: down.title.replace(' is down: ', ` was down for ${lasted}: `),
    explanation: `${down.explanation} It recovered at ${recovered.started_at} (check ${recovered.check_id}) after ${lasted}.`,
    evidence: { ...down.evidence, recovered_at: recovered.started_at, recovered_check_id: recovered.check_id, down_ms: Date.parse(recovered.started_at) - Date.parse(since) },
  };
}

/** The findings to write: new ones, with the down findings that recoveries end closed (from this batch or the store). */
async function withClosedDowns(store: Store, changes: readonly StateChange[], sinces: readonly (string | undefined)[], findings: readonly Finding[]): Promise<Finding[]> {
  const out = [...findings];
  const wanted = new Map<string, { report: CheckReport; since: string }>();
  changes.forEach((c, i) => {
    const since = sinces[i];
    if (c.kind === 'recovered' && since) wanted.set(findingId('down', c.report, since), { report: c.report, since });
  });
  for (const [j, f] of out.entries()) {
    const w = wanted.get(f.finding_id);
    if (!w) continue;
    out[j] = closedDownFinding(f, w.report, w.since);
    wanted.delete(f.finding_id);
  }
  for (const stored of await readFindingsById(store, [...wanted.keys()])) {
    const { first_detected_at: _first, detected_at: _at, ...f } = stored;
    const w = wanted.get(f.finding_id);
    if (w) out.push(closedDownFinding(f, w.report, w.since));
  }
  return out;
}

function adminEventOf(c: StateChange, f: Finding): AdminEventInput {
  const r = c.report;
  const p = c.previous;
  return {
    action: ACTIONS[c.kind], outcome: 'success', actor: r.connector_id, actor_role: 'connector', via: r.trigger,
    target: `${r.subaccount}/${r.virtual_host}`, client_ip: '', user_agent: '', reason: f.title,
    before: p ? JSON.stringify({ state: p.state, classification: p.classification, check_id: p.check_id, started_at: p.started_at }) : '',
    after: JSON.stringify({ change: c.kind, state: r.state, classification: r.classification, check_id: r.check_id, started_at: r.started_at, finding_id: f.finding_id, severity: f.severity }),
  };
}

/** Finding ids that already have their admin event (a retry after a partial failure must not repeat it). */
async function recordedFindings(store: Store, changes: readonly StateChange[]): Promise<Set<string>> {
  if (changes.length === 0) return new Set();
  const rows = await store.query<{ after: string }>(
    'SELECT after FROM admin_events WHERE action IN {actions:Array(String)} AND target IN {targets:Array(String)}',
    { actions: [...new Set(Object.values(ACTIONS))], targets: [...new Set(changes.map((c) => `${c.report.subaccount}/${c.report.virtual_host}`))] },
  );
  const ids = new Set<string>();
  for (const { after } of rows) {
    try {
      ids.add(String((JSON.parse(after) as { finding_id?: unknown }).finding_id ?? ''));
    } catch {
      // Not ours: an admin event of another shape under the same action.
    }
  }
  return ids;
}

export interface CheckIngestResult {
  /** New reports, now stored. */
  readonly accepted: number;
  /** Reports already stored (or repeated within the batch): nothing written for them. */
  readonly duplicates: number;
  /** Reports older than the checks retention: not stored (the TTL would drop them at once). */
  readonly expired: number;
  /** State changes found (each a finding and an admin event). */
  readonly state_changes: number;
}

export interface CheckIngest {
  /** Stores reports (validated against tunnelwatch.checks/1) and acts on state changes; resolves after the commit. */
  ingest(reports: readonly CheckReport[]): Promise<CheckIngestResult>;
}

export interface CheckIngestOptions {
  /** Where admin events go: the dashboard's trail, or the collector's own (created on first use). */
  readonly audit: AdminAudit | (() => Promise<AdminAudit>);
  readonly log: Logger;
}

// One batch at a time per store in this process: two batches of one backend must not both compare with
// the same stored report.
const chains = new WeakMap<Store, Promise<unknown>>();

export function createCheckIngest(store: Store, options: CheckIngestOptions): CheckIngest {
  const trail = async (): Promise<AdminAudit> => (typeof options.audit === 'function' ? options.audit() : options.audit);

  async function run(input: readonly CheckReport[]): Promise<CheckIngestResult> {
    const seen = new Set<string>();
    const unique = input.filter((r) => !seen.has(r.check_id) && seen.add(r.check_id)).map(normalisedReport);
    const { kept, expired } = splitExpired(store, unique);
    const stored = await storedCheckIds(store, kept);
    const fresh = kept.filter((r) => !stored.has(r.check_id));
    const latestIds = await latestChecks(store, fresh);
    const latest = new Map((await readChecks(store, [...new Set(fresh.map((r) => r.subaccount))], [...latestIds.values()].map((l) => l.check_id)))
      .map((r) => [backendKey(r), r] as const));
    const changes = stateChanges(fresh, latest);
    const sinces = await Promise.all(changes.map(async (c) => (c.kind === 'recovered'
      ? c.downSince ?? (c.previous ? await runStart(store, c.report, 'down', c.previous.started_at) : undefined)
      : undefined)));
    const findings = changes.map((c, i) => findingOf(c, sinces[i]));
    await writeFindings(store, await withClosedDowns(store, changes, sinces, findings));
    const recorded = await recordedFindings(store, changes);
    for (const [i, c] of changes.entries()) {
      const f = findings[i] as Finding;
      if (recorded.has(f.finding_id)) continue;
      await (await trail()).record(adminEventOf(c, f));
      recorded.add(f.finding_id);
      options.log.info({ change: c.kind, subaccount: c.report.subaccount, virtual_host: c.report.virtual_host, check_id: c.report.check_id, finding_id: f.finding_id }, 'backend state change');
    }
    await insertCheckRows(store, fresh);
    if (expired.length > 0) options.log.warn({ expired: expired.length, retention_days: store.retention.checksDays }, 'backend checks older than the retention were not stored');
    return { accepted: fresh.length, duplicates: input.length - fresh.length - expired.length, expired: expired.length, state_changes: changes.length };
  }

  return {
    ingest(reports) {
      const next = (chains.get(store) ?? Promise.resolve()).then(() => run(reports));
      chains.set(store, next.catch(() => undefined));
      return next;
    },
  };
}

/** The collector's ingest: admin events in its own chain (`collector@<host>`), created on first use. */
export function collectorCheckIngest(store: Store, log: Logger): CheckIngest {
  return createCheckIngest(store, { audit: collectorAdminTrail(store, log), log: log.child({ component: 'collector.checks' }) });
}
