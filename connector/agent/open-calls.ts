// The open tunnels (CONNECT, and HTTP Upgrade such as websockets), judged again whenever the access rules
// change (a reload, or an HA shadow taking its master's rules). Deny by default must hold for a tunnel
// opened before the change too: it has no deadline, and one opened before a mapping was removed would
// otherwise stay open, for days, to a backend the rules no longer allow. So a tunnel the new rules refuse,
// or send to another backend, is cut at once: its stream is reset (the cloud app sees its connection end),
// the backend connection closes, and its audit event says error_type `reset`. An HTTP call in flight
// finishes under the rules that admitted it, within its deadlines (docs/access-control.md, "Rule changes
// and open tunnels").
import type { Logger } from '../../common/log.js';
import { decide } from '../acl/decide.js';
import type { CompiledMapping, CompiledPolicy } from '../acl/policy.js';
import type { ConnectorCall } from './connector-call.js';

/** Why `policy` no longer allows a call that `was` allowed; undefined when it still does, to the same backend. */
export function withdrawnBy(policy: CompiledPolicy, call: Pick<ConnectorCall, 'accessRequest'>, was: CompiledMapping): string | undefined {
  const d = decide(policy, call.accessRequest());
  if (d.decision === 'deny' || !d.mapping) return `${d.denyReason || 'no_mapping'}: ${d.detail}`;
  const now = d.mapping;
  if (now.protocol !== was.protocol || now.internalHost !== was.internalHost || now.internalPort !== was.internalPort || now.hostHeader !== was.hostHeader || now.ca !== was.ca) {
    return `the mapping of ${was.virtualHost}:${was.virtualPort} now leads to ${now.protocol}://${now.internalHost}:${now.internalPort}`;
  }
  return undefined;
}

export class OpenCalls {
  private readonly calls = new Map<ConnectorCall, CompiledMapping>();
  /** Calls cut by a rule change since start (a counter for /metrics). */
  cutTotal = 0;

  constructor(private readonly log: Logger) {}

  get size(): number {
    return this.calls.size;
  }

  /** An allowed CONNECT or Upgrade call, kept until its stream closes. */
  add(call: ConnectorCall, mapping: CompiledMapping): void {
    this.calls.set(call, mapping);
    call.stream.once('close', () => this.calls.delete(call));
  }

  /** Cuts every open call that `policy` no longer allows as it was allowed; returns how many. */
  recheck(policy: CompiledPolicy): number {
    let cut = 0;
    for (const [call, mapping] of this.calls) {
      const why = withdrawnBy(policy, call, mapping);
      if (why === undefined) continue;
      this.calls.delete(call);
      call.revoke(why);
      cut++;
    }
    this.cutTotal += cut;
    if (cut > 0) this.log.warn({ cut, still_open: this.calls.size }, 'calls in progress cut: the new access rules no longer allow them');
    return cut;
  }
}
