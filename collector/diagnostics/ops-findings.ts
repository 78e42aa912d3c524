// Operational alerts (docs/alerts.md) become findings of detector `ops_<type>` (the findings store, so the
// SIEM exporters and the webhook deliver them like any finding) and admin events `ops.<type>` in the
// collector's own chain, as backend state changes do (state-changes.ts).
//
// One finding per episode: its id is a digest of (type, emitter id, subject, episode), so a re-sent event,
// a higher severity and the resolution all update the same finding (a new version, which the exporters
// send again). A resolved finding keeps its severity and says when it ended and after how long
// (evidence.state, recovered_at, duration_ms). A subject has at most one open episode per type: a new
// episode closes older ones (the emitter restarted in between), and a resolved event without an episode
// (a "clear": the emitter found nothing wrong at start) closes whatever is open for the subject. Admin
// events are written once per (finding, state, severity), so a re-sent batch adds none.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { resolveFrom } from '../../common/config/load-config.js';
import type { Logger } from '../../common/log.js';
import { startCertAlerts } from '../../common/ops/cert-alerts.js';
import type { OpsBatch, OpsEvent, OpsType } from '../../common/ops/ops-events.js';
import type { AdminAudit, AdminEventInput } from '../../dashboard/context.js';
import { collectorAdminTrail } from '../admin-trail.js';
import { FINDING_COLUMNS, findingFromRow, readFindingsById, writeFindings, type FindingRow } from '../detect/findings-store.js';
import type { Finding, Severity } from '../detect/types.js';
import type { Store } from '../store/store.js';
import { opsTexts } from './ops-texts.js';

export const DEFAULT_SEVERITY: Record<OpsType, Severity> = { tunnel_down: 'high', failover: 'medium', spool_filling: 'medium', cert_expiring: 'medium', exporter_stuck: 'high' };
const ENTITY_TYPE: Record<OpsType, string> = { tunnel_down: 'connector', failover: 'connector', spool_filling: 'emitter', cert_expiring: 'certificate', exporter_stuck: 'exporter' };
const SCORE: Record<Severity, number> = { low: 20, medium: 50, high: 80, critical: 95 };
const RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };
/** A failover happened and is over: it never resolves. */
const RESOLVABLE = (t: OpsType): boolean => t !== 'failover';

export type OpsFindingState = 'firing' | 'resolved' | 'occurred';

/** What evidence an ops finding carries (docs/alerts.md). */
export interface OpsEvidence {
  alert: OpsType;
  state: OpsFindingState;
  emitter: string;
  emitter_id: string;
  subject: string;
  episode: string;
  since: string;
  last_at: string;
  recovered_at?: string;
  duration_ms?: number;
  /** recovered: the emitter saw it end; cleared: the emitter found it fine after a restart; superseded: a newer episode of the subject began. */
  resolution?: 'recovered' | 'cleared' | 'superseded';
  detail: Record<string, unknown>;
}

export function opsFindingId(type: OpsType, emitterId: string, subject: string, episode: string): string {
  const digest = createHash('sha256').update([type, emitterId, subject, episode].join('\u0000')).digest('hex');
  return `ops_${type}:${digest.slice(0, 40)}`;
}

const evidenceOf = (f: Finding): OpsEvidence => f.evidence as unknown as OpsEvidence;
const isOpen = (f: Finding): boolean => evidenceOf(f).state === 'firing';

/** The finding with its title and explanation written for its evidence. */
function finish(f: Omit<Finding, 'title' | 'explanation' | 'score'>): Finding {
  const ev = f.evidence as unknown as OpsEvidence;
  return { ...f, score: SCORE[f.severity], ...opsTexts(ev) };
}

function closed(f: Finding, at: string, resolution: NonNullable<OpsEvidence['resolution']>, detail: Record<string, unknown> = {}): Finding {
  const ev = evidenceOf(f);
  const end = Math.max(Date.parse(at), Date.parse(ev.since));
  const evidence: OpsEvidence = {
    ...ev, state: 'resolved', recovered_at: new Date(end).toISOString(), duration_ms: end - Date.parse(ev.since), resolution, detail: { ...ev.detail, ...detail },
  };
  const { title: _t, explanation: _e, score: _s, ...rest } = f;
  return finish({ ...rest, window_end: new Date(Math.max(end, Date.parse(f.window_end))).toISOString(), evidence: evidence as unknown as Finding['evidence'] });
}

interface Batch { readonly emitter: string; readonly emitter_id: string; readonly events: readonly OpsEvent[] }

/** Applies events (in time order) to the findings they touch; `work` holds those findings by id and is updated. */
export function applyOpsEvents(batch: Batch, work: Map<string, Finding>): Set<string> {
  const touched = new Set<string>();
  const openOf = (detector: string, subject: string, before: number): Finding[] =>
    [...work.values()].filter((f) => f.detector === detector && f.entity === subject && isOpen(f) && Date.parse(f.window_start) <= before);
  const events = [...batch.events].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  for (const e of events) {
    const detector = `ops_${e.type}`;
    const id = e.episode === undefined ? undefined : opsFindingId(e.type, batch.emitter_id, e.subject, e.episode);
    const at = new Date(e.at).toISOString();
    const since = new Date(e.since ?? e.at).toISOString();
    const existing = id ? work.get(id) : undefined;
    if (e.state === 'firing' && id) {
      if (existing && evidenceOf(existing).state === 'resolved') continue;
      if (!existing && RESOLVABLE(e.type)) {
        for (const old of openOf(detector, e.subject, Date.parse(since))) {
          work.set(old.finding_id, closed(old, since, 'superseded'));
          touched.add(old.finding_id);
        }
      }
      const ev = existing ? evidenceOf(existing) : undefined;
      const asked = e.severity ?? DEFAULT_SEVERITY[e.type];
      const severity = existing && RANK[existing.severity] > RANK[asked] ? existing.severity : asked;
      const start = existing ? Math.min(Date.parse(existing.window_start), Date.parse(since)) : Date.parse(since);
      const evidence: OpsEvidence = {
        alert: e.type, state: RESOLVABLE(e.type) ? 'firing' : 'occurred', emitter: batch.emitter, emitter_id: batch.emitter_id, subject: e.subject,
        episode: e.episode as string, since: new Date(start).toISOString(), last_at: ev && Date.parse(ev.last_at) > Date.parse(at) ? ev.last_at : at,
        detail: { ...(ev?.detail ?? {}), ...e.detail },
      };
      work.set(id, finish({
        finding_id: id, detector, severity, subaccount: '', entity_type: ENTITY_TYPE[e.type], entity: e.subject,
        window_start: new Date(start).toISOString(), window_end: new Date(Math.max(existing ? Date.parse(existing.window_end) : 0, Date.parse(at))).toISOString(),
        evidence: evidence as unknown as Finding['evidence'],
      }));
      touched.add(id);
      continue;
    }
    if (e.state !== 'resolved' || !RESOLVABLE(e.type)) continue;
    const own = existing && isOpen(existing) ? [existing] : [];
    if (existing && !own.length) {
      touched.add(existing.finding_id);
      continue;
    }
    const targets = own.length ? own : openOf(detector, e.subject, Date.parse(at));
    for (const f of targets) {
      work.set(f.finding_id, closed(f, at, f === existing ? 'recovered' : 'cleared', e.detail));
      touched.add(f.finding_id);
    }
  }
  return touched;
}

/** The admin event that records a finding's current state. */
function adminEventOf(f: Finding): AdminEventInput {
  const ev = evidenceOf(f);
  return {
    action: `ops.${ev.alert}`, outcome: 'success', actor: ev.emitter_id, actor_role: ev.emitter, via: 'ops', target: ev.subject,
    client_ip: '', user_agent: '', reason: f.title, before: '',
    after: JSON.stringify({ transition: transitionOf(f), finding_id: f.finding_id, state: ev.state, severity: f.severity, episode: ev.episode, since: ev.since, recovered_at: ev.recovered_at ?? '' }),
  };
}

const transitionOf = (f: Finding): string => `${f.finding_id}|${evidenceOf(f).state}|${f.severity}`;

async function recordedTransitions(store: Store, findings: readonly Finding[]): Promise<Set<string>> {
  if (findings.length === 0) return new Set();
  const rows = await store.query<{ after: string }>(
    'SELECT after FROM admin_events WHERE action IN {actions:Array(String)} AND target IN {targets:Array(String)}',
    { actions: [...new Set(findings.map((f) => `ops.${evidenceOf(f).alert}`))], targets: [...new Set(findings.map((f) => f.entity))] },
  );
  const out = new Set<string>();
  for (const { after } of rows) {
    try {
      out.add(String((JSON.parse(after) as { transition?: unknown }).transition ?? ''));
    } catch {
      // Another shape under the same action: not ours.
    }
  }
  return out;
}

/** The stored findings a batch may touch: its episodes, and what is open for its subjects. */
async function loadWork(store: Store, batch: Batch): Promise<Map<string, Finding>> {
  const ids = [...new Set(batch.events.filter((e) => e.episode !== undefined).map((e) => opsFindingId(e.type, batch.emitter_id, e.subject, e.episode as string)))];
  const resolvable = batch.events.filter((e) => RESOLVABLE(e.type));
  const stored = [...await readFindingsById(store, ids)];
  if (resolvable.length > 0) {
    const rows = await store.query<FindingRow>(
      `SELECT ${FINDING_COLUMNS} FROM findings FINAL WHERE detector IN {detectors:Array(String)} AND entity IN {entities:Array(String)}`,
      { detectors: [...new Set(resolvable.map((e) => `ops_${e.type}`))], entities: [...new Set(resolvable.map((e) => e.subject))] },
    );
    stored.push(...rows.map(findingFromRow));
  }
  const work = new Map<string, Finding>();
  for (const { first_detected_at: _f, detected_at: _d, ...f } of stored) work.set(f.finding_id, f);
  return work;
}

export interface OpsIngestResult {
  readonly accepted: number;
  /** Findings written (new, or a new version). */
  readonly findings: number;
  /** Admin events recorded. */
  readonly admin_events: number;
}

export interface OpsIngest {
  /** Applies a batch (validated against tunnelwatch.ops/1, or the collector's own); resolves after the commit. */
  ingest(batch: OpsBatch | Batch): Promise<OpsIngestResult>;
}

export interface OpsIngestOptions {
  readonly audit: AdminAudit | (() => Promise<AdminAudit>);
  readonly log: Logger;
}

// One batch at a time per store: two batches about one subject must not both read the same open finding.
const chains = new WeakMap<Store, Promise<unknown>>();

export function createOpsIngest(store: Store, options: OpsIngestOptions): OpsIngest {
  const trail = async (): Promise<AdminAudit> => (typeof options.audit === 'function' ? options.audit() : options.audit);

  async function run(batch: Batch): Promise<OpsIngestResult> {
    const work = await loadWork(store, batch);
    const before = new Map(work);
    const touched = applyOpsEvents(batch, work);
    const findings = [...touched].map((id) => work.get(id) as Finding);
    const written = await writeFindings(store, findings.filter((f) => f !== before.get(f.finding_id)));
    const recorded = await recordedTransitions(store, findings);
    let adminEvents = 0;
    for (const f of findings) {
      if (recorded.has(transitionOf(f))) continue;
      await (await trail()).record(adminEventOf(f));
      adminEvents++;
      const ev = evidenceOf(f);
      const fields = { code: 'TW_ERR_OPS_ALERT', detector: f.detector, state: ev.state, severity: f.severity, subject: ev.subject, emitter_id: ev.emitter_id, finding_id: f.finding_id, title: f.title };
      if (ev.state === 'resolved') options.log.info(fields, 'ops alert');
      else options.log.warn(fields, 'ops alert');
    }
    return { accepted: batch.events.length, findings: written.created.length + written.updated.length, admin_events: adminEvents };
  }

  return {
    ingest(batch) {
      const next = (chains.get(store) ?? Promise.resolve()).then(() => run(batch));
      chains.set(store, next.catch(() => undefined));
      return next;
    },
  };
}

/** The collector's ingest: admin events in its own chain (collector/admin-trail.ts). */
export function collectorOpsIngest(store: Store, log: Logger): OpsIngest {
  return createOpsIngest(store, { audit: collectorAdminTrail(store, log), log: log.child({ component: 'collector.ops' }) });
}

/** The thresholds relays and connectors default to (alerts.cert_*), for the collector, which has no alerts section. */
export const COLLECTOR_CERT_THRESHOLDS = { warnDays: 30, highDays: 7, intervalMs: 43_200_000 } as const;

export interface CollectorCertAlertsOptions {
  readonly ingest: OpsIngest;
  /** collector.tls.cert as configured (relative to the config file) and what the listener loaded from it. */
  readonly file: string;
  readonly loaded: Buffer;
  readonly configFile: string;
  readonly log: Logger;
  readonly warnDays?: number;
  readonly highDays?: number;
  readonly intervalMs?: number;
  readonly retryMs?: number;
  readonly now?: () => Date;
}

/**
 * The collector's own certificate (collector.tls.cert) expiring: the same ops_cert_expiring alert as the
 * certificates of relays and connectors (docs/alerts.md), subject `collector@<host>/collector.tls.cert`,
 * fed straight to the collector's ops ingest. Events the ingest could not take (store down) are tried
 * again every retryMs (30 s).
 */
export function startCollectorCertAlerts(o: CollectorCertAlertsOptions): { stop(): void; readonly pending: number } {
  const emitterId = `collector@${hostname()}`;
  const log = o.log.child({ component: 'collector.certs' });
  let pending: OpsEvent[] = [];
  let sending = false;
  const flush = (): void => {
    if (sending || pending.length === 0) return;
    sending = true;
    const events = pending;
    pending = [];
    o.ingest.ingest({ emitter: 'collector', emitter_id: emitterId, events }).then(
      () => undefined,
      (err: unknown) => {
        pending = [...events, ...pending].slice(-100);
        log.warn({ err: (err as Error).message }, 'certificate alert not stored; trying again shortly');
      },
    ).finally(() => {
      sending = false;
    });
  };
  const watch = startCertAlerts({
    emitterId,
    sources: [{ name: 'collector.tls.cert', path: resolveFrom(o.configFile, o.file), loaded: o.loaded }],
    warnDays: o.warnDays ?? COLLECTOR_CERT_THRESHOLDS.warnDays,
    highDays: o.highDays ?? COLLECTOR_CERT_THRESHOLDS.highDays,
    intervalMs: o.intervalMs ?? COLLECTOR_CERT_THRESHOLDS.intervalMs,
    report: (event) => {
      pending.push(event);
      // One flush per check: the events of one check go in one batch.
      queueMicrotask(flush);
    },
    log,
    ...(o.now ? { now: o.now } : {}),
  });
  const retry = setInterval(flush, o.retryMs ?? 30_000);
  retry.unref();
  return {
    stop: () => {
      watch.stop();
      clearInterval(retry);
    },
    get pending() {
      return pending.length;
    },
  };
}
