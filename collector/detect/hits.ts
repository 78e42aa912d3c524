// From a detector's judged windows to hits: the window on the grid, score and severity cap, and the
// sample event ids fetched in one query for all of them.
import type { DetectContext, Hit } from './detector.js';
import { fetchSamples, type SampleSpec } from './samples.js';
import { windowKey, type WindowGrid } from './sql.js';

/** A hit before its samples are known, with the key that finds them. */
export type HitDraft = Omit<Hit, 'windowStartMs' | 'windowEndMs' | 'sampleEventIds'> & {
  readonly win: number;
  /** Key of the sample lookup when it differs from (subaccount, entity) (e.g. cross-subaccount hits). */
  readonly sampleSubaccount?: string;
  readonly sampleEntity?: string;
};

export async function finishHits(ctx: DetectContext, grid: WindowGrid, spec: SampleSpec | undefined, drafts: readonly HitDraft[]): Promise<Hit[]> {
  const keyOf = (d: HitDraft) => ({ subaccount: d.sampleSubaccount ?? d.subaccount, entity: d.sampleEntity ?? d.entity, win: d.win });
  const samples = spec ? await fetchSamples(ctx, grid.wsec, spec, drafts.map(keyOf), grid.offsetMs / 1000) : undefined;
  return drafts.map((d) => {
    const { win, sampleSubaccount: _s, sampleEntity: _e, ...rest } = d;
    return {
      ...rest,
      windowStartMs: win * grid.windowMs + grid.offsetMs,
      windowEndMs: (win + 1) * grid.windowMs + grid.offsetMs,
      sampleEventIds: samples?.get(windowKey(keyOf(d)))?.ids ?? [],
    };
  });
}

/** The warm-up cap of the burst detectors: while the store has less history than warmup_days, low only. */
export function warmupCap(partial: boolean): { maxSeverity?: 'low' } {
  return partial ? { maxSeverity: 'low' } : {};
}

/**
 * Raises the score of hits whose entity (a principal or client IP) made no call in its subaccount before
 * the day of the window: a caller never seen before is more suspicious than a known one behaving oddly,
 * and when one burst shows as several entities this lets the new one (an attacker's address) win.
 */
export async function markNewEntities(ctx: DetectContext, grid: WindowGrid, column: 'principal' | 'client_ip', drafts: readonly HitDraft[], bonus = 10): Promise<HitDraft[]> {
  if (drafts.length === 0) return [...drafts];
  const rows = await ctx.store.query<{ sub: string; e: string; first: string }>(
    `SELECT subaccount AS sub, ${column} AS e, toUnixTimestamp64Milli(min(ts)) AS first FROM audit_events
     WHERE ts >= {hfrom:DateTime64(3, 'UTC')} AND ts < {hto:DateTime64(3, 'UTC')} AND subaccount IN {subs:Array(String)} AND ${column} IN {ents:Array(String)}
     GROUP BY sub, e`,
    { hfrom: grid.params.hfrom, hto: grid.params.hto, subs: [...new Set(drafts.map((d) => d.subaccount))], ents: [...new Set(drafts.map((d) => d.entity))] },
  );
  const first = new Map(rows.map((r) => [`${r.sub}\u0000${r.e}`, Number(r.first)]));
  return drafts.map((d) => {
    const seen = first.get(`${d.subaccount}\u0000${d.entity}`) ?? Infinity;
    const dayStart = Math.floor((d.win * grid.windowMs) / 86_400_000) * 86_400_000;
    const isNew = seen >= dayStart && dayStart - ctx.dataStartMs >= 86_400_000;
    return isNew
      ? { ...d, score: Math.min(100, d.score + bonus), explanation: `${d.explanation} The ${column.replace('_', ' ')} made no call in this subaccount before that day (score +${bonus}).`, evidence: { ...d.evidence, new_entity: true } }
      : { ...d, evidence: { ...d.evidence, new_entity: false } };
  });
}
