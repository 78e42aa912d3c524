// The open tunnels the relay admitted (CONNECT, and HTTP Upgrade such as websockets), each with the token
// identity that admitted it. A reload that removes a token, or moves it to another subaccount or cloud app,
// cuts them: deny by default must hold for a tunnel opened before the change too, which has no deadline and
// could otherwise stay open for days. An HTTP call in flight finishes: it has its deadline
// (proxy.call_timeout_ms), and a token rotation should not fail the calls it overlaps. The cloud app's
// connection is closed; the relay's usual
// handling of a caller that left then resets the call's stream, and the connector's event for the call
// says error_type `reset` (docs/access-control.md, "Rule changes and open tunnels").
import type { Socket } from 'node:net';
import type { Logger } from '../../common/log.js';
import type { RelayCall } from './relay-call.js';
import type { TokenStore } from './token-store.js';

export class AdmittedCalls {
  private readonly calls = new Map<RelayCall, Socket>();
  /** Calls cut by a token change since start (a counter for /metrics). */
  cutTotal = 0;

  constructor(private readonly log: Logger) {}

  get size(): number {
    return this.calls.size;
  }

  /** A CONNECT or Upgrade call admitted on `socket`, kept until the socket closes. */
  add(call: RelayCall, socket: Socket): void {
    this.calls.set(call, socket);
    socket.once('close', () => this.calls.delete(call));
  }

  /** Closes the connection of every call whose token `tokens` no longer holds as it was; returns how many. */
  recheck(tokens: TokenStore): number {
    let cut = 0;
    for (const [call, socket] of this.calls) {
      const identity = call.identity;
      if (identity !== undefined && tokens.holds(identity)) continue;
      this.calls.delete(call);
      cut++;
      this.log.warn({ trace_id: call.record.trace_id, subaccount: call.record.subaccount, cloud_app: call.record.cloud_app, kind: call.kind }, 'call cut: the token that admitted it is no longer in force');
      socket.destroy();
    }
    this.cutTotal += cut;
    if (cut > 0) this.log.warn({ cut, still_open: this.calls.size }, 'calls in progress cut: their tokens were removed or moved by a reload');
    return cut;
  }
}
