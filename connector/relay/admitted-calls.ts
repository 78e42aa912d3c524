// The open tunnels the relay admitted (CONNECT, and HTTP Upgrade such as websockets), each with the token
// identity that admitted it. A reload that removes a token, or moves it to another subaccount or cloud app,
// and a token's expiry (tokens[].expires_at), cut them: deny by default must hold for a tunnel opened before the change too, which has no deadline and
// could otherwise stay open for days. An HTTP call in flight finishes: it has its deadline
// (proxy.call_timeout_ms), and a token rotation should not fail the calls it overlaps. The cloud app's
// connection is closed; the relay's usual
// handling of a caller that left then resets the call's stream, and the connector's event for the call
// says error_type `reset` (docs/access-control.md, "Rule changes and open tunnels").
import type { Socket } from 'node:net';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../common/log.js';
import type { RelayCall } from './relay-call.js';
import type { TokenIdentity, TokenStore } from './token-store.js';

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
  recheck(tokens: TokenStore, nowMs = Date.now()): number {
    let cut = 0;
    for (const [call, socket] of this.calls) {
      const identity = call.identity;
      const standing = identity === undefined ? { held: false } : tokens.standing(identity, nowMs);
      if (standing.held) continue;
      this.calls.delete(call);
      cut++;
      // The token's expiry as it stands now: a reload may have moved it since the call was admitted.
      const expiredAt = standing.expiredAtMs;
      this.log.warn({ trace_id: call.record.trace_id, subaccount: call.record.subaccount, cloud_app: call.record.cloud_app, kind: call.kind, ...(expiredAt !== undefined ? { expired_at: new Date(expiredAt).toISOString() } : {}) }, expiredAt !== undefined ? 'call cut: the token that admitted it expired' : 'call cut: the token that admitted it is no longer in force');
      socket.destroy();
    }
    this.cutTotal += cut;
    if (cut > 0) this.log.warn({ cut, still_open: this.calls.size }, 'open tunnels cut: their tokens were removed, moved or expired');
    return cut;
  }

  /** When each expired token (by subaccount, app and expiry) was last warned of; pruned as it grows. */
  private readonly expiredSeen = new Map<string, number>();

  /**
   * A caller presented an expired token: one warning per token and hour, naming its subaccount and cloud
   * app (the refusal's audit event cannot: the caller is unauthenticated), so the owner can be told.
   */
  expiredTokenUsed(identity: TokenIdentity, nowMs = Date.now()): void {
    const key = `${identity.subaccount}\u0000${identity.cloudApp}\u0000${identity.expiresAtMs}`;
    const last = this.expiredSeen.get(key);
    if (last !== undefined && nowMs - last < 3_600_000) return;
    if (this.expiredSeen.size >= 1024) for (const [k, at] of this.expiredSeen) if (nowMs - at >= 3_600_000) this.expiredSeen.delete(k);
    this.expiredSeen.set(key, nowMs);
    this.log.warn({ subaccount: identity.subaccount, cloud_app: identity.cloudApp, expired_at: new Date(identity.expiresAtMs).toISOString() }, 'a cloud app presented an expired token (refused as unauthenticated)');
  }
}

/** Tokens that expire within this long are named in the log at start and at each reload. */
const WARN_BEFORE_MS = 14 * 86_400_000;

/**
 * Token expiry (tokens[].expires_at): every second, if a token expired since the last look, the tunnels it
 * opened are cut (an expired token is refused at once by authenticate(); this is for what it admitted
 * before). /metrics shows each expiring token's time, and the log names those due within 14 days.
 */
export function watchTokenExpiry(tokens: TokenStore, admitted: AdmittedCalls, metrics: Registry, log: Logger): { warnSoon(): void; stop(): void } {
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    if (tokens.nextExpiry(last - 1) <= now) admitted.recheck(tokens, now);
    last = now;
  }, 1000);
  timer.unref();
  new Gauge({
    name: 'tunnelwatch_token_expiry_timestamp_seconds',
    help: 'When a cloud app token with tokens[].expires_at stops being accepted (epoch seconds), by subaccount and cloud app (the soonest of its tokens)',
    labelNames: ['subaccount', 'cloud_app'] as const,
    registers: [metrics],
    collect() {
      this.reset();
      // The soonest per app: during a rotation the old token (about to expire) and the new one share a series.
      const soonest = new Map<string, TokenIdentity>();
      for (const t of tokens.expiring(Infinity)) {
        const key = `${t.subaccount}\u0000${t.cloudApp}`;
        const seen = soonest.get(key);
        if (seen === undefined || t.expiresAtMs < seen.expiresAtMs) soonest.set(key, t);
      }
      for (const t of soonest.values()) this.set({ subaccount: t.subaccount, cloud_app: t.cloudApp }, t.expiresAtMs / 1000);
    },
  });
  const warnSoon = (): void => {
    const now = Date.now();
    for (const t of tokens.expiring(now + WARN_BEFORE_MS)) {
      const at = new Date(t.expiresAtMs).toISOString();
      if (t.expiresAtMs <= now) log.warn({ subaccount: t.subaccount, cloud_app: t.cloudApp, expired_at: at }, 'a cloud app token in relay.yaml has expired: it is refused; remove it, or give the app a new one');
      else log.warn({ subaccount: t.subaccount, cloud_app: t.cloudApp, expires_at: at, days_left: Math.floor((t.expiresAtMs - now) / 86_400_000) }, 'a cloud app token expires soon: give the app a new one (tunnelwatch token new) before then');
    }
  };
  warnSoon();
  return { warnSoon, stop: () => clearInterval(timer) };
}
