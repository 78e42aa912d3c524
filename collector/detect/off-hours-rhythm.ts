// The daily rhythm of an entity as off_hours judges it, for the hours the SQL of off_hours.ts found rare:
//   - whether the rhythm is regular enough for a rare hour to mean something: an entity whose busiest hour
//     is active on a share s of its n comparable days would show a quiet record at one of its usual hours
//     with a chance of (1 - s)^n; only when that is at most max_chance is "never at this hour" evidence (an
//     office worker at her desk every day is judged after three days, someone active an hour or two a day
//     at random times not until much later, if ever);
//   - the usual span: from the first to the last hour of the day the entity is active in on more than
//     max_share of its comparable days (an hour seen on one day only where it is near hours seen on several), (circular: a night shift wraps around midnight), widened by
//     span_margin_hours on each side. An hour inside it is not off-hours even if the entity was never
//     active at exactly that hour (someone who looks into a ticket now and then during their office hours),
//     nor is an hour or two beyond it (starting early, staying late, a daylight saving change);
//   - whether a principal is at its usual hours, to tell whether an app busy at an odd hour is only
//     serving such a principal (the app is the conduit, the person the actor, and the person is at work).
import type { DetectContext } from './detector.js';
import type { LocalWeek } from './local-week.js';
import { chTime, HOUR_MS, n } from './sql.js';

export interface RhythmParams {
  readonly maxShare: number;
  readonly neighbourShare: number;
  readonly minActiveShare: number;
  readonly minTypeDays: number;
  readonly maxChance: number;
  readonly spanMarginHours: number;
}

const basisAt = (basis: number | readonly number[], h: number) => (typeof basis === 'number' ? basis : (basis[h] ?? 0));

/**
 * The chance that a usual hour of an entity this regular shows no activity on all its comparable days:
 * (1 - s)^n for its busiest hour, active on a share s of its n comparable days (per hour: the kind of day
 * can differ by hour in a subaccount's local week).
 */
export function quietChance(act: readonly number[], basis: number | readonly number[]): number {
  let share = 0;
  let days = 0;
  for (let h = 0; h < 24; h++) {
    const n = basisAt(basis, h);
    if (n > 0 && (act[h] ?? 0) / n > share) {
      share = (act[h] ?? 0) / n;
      days = n;
    }
  }
  // Never active on such days at all (an office worker on weekends): every hour is equally unusual.
  if (share === 0) return Math.max(...Array.from({ length: 24 }, (_, h) => basisAt(basis, h))) > 0 ? 0 : 1;
  return (1 - Math.min(1, share)) ** days;
}

/** Whether hour h lies within `margin` hours of the span of the hours active on more than maxShare of their comparable days. */
export function inUsualSpan(act: readonly number[], basis: number | readonly number[], maxShare: number, h: number, margin = 0): boolean {
  // A habit is more than one day: an hour seen on a single day (the evening before, say) stretches the span
  // only where it lies within `margin` hours of hours seen on several.
  const frequent = act.map((a, hour) => ({ a, hour })).filter(({ a, hour }) => a > maxShare * basisAt(basis, hour));
  const core = frequent.filter(({ a }) => a > 1).map(({ hour }) => hour);
  const near = (hour: number) => core.some((c) => Math.min((hour - c + 24) % 24, (c - hour + 24) % 24) <= margin);
  const usual = frequent.filter(({ a, hour }) => a > 1 || near(hour)).map(({ hour }) => hour);
  if (usual.length === 0) return false;
  // The span is the circle minus its largest gap between usual hours.
  let start = usual[0] as number;
  let end = usual.at(-1) as number;
  let widest = 24 - (end - start);
  for (let i = 1; i < usual.length; i++) {
    const gap = (usual[i] as number) - (usual[i - 1] as number);
    if (gap > widest) {
      widest = gap;
      start = usual[i] as number;
      end = usual[i - 1] as number;
    }
  }
  const length = (end - start + 24) % 24;
  if (length + 1 + 2 * margin >= 24) return true;
  return (h - (start - margin) + 48) % 24 <= length + 2 * margin;
}

function isWeekendHour(day: number, hour: number): boolean {
  const d = new Date(day * 86_400_000 + hour * HOUR_MS).getUTCDay();
  return d === 0 || d === 6;
}

export interface HourVerdict {
  /** Seen for at least warmup_days before the day. */
  readonly known: boolean;
  /** Regular enough to judge, and the hour is rare with rare neighbours, outside the usual span. */
  readonly off: boolean;
}

/** The judgement of off_hours for one entity, day and hour, from its hour masks by day (bit h = active in hour h). */
export function judgeHour(masks: ReadonlyMap<number, number>, day: number, h: number, ctx: DetectContext, p: RhythmParams, weekendAt: (day: number, hour: number) => boolean = isWeekendHour): HourVerdict {
  const days = [...masks.keys()];
  if (days.length === 0) return { known: false, off: false };
  const dataDay = Math.floor(ctx.dataStartMs / 86_400_000);
  const lo = Math.max(day - ctx.baselineDays, Math.min(...days), dataDay);
  const hist = day - lo;
  if (hist < Math.max(1, ctx.warmupDays)) return { known: false, off: false };
  const baseline = Array.from({ length: hist }, (_, i) => lo + i);
  const active = baseline.filter((d) => masks.has(d)).length;
  if (active < p.minActiveShare * hist) return { known: true, off: false };
  // Per hour, the earlier days of the same kind (local weekend or not) as this day at that hour, if enough.
  const basisDays = Array.from({ length: 24 }, (_, hour) => {
    const same = baseline.filter((d) => weekendAt(d, hour) === weekendAt(day, hour));
    return same.length >= p.minTypeDays ? same : baseline;
  });
  const basis = basisDays.map((b) => b.length);
  const act = basisDays.map((b, hour) => b.filter((d) => ((masks.get(d) ?? 0) >>> hour) & 1).length);
  if (quietChance(act, basis) > p.maxChance) return { known: true, off: false };
  const rare = (x: number, share: number) => (act[(x + 24) % 24] as number) <= share * (basis[(x + 24) % 24] as number);
  const off = rare(h, p.maxShare) && rare(h - 1, p.neighbourShare) && rare(h + 1, p.neighbourShare) && !inUsualSpan(act, basis, p.maxShare, h, p.spanMarginHours);
  return { known: true, off };
}

export interface AppHourKey {
  readonly sub: string;
  readonly app: string;
  readonly win: number;
}

/**
 * For each app hour, whether every call in it with a principal came from a principal known for warmup_days
 * whose own rhythm does not make the hour off-hours, and the calls without a principal (the app's own) stay
 * below `minCalls`: then the app is only serving people at their usual hours, and its odd hour is theirs,
 * not an intrusion. A principal never seen before excuses nothing.
 */
export async function servingUsualPrincipals(ctx: DetectContext, principalDay: string, keys: readonly AppHourKey[], minCalls: number, p: RhythmParams, lw?: LocalWeek): Promise<Set<string>> {
  const out = new Set<string>();
  if (keys.length === 0) return out;
  const key = (k: AppHourKey) => `${k.sub}\u0000${k.app}\u0000${k.win}`;
  const wins = keys.map((k) => k.win);
  const rows = await ctx.store.query<{ sub: string; app: string; win: string | number; principal: string; c: string }>(`
    SELECT subaccount AS sub, cloud_app AS app, toInt64(intDiv(toUnixTimestamp(ts), 3600)) AS win, principal, count() AS c
    FROM audit_events
    WHERE ts >= {lo:DateTime64(3, 'UTC')} AND ts < {hi:DateTime64(3, 'UTC')} AND subaccount IN {subs:Array(String)}
      AND concat(subaccount, '\\0', cloud_app, '\\0', toString(win)) IN {keys:Array(String)}
    GROUP BY sub, app, win, principal`,
  { lo: chTime(Math.min(...wins) * HOUR_MS), hi: chTime((Math.max(...wins) + 1) * HOUR_MS), subs: [...new Set(keys.map((k) => k.sub))], keys: keys.map(key) });
  const principals = [...new Set(rows.map((r) => r.principal).filter((x) => x !== ''))];
  const masks = new Map<string, Map<number, number>>();
  if (principals.length > 0) {
    const m = await ctx.store.query<{ entity: string; day: string | number; m: string | number }>(
      `SELECT entity, day, groupBitOr(mask) AS m FROM ${principalDay} WHERE sub != '' AND entity IN {ps:Array(String)} GROUP BY entity, day`, { ps: principals });
    for (const r of m) {
      let byDay = masks.get(r.entity);
      if (!byDay) masks.set(r.entity, (byDay = new Map()));
      byDay.set(n(r.day), n(r.m));
    }
  }
  const byKey = new Map<string, { own: number; people: string[] }>();
  for (const r of rows) {
    const k = `${r.sub}\u0000${r.app}\u0000${n(r.win)}`;
    const cur = byKey.get(k) ?? { own: 0, people: [] };
    if (r.principal === '') cur.own += n(r.c);
    else cur.people.push(r.principal);
    byKey.set(k, cur);
  }
  for (const k of keys) {
    const calls = byKey.get(key(k));
    if (!calls || calls.own >= minCalls || calls.people.length === 0) continue;
    const day = Math.floor(k.win / 24);
    const usual = calls.people.every((person) => {
      const v = judgeHour(masks.get(person) ?? new Map(), day, k.win % 24, ctx, p, lw ? (d, hour) => lw.isWeekend(k.sub, d * 86_400_000 + hour * HOUR_MS, day) : undefined);
      return v.known && !v.off;
    });
    if (usual) out.add(key(k));
  }
  return out;
}
