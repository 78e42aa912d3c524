// Turns call records into chained audit events and hands them to the sinks, in order.
import { uuidv7 } from '../ids.js';
import { AUDIT_FIELDS, AUDIT_SCHEMA, type AuditEvent, type CallRecord, type Emitter } from './event.js';
import { createHash } from 'node:crypto';
import { computeEventHash, type ChainState } from './hash-chain.js';

const CALL_RECORD_FIELDS = AUDIT_FIELDS.length - 7; // all but schema, event_id, emitter, emitter_id, seq, prev_hash, hash

// RFC 8785 for an event with only spec fields, all strings and integers: JSON.stringify with the
// sorted key list as replacer writes exactly the canonical form, without a generic sort per event.
const CANONICAL_KEYS = AUDIT_FIELDS.filter((f) => f !== 'hash').sort();

function hashSpecEvent(event: AuditEvent): string {
  return createHash('sha256').update(JSON.stringify(event, CANONICAL_KEYS)).digest('hex');
}
import type { AuditSink } from './sink.js';

export interface AuditEmitterOptions {
  emitter: Emitter;
  emitterId: string;
  sinks: AuditSink[];
  /** Where the chain continues from (read back from disk at start-up). */
  chain: ChainState;
  /** Called when a sink after the first fails; the event is still kept by the first. */
  onCopyError?: (err: Error) => void;
}

export class AuditEmitter {
  private seq: number;
  private lastHash: string;
  private readonly sinks: AuditSink[];
  readonly emitter: Emitter;
  readonly emitterId: string;
  private readonly onCopyError: ((err: Error) => void) | undefined;

  constructor(options: AuditEmitterOptions) {
    this.onCopyError = options.onCopyError;
    this.emitter = options.emitter;
    this.emitterId = options.emitterId;
    this.sinks = options.sinks;
    this.seq = options.chain.seq;
    this.lastHash = options.chain.hash;
  }

  /** false while the durable sink cannot keep events: calls must then be refused (never unaudited). */
  get healthy(): boolean {
    return this.sinks[0]?.healthy !== false;
  }

  /** Why calls are refused, for the refusal's detail and /readyz; undefined while healthy. */
  get unhealthyReason(): string | undefined {
    const sink = this.sinks[0];
    return sink?.healthy === false ? (sink.unhealthyReason ?? 'the audit sink cannot keep events') : undefined;
  }

  get chain(): ChainState {
    return { seq: this.seq, hash: this.lastHash };
  }

  /**
   * Chains and writes one event. Synchronous from seq assignment to the sinks, so the chain order is
   * the write order. Throws if a sink cannot keep the event; the chain then does not advance.
   */
  emit(record: CallRecord): AuditEvent {
    // Built as one literal in spec order (one hidden class, no reordering); extension fields follow.
    const event: AuditEvent = {
      schema: AUDIT_SCHEMA,
      event_id: uuidv7(),
      ts: record.ts,
      duration_us: record.duration_us,
      emitter: this.emitter,
      emitter_id: this.emitterId,
      seq: this.seq + 1,
      prev_hash: this.lastHash,
      hash: '',
      subaccount: record.subaccount,
      location_id: record.location_id,
      cloud_app: record.cloud_app,
      principal: record.principal,
      client_ip: record.client_ip,
      protocol: record.protocol,
      method: record.method,
      virtual_host: record.virtual_host,
      virtual_port: record.virtual_port,
      internal_host: record.internal_host,
      internal_port: record.internal_port,
      path: record.path,
      query: record.query,
      user_agent: record.user_agent,
      decision: record.decision,
      rule_id: record.rule_id,
      deny_reason: record.deny_reason,
      status: record.status,
      error_type: record.error_type,
      bytes_in: record.bytes_in,
      bytes_out: record.bytes_out,
      backend_connect_us: record.backend_connect_us,
      backend_ttfb_us: record.backend_ttfb_us,
      trace_id: record.trace_id,
      span_id: record.span_id,
    };
    let extended = false;
    if (Object.keys(record).length !== CALL_RECORD_FIELDS) {
      for (const [key, value] of Object.entries(record)) {
        if (!(key in event)) {
          (event as unknown as Record<string, unknown>)[key] = value;
          extended = true;
        }
      }
    }
    event.hash = extended ? computeEventHash(event as unknown as Record<string, unknown>) : hashSpecEvent(event);
    const line = `${JSON.stringify(event)}\n`;
    // The first sink is the durable one: if it cannot keep the event, the chain does not advance and
    // the caller hears of it. Later sinks (stdout, shippers) only copy; their failures are reported.
    const [primary, ...copies] = this.sinks;
    primary?.write(event, line);
    for (const sink of copies) {
      try {
        sink.write(event, line);
      } catch (err) {
        this.onCopyError?.(err as Error);
      }
    }
    this.seq = event.seq;
    this.lastHash = event.hash;
    return event;
  }

  /**
   * Hands every event emitted so far to the OS now, instead of in the durable sink's next group write. For
   * a call's last moment: its event must be in the file before the caller can see the call complete.
   * false when the durable sink could not (the disk refuses writes): the caller must not see it complete.
   */
  writeNow(): boolean {
    return this.sinks[0]?.writeNow?.() ?? true;
  }

  async close(): Promise<void> {
    for (const sink of this.sinks) await sink.close();
  }
}
