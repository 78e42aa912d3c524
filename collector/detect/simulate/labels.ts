// Labels as the simulator writes them: the Label of collector/detect/types.ts plus what the injected calls
// turned out to be (how many, and which other identities they carried).
import type { Label } from '../types.js';
import type { SimCall } from './calls.js';
import type { Injection } from './scenarios/types.js';

/** Another identity the injected calls carried, in one subaccount. */
export interface RelatedEntity {
  readonly subaccount: string;
  readonly entity_type: string;
  readonly entity: string;
}

export interface SimLabel extends Label {
  /** Unique in the simulation, e.g. `deny_burst-subtle-1`. */
  readonly id: string;
  /** Events the injection added or rewrote. */
  readonly injected_events: number;
  /** Other spellings of `entity` (a backend as virtual or internal host:port); they count as the entity. */
  readonly entity_aliases: readonly string[];
  /**
   * Identities other than `entity` that the injected calls concentrate on: their app, their one or two
   * addresses, their principal, user agent, backend, and the subaccount. A finding that names one of them
   * in the window found the same injected traffic from another angle: it is no false positive (it counts
   * for precision), but only a finding naming `entity` detects the label (recall).
   */
  readonly related: readonly RelatedEntity[];
}

/** More distinct values than this in a field (within one subaccount) and the field is not concentrated. */
const MAX_DISTINCT = 3;
const FIELDS = ['cloud_app', 'principal', 'client_ip', 'user_agent', 'backend', 'subaccount'] as const;
type Field = (typeof FIELDS)[number];

export class InjectionStats {
  count = 0;
  /** subaccount -> field -> distinct values (up to MAX_DISTINCT + 1). */
  private readonly seen = new Map<string, Map<Field, Set<string>>>();

  add(call: SimCall): void {
    this.count++;
    const r = call.record;
    let fields = this.seen.get(r.subaccount);
    if (!fields) {
      fields = new Map(FIELDS.map((f) => [f, new Set<string>()]));
      this.seen.set(r.subaccount, fields);
    }
    const put = (field: Field, value: string) => {
      const set = fields.get(field) as Set<string>;
      if (value !== '' && set.size <= MAX_DISTINCT) set.add(value);
    };
    put('cloud_app', r.cloud_app);
    put('principal', r.principal);
    put('client_ip', r.client_ip);
    put('user_agent', r.user_agent);
    put('subaccount', r.subaccount);
    if (r.virtual_host !== '') put('backend', `${r.virtual_host}:${r.virtual_port}`);
  }

  related(label: Label, aliases: readonly string[]): RelatedEntity[] {
    const out: RelatedEntity[] = [];
    for (const subaccount of [...this.seen.keys()].sort()) {
      const fields = this.seen.get(subaccount) as Map<Field, Set<string>>;
      for (const field of FIELDS) {
        const set = fields.get(field) as Set<string>;
        if (set.size > MAX_DISTINCT) continue;
        for (const entity of [...set].sort()) {
          if (entity === label.entity || aliases.includes(entity)) continue;
          out.push({ subaccount, entity_type: field, entity });
        }
      }
    }
    return out;
  }
}

export function finishLabel(injection: Injection, stats: InjectionStats): SimLabel {
  const aliases = injection.entityAliases ?? [];
  return { ...injection.label, id: injection.id, injected_events: stats.count, entity_aliases: aliases, related: stats.related(injection.label, aliases) };
}
