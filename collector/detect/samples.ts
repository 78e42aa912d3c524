// Sample event ids for a detector's hits: the earliest events of each (subaccount, entity, window) that
// match the detector's own filter, read in one query after the windows are known, so the scans that find
// the windows never read event_id.
import type { DetectContext } from './detector.js';
import { chTime, WINDOW_KEY_SQL, windowKey, type WindowKey } from './sql.js';

export interface SampleSpec {
  /** Expressions over audit_events naming the subaccount and the entity of a hit. */
  readonly subaccount: string;
  readonly entity: string;
  /** The detector's filter over audit_events (constant SQL, bound parameters only). */
  readonly where: string;
  readonly params?: Readonly<Record<string, unknown>>;
}

export interface Sample {
  readonly ids: string[];
  /** Events of the key that match the filter (not only the sampled ones). */
  readonly count: number;
}

/** Up to ctx.maxSamples event ids per key, earliest first, and how many events matched (windows of `wsec` seconds, starting `woff` after their multiples). */
export async function fetchSamples(ctx: DetectContext, wsec: number, spec: SampleSpec, keys: readonly WindowKey[], woff = 0): Promise<Map<string, Sample>> {
  const out = new Map<string, Sample>();
  if (keys.length === 0) return out;
  let lo = Infinity;
  let hi = -Infinity;
  for (const k of keys) {
    lo = Math.min(lo, (k.win * wsec + woff) * 1000);
    hi = Math.max(hi, ((k.win + 1) * wsec + woff) * 1000);
  }
  const bySubaccount = spec.subaccount === 'subaccount';
  const rows = await ctx.store.query<{ sub: string; entity: string; win: number | string; ids: string[]; c: string }>(
    `SELECT sub, entity, win, arrayMap(t -> t.2, groupArraySorted({n:UInt32})((ts, event_id))) AS ids, count() AS c
     FROM (
       SELECT ${spec.subaccount} AS sub, ${spec.entity} AS entity, toInt64(intDiv(toUnixTimestamp(ts) - {woff:UInt32}, {wsec:UInt32})) AS win, ts, event_id
       FROM audit_events
       WHERE ts >= {lo:DateTime64(3, 'UTC')} AND ts < {hi:DateTime64(3, 'UTC')} AND (${spec.where})
         ${bySubaccount ? 'AND subaccount IN {subs:Array(String)}' : ''}
     )
     WHERE ${WINDOW_KEY_SQL} IN {keys:Array(String)}
     GROUP BY sub, entity, win`,
    {
      ...spec.params,
      // groupArraySorted needs at least 1; with max_samples 0 the ids are dropped below.
      n: Math.max(1, ctx.maxSamples),
      wsec,
      woff,
      lo: chTime(lo),
      hi: chTime(hi),
      subs: [...new Set(keys.map((k) => k.subaccount))],
      keys: keys.map(windowKey),
    },
  );
  for (const r of rows) {
    out.set(windowKey({ subaccount: r.sub, entity: r.entity, win: Number(r.win) }), { ids: ctx.maxSamples === 0 ? [] : r.ids, count: Number(r.c) });
  }
  return out;
}
