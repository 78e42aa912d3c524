// Concurrent call limits per subaccount and per cloud app (connector.yaml `limits:`), checked after the
// access decision allowed a call: a call beyond a limit is denied with rate_limited (429
// TW_ERR_ACL_RATE_LIMITED) and audited like every denial. They keep one cloud app, or one subaccount, from
// taking every call the connector and its backends can carry (one tunnel session carries 4,096 streams),
// which is the isolation between tenants that a shared connector owes them.
//
// Counts are kept by name, so a reload that changes a limit applies it to the next call, with the calls
// already in progress counted; a lowered limit cuts nothing, it only refuses until the count is below it.
import type { CompiledSubaccount } from './policy.js';

export type Admission = { ok: true; release: () => void } | { ok: false; detail: string };

export class InFlightLimiter {
  private readonly bySubaccount = new Map<string, number>();
  private readonly byApp = new Map<string, number>();

  /** Calls counted now for a subaccount, or one of its apps. */
  inFlight(subaccount: string, app?: string): number {
    return (app === undefined ? this.bySubaccount.get(subaccount) : this.byApp.get(appKey(subaccount, app))) ?? 0;
  }

  /** Counts a call in, unless a limit of `sub` is reached; `release` (idempotent) counts it out. */
  admit(sub: CompiledSubaccount, app: string): Admission {
    const limits = sub.limits;
    const key = appKey(sub.name, app);
    const subCount = this.bySubaccount.get(sub.name) ?? 0;
    const appCount = this.byApp.get(key) ?? 0;
    if (limits.subaccount > 0 && subCount >= limits.subaccount) {
      return { ok: false, detail: `subaccount ${sub.name} has ${subCount} calls in progress on this connector, its limit (limits.max_calls_in_flight: ${limits.subaccount})` };
    }
    const own = limits.apps.get(app);
    const appLimit = own ?? limits.perApp;
    if (appLimit > 0 && appCount >= appLimit) {
      const key = own === undefined ? 'limits.app_max_calls_in_flight' : `limits.apps.${app}`;
      return { ok: false, detail: `cloud app ${app} has ${appCount} calls in progress in subaccount ${sub.name} on this connector, its limit (${key}: ${appLimit})` };
    }
    this.bySubaccount.set(sub.name, subCount + 1);
    this.byApp.set(key, appCount + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        decrement(this.bySubaccount, sub.name);
        decrement(this.byApp, key);
      },
    };
  }
}

/** Subaccount names cannot hold a NUL, so the pair is unambiguous. */
const appKey = (subaccount: string, app: string): string => `${subaccount}\u0000${app}`;

function decrement(counts: Map<string, number>, key: string): void {
  const n = (counts.get(key) ?? 0) - 1;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}
