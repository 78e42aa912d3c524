// The emitters of the simulated estate: two relays behind a load balancer (which one by the client's
// address) and one connector per subaccount and location. Each is a real AuditEmitter, so every
// emitter's events form a valid hash chain, in the order they are written.
import { AuditEmitter } from '../../../common/audit/emitter.js';
import type { AuditEvent } from '../../../common/audit/event.js';
import type { SimCall } from './calls.js';

export const RELAY_IDS = ['relay-1', 'relay-2'] as const;

export type EventSink = (event: AuditEvent, line: string, call: SimCall) => void;

export class EmitterSet {
  private readonly emitters = new Map<string, AuditEmitter>();
  private current: SimCall | undefined;
  private readonly counts = new Map<string, number>();

  constructor(private readonly sink: EventSink) {}

  private emitterFor(kind: 'relay' | 'connector', id: string): AuditEmitter {
    let e = this.emitters.get(id);
    if (!e) {
      e = new AuditEmitter({
        emitter: kind,
        emitterId: id,
        chain: { seq: 0, hash: '' },
        sinks: [{
          write: (event, line) => this.sink(event, line, this.current as SimCall),
          flush: async () => {},
          close: async () => {},
        }],
      });
      this.emitters.set(id, e);
    }
    return e;
  }

  emit(call: SimCall): void {
    const id = call.emitter === 'relay' ? relayFor(call.record.client_ip) : call.emitterId;
    this.current = call;
    this.emitterFor(call.emitter, id).emit(call.record);
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }

  /** Events written per emitter id. */
  summary(): { emitterId: string; events: number }[] {
    return [...this.counts].map(([emitterId, events]) => ({ emitterId, events })).sort((a, b) => (a.emitterId < b.emitterId ? -1 : 1));
  }
}

/** The load balancer hashes the client address, so one client always reaches the same relay. */
function relayFor(ip: string): string {
  let h = 0;
  for (let i = 0; i < ip.length; i++) h = (h * 31 + ip.charCodeAt(i)) >>> 0;
  return RELAY_IDS[h % RELAY_IDS.length] as string;
}
