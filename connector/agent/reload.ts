// Reloading connector.yaml at run time (SIGHUP): the access rules are applied atomically or not at all.
// The whole file is read and validated, and the rules compiled, before anything changes; one bad key or
// rule refuses the reload and the rules in force stay. Other settings (relay address, TLS files, audit,
// tracing, timeouts) are fixed for the life of the process: a change to them is named in the answer and
// the log as needing a restart, and the rest of the reload still applies.
import { canonicalJson } from '../../common/audit/canonical-json.js';
import type { ReloadResult, ReloadSource } from '../../common/service.js';
import { restartNeeded } from '../../common/config/restart-needed.js';
import { compilePolicy, type CompiledPolicy } from '../acl/policy.js';
import type { ConnectorConfig } from './config-schema.js';

export interface ReloadTarget {
  /** The configuration the process started with (what "needs a restart" is compared with). */
  readonly started: ConnectorConfig;
  /** The rules in force now. */
  current(): ConnectorConfig['subaccounts'];
  /** Why this connector does not take rules from its file now (an HA shadow takes its master's), if so. */
  refusal?(): string | undefined;
  /** Puts the rules in force (one synchronous swap: a call is decided wholly by the old or the new rules). */
  apply(subaccounts: ConnectorConfig['subaccounts'], policy: CompiledPolicy, source: ReloadSource): void;
}

/** The one section a reload puts in force; every other setting is read once at start. */
const isLive = (path: string): boolean => path === 'subaccounts' || path.startsWith('subaccounts.');

export function reloadConnector(target: ReloadTarget, load: () => ConnectorConfig, source: ReloadSource): ReloadResult {
  let next: ConnectorConfig;
  let policy: CompiledPolicy;
  try {
    next = load();
    policy = compilePolicy(next.subaccounts);
  } catch (err) {
    return { applied: false, message: (err as Error).message };
  }
  const needs = restartNeeded(target.started, next, isLive);
  if (canonicalJson(next.subaccounts) === canonicalJson(target.current())) {
    return { applied: true, message: 'the access rules are unchanged', restartNeeded: needs };
  }
  const refused = target.refusal?.();
  if (refused) return { applied: false, message: refused, restartNeeded: needs };
  target.apply(next.subaccounts, policy, source);
  const names = Object.keys(next.subaccounts);
  return { applied: true, message: `new access rules in force for ${names.length} subaccount(s): ${names.join(', ') || '(none)'}`, restartNeeded: needs };
}
