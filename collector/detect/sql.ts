// Time grids and bound parameters shared by the detectors' SQL. Every window is a multiple of its size
// since the Unix epoch (UTC), so the same window has the same start in a live run, a re-run and a replay,
// which is what keeps finding ids stable.
import type { DetectContext } from './detector.js';

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;

/** ClickHouse DateTime64(3) text for ms since the epoch ('2026-11-27 21:40:54.123', UTC). */
export function chTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

export function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}

export function alignDown(ms: number, stepMs: number): number {
  return Math.floor(ms / stepMs) * stepMs;
}

/** 64-bit integers and floats arrive as strings or numbers; everything else as 0. */
export function n(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value !== '') return Number(value);
  return 0;
}

export function nums(value: unknown): number[] {
  return Array.isArray(value) ? value.map(n) : [];
}

/** One entity's window in a subaccount: the key of the lookups that read a few windows back by key. */
export interface WindowKey {
  readonly subaccount: string;
  readonly entity: string;
  readonly win: number;
}

/** A WindowKey as text; WINDOW_KEY_SQL writes the same text in SQL. */
export function windowKey(k: WindowKey): string {
  return `${k.subaccount}\u0000${k.entity}\u0000${k.win}`;
}

/** windowKey() in SQL over columns sub, entity and win: `WHERE ${WINDOW_KEY_SQL} IN {keys:Array(String)}`. */
export const WINDOW_KEY_SQL = "concat(sub, '\\0', entity, '\\0', toString(win))";

/**
 * The bound parameters of one detector's query over a range: the judged windows [from_win, to_win) on a
 * grid of `wsec` seconds, and the horizon read for their baselines, from `baselineDays` whole days before
 * the day of the first window (never before the store's first event).
 */
export interface WindowGrid {
  readonly windowMs: number;
  readonly wsec: number;
  /** Windows start this long after the multiples of their length (0, or half a window for a shifted grid). */
  readonly offsetMs: number;
  readonly fromWin: number;
  readonly toWin: number;
  /** Horizon start (ms) and its window index. */
  readonly horizonMs: number;
  readonly win0: number;
  /** Windows per day. */
  readonly spd: number;
  /** Day number (since the epoch) of the store's first event, and its window index. */
  readonly dataDay: number;
  readonly dataWin: number;
  readonly params: Record<string, string | number>;
}

/**
 * Window w covers [w x length + offset, (w + 1) x length + offset). A shifted grid (offset half a window)
 * sees whole what straddles two windows of the plain one; a window's day is that of w x length.
 */
export function windowGrid(ctx: DetectContext, windowMinutes: number, offsetMinutes = 0): WindowGrid {
  const windowMs = windowMinutes * MINUTE_MS;
  const wsec = windowMinutes * 60;
  const offsetMs = offsetMinutes * MINUTE_MS;
  const fromWin = Math.floor((ctx.fromMs - offsetMs) / windowMs);
  const toWin = Math.ceil((ctx.toMs - offsetMs) / windowMs);
  const horizonMs = Math.max(alignDown(fromWin * windowMs, DAY_MS) - ctx.baselineDays * DAY_MS, alignDown(ctx.dataStartMs, DAY_MS));
  const win0 = Math.floor(horizonMs / windowMs);
  const spd = DAY_MS / windowMs;
  const dataDay = Math.floor(ctx.dataStartMs / DAY_MS);
  const dataWin = Math.floor(ctx.dataStartMs / windowMs);
  return {
    windowMs, wsec, offsetMs, fromWin, toWin, horizonMs, win0, spd, dataDay, dataWin,
    params: {
      wsec,
      woff: offsetMs / 1000,
      from_win: fromWin,
      to_win: toWin,
      hfrom: chTime(horizonMs),
      // Events after `to` are not read: in a live run they may still be arriving (settle delay).
      hto: chTime(ctx.toMs),
      win0,
      spd,
      bdays: ctx.baselineDays,
      data_day: dataDay,
      data_win: dataWin,
    },
  };
}
