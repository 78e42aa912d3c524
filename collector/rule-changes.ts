// A connector's rules changed: an admin event in the collector's chain with who, what, before and after.
// The collector learns of every change, however it was made (a file reload on the connector host, an HA
// shadow taking its master's rules, a restart with another file), because the connector reports its rules
// on each change (connector/agent/rule-report.ts). Recorded before the snapshot is stored: a failure
// answers 503 and the connector retries, and a retry finds the hash still new and records it then.
// before/after hold only the subaccounts whose rules differ, so the event stays small and reads as a diff.
import { canonicalJson } from '../common/audit/canonical-json.js';
import type { AdminAudit } from '../dashboard/context.js';
import type { RuleSnapshot } from './store/rule-snapshots.js';
import type { Store } from './store/store.js';

type SubaccountRules = RuleSnapshot['rules']['subaccounts'][number];

export interface RuleDiff {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
  readonly before: SubaccountRules[];
  readonly after: SubaccountRules[];
}

/** Subaccounts added, removed and changed between two rule sets, with the rules of those only. */
export function diffRules(before: RuleSnapshot['rules'] | undefined, after: RuleSnapshot['rules']): RuleDiff {
  const old = new Map((before?.subaccounts ?? []).map((s) => [s.subaccount, s]));
  const now = new Map(after.subaccounts.map((s) => [s.subaccount, s]));
  const diff: RuleDiff = { added: [], removed: [], changed: [], before: [], after: [] };
  for (const [name, rules] of now) {
    const was = old.get(name);
    if (!was) diff.added.push(name);
    else if (canonicalJson(was) !== canonicalJson(rules)) {
      diff.changed.push(name);
      diff.before.push(was);
    } else continue;
    diff.after.push(rules);
  }
  for (const [name, rules] of old) {
    if (!now.has(name)) {
      diff.removed.push(name);
      diff.before.push(rules);
    }
  }
  return diff;
}

function summary(diff: RuleDiff, first: boolean): string {
  if (first) return `first rules reported: ${diff.added.length} subaccount(s) (${diff.added.join(', ')})`;
  const parts = [
    diff.added.length ? `added ${diff.added.join(', ')}` : '',
    diff.removed.length ? `removed ${diff.removed.join(', ')}` : '',
    diff.changed.length ? `changed ${diff.changed.join(', ')}` : '',
  ].filter(Boolean);
  return parts.length ? `rules of subaccount(s): ${parts.join('; ')}` : 'rules reordered or reformatted (same meaning per subaccount)';
}

/** Records the change if this snapshot's rules differ from the connector's last stored ones. */
export async function recordRuleChange(store: Pick<Store, 'query'>, audit: () => Promise<AdminAudit>, snapshot: RuleSnapshot): Promise<RuleDiff | undefined> {
  const [last] = await store.query<{ snapshot_hash: string; rules: string }>(
    'SELECT snapshot_hash, rules FROM rule_snapshots FINAL WHERE connector_id = {c:String} ORDER BY received_at DESC LIMIT 1',
    { c: snapshot.connector_id },
  );
  if (last?.snapshot_hash === snapshot.snapshot_hash) return undefined;
  const previous = last ? (JSON.parse(last.rules) as RuleSnapshot['rules']) : undefined;
  const diff = diffRules(previous, snapshot.rules);
  const via = snapshot.change?.via ?? (previous ? 'reload' : 'start');
  await (await audit()).record({
    action: 'rules.change',
    outcome: 'success',
    actor: snapshot.change?.actor ?? `connector ${snapshot.connector_id}`,
    actor_role: 'connector',
    via: `connector:${via}`,
    target: snapshot.location_id ? `${snapshot.connector_id} (location ${snapshot.location_id})` : snapshot.connector_id,
    client_ip: '',
    user_agent: '',
    reason: summary(diff, previous === undefined),
    before: previous ? JSON.stringify({ snapshot_hash: last?.snapshot_hash, subaccounts: diff.before }) : '',
    after: JSON.stringify({ snapshot_hash: snapshot.snapshot_hash, subaccounts: diff.after }),
  });
  return diff;
}
