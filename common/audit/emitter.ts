// Turns call records into chained audit events and hands them to the sinks, in order.
import { uuidv7 } from '../ids.js';
import { AUDIT_FIELDS, AUDIT_SCHEMA, type AuditEvent, type CallRecord, type Emitter } from './event.js';
import { computeEventHash, type ChainState } from './hash-chain.js';
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

  get chain(): ChainState {
    return { seq: this.seq, hash: this.lastHash };
  }

  /**
   * Chains and writes one event. Synchronous from seq assignment to the sinks, so the chain order is
   * the write order. Throws if a sink cannot keep the event; the chain then does not advance.
   */
  emit(record: CallRecord): AuditEvent {
    const unordered: AuditEvent = {
      ...record,
      schema: AUDIT_SCHEMA,
      event_id: uuidv7(),
      emitter: this.emitter,
      emitter_id: this.emitterId,
      seq: this.seq + 1,
      prev_hash: this.lastHash,
      hash: '',
    };
    unordered.hash = computeEventHash(unordered as unknown as Record<string, unknown>);
    // Spec order first, then any extension fields in the order they came.
    const event = {} as Record<string, unknown>;
    for (const field of AUDIT_FIELDS) event[field] = unordered[field];
    for (const [key, value] of Object.entries(unordered)) if (!(key in event)) event[key] = value;
    const line = `${JSON.stringify(event)}\n`;
    // The first sink is the durable one: if it cannot keep the event, the chain does not advance and
    // the caller hears of it. Later sinks (stdout, shippers) only copy; their failures are reported.
    const [primary, ...copies] = this.sinks;
    primary?.write(event as unknown as AuditEvent, line);
    for (const sink of copies) {
      try {
        sink.write(event as unknown as AuditEvent, line);
      } catch (err) {
        this.onCopyError?.(err as Error);
      }
    }
    this.seq = unordered.seq;
    this.lastHash = unordered.hash;
    return event as unknown as AuditEvent;
  }

  async close(): Promise<void> {
    for (const sink of this.sinks) await sink.close();
  }
}
