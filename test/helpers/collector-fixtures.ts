// Test material for the collector: real chained audit events (from the emitter) and an in-memory
// IngestStore whose commits can be held back or made to fail.
import { AuditEmitter } from '../../common/audit/emitter.js';
import { emptyCallRecord, type AuditEvent } from '../../common/audit/event.js';
import type { AuditInsertResult, AuditRecord, IngestStore, LogRow, OtelInsertResult, RuleSnapshot, RuleSnapshotWriteResult, SpanRow } from '../../collector/ingest-store.js';
import { flattenRules } from '../../collector/store/rule-snapshots.js';

/** n valid audit events of one emitter, chained, as the connector would write them. */
export function auditEvents(n: number, emitterId = 'conn-1'): AuditEvent[] {
  const out: AuditEvent[] = [];
  const emitter = new AuditEmitter({
    emitter: 'connector',
    emitterId,
    chain: { seq: 0, hash: '' },
    sinks: [{ write: (e) => void out.push(e), flush: async () => {}, close: async () => {} }],
  });
  for (let i = 0; i < n; i++) {
    emitter.emit({
      ...emptyCallRecord(),
      ts: new Date(Date.UTC(2026, 10, 27, 21, 40, 54, i % 1000)).toISOString(),
      duration_us: 1000 + i,
      subaccount: 'acme',
      cloud_app: 'portal',
      client_ip: '127.0.0.1',
      protocol: 'http',
      method: 'GET',
      virtual_host: 'erp.virtual',
      virtual_port: 8000,
      internal_host: '127.0.0.1',
      internal_port: 8080,
      path: `/items/${i}`,
      decision: 'allow',
      rule_id: 'erp.virtual:8000/items*',
      status: 200,
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
    });
  }
  return out;
}

export function ndjson(events: readonly object[]): string {
  return events.map((e) => `${JSON.stringify(e)}\n`).join('');
}

/** An IngestStore in memory, deduplicating audit events by event_id as the real one must. */
export class MemoryStore implements IngestStore {
  readonly audit = new Map<string, AuditRecord>();
  readonly spans: SpanRow[] = [];
  readonly logs: LogRow[] = [];
  /** Rule snapshots by "<connector_id> <snapshot_hash>", the latest report of each. */
  readonly ruleSnapshots = new Map<string, RuleSnapshot>();
  up = true;
  /** Spans and logs older than this (Unix ns) count as expired, as rows past the retention do. */
  expireBeforeNs = 0n;
  /** When set, every insert waits for it before it commits. */
  gate: Promise<void> | undefined;
  inserts = 0;

  private async commit(): Promise<void> {
    this.inserts++;
    if (this.gate) await this.gate;
    if (!this.up) throw new Error('connect ECONNREFUSED 127.0.0.1:8123');
  }

  async insertAudit(events: readonly AuditRecord[]): Promise<AuditInsertResult> {
    await this.commit();
    let duplicates = 0;
    for (const e of events) {
      if (this.audit.has(e.event_id)) duplicates++;
      else this.audit.set(e.event_id, e);
    }
    return { duplicates, archived: 0 };
  }

  async insertSpans(rows: readonly SpanRow[]): Promise<OtelInsertResult> {
    await this.commit();
    const kept = rows.filter((r) => BigInt(r.Timestamp) >= this.expireBeforeNs);
    this.spans.push(...kept);
    return { expired: rows.length - kept.length };
  }

  async insertLogs(rows: readonly LogRow[]): Promise<OtelInsertResult> {
    await this.commit();
    const kept = rows.filter((r) => BigInt(r.Timestamp) >= this.expireBeforeNs);
    this.logs.push(...kept);
    return { expired: rows.length - kept.length };
  }

  async insertRuleSnapshot(snapshot: RuleSnapshot): Promise<RuleSnapshotWriteResult> {
    await this.commit();
    const key = `${snapshot.connector_id} ${snapshot.snapshot_hash}`;
    const known = this.ruleSnapshots.has(key);
    this.ruleSnapshots.set(key, snapshot);
    return { known, rules: flattenRules(snapshot.connector_id, snapshot.snapshot_hash, snapshot.rules).length };
  }

  async ping(): Promise<boolean> {
    return this.up;
  }

  async close(): Promise<void> {}
}
