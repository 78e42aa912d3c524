// The hash-chain state of every emitter, computed in the store in one pass: rows sorted by seq within each
// emitter, and each row compared with the one or two before it (lagInFrame) to find gaps (seq jumps),
// broken links (prev_hash is not the hash of the stored event seq - 1) and forks (one seq, two hashes).
// Hashes are compared as 64-bit fingerprints (cityHash64 of the hex): the sort then holds ~40 bytes per
// event instead of ~170, which is what lets 10 million events fit one pass; two different SHA-256 values
// collide under it with probability 2^-64 per link.
// No FINAL: an event stored twice (delivered again before the merge collapsed it) has the same seq and
// hash as its copy and is counted once here, which is what FINAL would give, at about half the cost. And
// what FINAL would hide, a second row with the same event_id but other content, shows as a fork.
// What the store cannot check is an event whose content changed with its hash left as it was: that takes
// recomputing the hash from the event, which `tunnelwatch audit verify` does on the emitter's files.
import type { DashboardContext } from '../context.js';
import { chTime, isoTime, num, query } from './query-kit.js';

/** Events of a call that began up to this long before a range still belong to its seq neighbourhood. */
const RANGE_MARGIN_MS = 3_600_000;
/** How many gaps, broken links and forks the summary lists per emitter. */
export const FIRST_FEW = 5;

export interface ChainScope {
  /** Only events with ts in [from, to); undefined = the whole table. */
  readonly from?: Date;
  readonly to?: Date;
  readonly emitterId?: string;
}

interface Built {
  readonly sql: string;
  readonly params: Record<string, unknown>;
}

/**
 * Every event of both hash-chained tables as (source, emitter, emitter_id, seq, ts, fingerprints), with
 * the previous two rows of its chain. With a range, events up to an hour either side are read too, so
 * that the first events of the range are checked against their predecessors; only events inside the
 * range are judged (in_range).
 */
function chainRows(scope: ChainScope): Built {
  const params: Record<string, unknown> = {};
  const filters: string[] = [];
  let inRange = '1';
  if (scope.from && scope.to) {
    params.from = chTime(scope.from);
    params.to = chTime(scope.to);
    params.wide_from = chTime(new Date(scope.from.getTime() - RANGE_MARGIN_MS));
    params.wide_to = chTime(new Date(scope.to.getTime() + RANGE_MARGIN_MS));
    filters.push("ts >= {wide_from:DateTime64(3, 'UTC')} AND ts < {wide_to:DateTime64(3, 'UTC')}");
    inRange = "ts >= {from:DateTime64(3, 'UTC')} AND ts < {to:DateTime64(3, 'UTC')}";
  }
  if (scope.emitterId !== undefined) {
    params.emitter_id = scope.emitterId;
    filters.push('emitter_id = {emitter_id:String}');
  }
  const where = filters.length > 0 ? `WHERE ${filters.join(' AND ')}` : '';
  const columns = `emitter, emitter_id, seq, ts, cityHash64(hash) AS h, cityHash64(prev_hash) AS ph, prev_hash = '' AS genesis, ${inRange} AS in_range`;
  const sql = `SELECT source, emitter, emitter_id, seq, ts, h, ph, genesis, in_range,
      lagInFrame(seq, 1, 0) OVER w AS s1, lagInFrame(h, 1, 0) OVER w AS h1, lagInFrame(ts, 1) OVER w AS t1,
      lagInFrame(seq, 2, 0) OVER w AS s2, lagInFrame(h, 2, 0) OVER w AS h2
    FROM (
      SELECT 'audit' AS source, ${columns} FROM audit_events ${where}
      UNION ALL
      SELECT 'admin' AS source, ${columns} FROM admin_events ${where}
    )
    WINDOW w AS (PARTITION BY source, emitter, emitter_id ORDER BY seq ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)`;
  return { sql, params };
}

/**
 * The judgement of each row: a gap before it, a broken link to its predecessor, or a fork (a second
 * event with the same seq and another hash). An identical copy of an event (same seq, same hash) is
 * neither, and is counted once. With up to two events per seq, a link is fine when either predecessor
 * matches.
 */
function judged(scope: ChainScope): Built {
  const { sql, params } = chainRows(scope);
  return {
    params,
    sql: `SELECT *,
        in_range AND s1 > 0 AND seq > s1 + 1 AS gap,
        in_range AND (
          (seq = 1 AND NOT genesis)
          OR (seq > 1 AND (s1 = seq - 1 OR s2 = seq - 1) AND NOT ((s1 = seq - 1 AND h1 = ph) OR (s2 = seq - 1 AND h2 = ph)))
        ) AS broken,
        in_range AND s1 = seq AND h1 != h AS fork,
        in_range AND NOT (s1 = seq AND h1 = h) AS counted
      FROM (${sql})`,
  };
}

export interface SeqRange {
  from_seq: number;
  to_seq: number;
  missing: number;
  /** ts of the stored event just before the gap, and of the one just after it. */
  after_ts: string;
  before_ts: string;
}

export interface SeqMark {
  seq: number;
  ts: string;
}

export type ChainStatus = 'ok' | 'gaps' | 'broken';

export interface EmitterChain {
  source: 'audit' | 'admin';
  emitter: string;
  emitter_id: string;
  status: ChainStatus;
  events: number;
  first_seq: number;
  last_seq: number;
  last_ts: string;
  gaps: number;
  missing_events: number;
  first_gaps: SeqRange[];
  broken_links: number;
  first_broken: SeqMark[];
  forks: number;
  first_forks: SeqMark[];
}

function tuples(value: unknown): unknown[][] {
  return Array.isArray(value) ? (value as unknown[][]) : [];
}

export async function chainSummaries(ctx: DashboardContext, scope: ChainScope): Promise<EmitterChain[]> {
  const { sql, params } = judged(scope);
  const rows = await query(ctx, `SELECT source, emitter, emitter_id,
      countIf(counted) AS n_events, minIf(seq, in_range) AS first_seq, maxIf(seq, in_range) AS last_seq, maxIf(ts, in_range) AS last_ts,
      countIf(gap) AS n_gaps, sumIf(seq - s1 - 1, gap) AS n_missing,
      groupArraySortedIf(${FIRST_FEW})((s1 + 1, seq - 1, t1, ts), gap) AS first_gaps,
      countIf(broken) AS n_broken, groupArraySortedIf(${FIRST_FEW})((seq, ts), broken) AS first_broken,
      countIf(fork) AS n_forks, groupArraySortedIf(${FIRST_FEW})((seq, ts), fork) AS first_forks
    FROM (${sql})
    GROUP BY source, emitter, emitter_id
    HAVING n_events > 0
    ORDER BY source DESC, emitter, emitter_id`, params);
  return rows.map((r) => {
    const broken = num(r.n_broken);
    const forks = num(r.n_forks);
    const gaps = num(r.n_gaps);
    return {
      source: r.source === 'admin' ? 'admin' : 'audit',
      emitter: String(r.emitter),
      emitter_id: String(r.emitter_id),
      status: broken > 0 || forks > 0 ? 'broken' : gaps > 0 ? 'gaps' : 'ok',
      events: num(r.n_events),
      first_seq: num(r.first_seq),
      last_seq: num(r.last_seq),
      last_ts: isoTime(r.last_ts),
      gaps,
      missing_events: num(r.n_missing),
      first_gaps: tuples(r.first_gaps).map(rangeOf),
      broken_links: broken,
      first_broken: tuples(r.first_broken).map(markOf),
      forks,
      first_forks: tuples(r.first_forks).map(markOf),
    };
  });
}

function rangeOf(t: unknown[]): SeqRange {
  const from = num(t[0]);
  const to = num(t[1]);
  return { from_seq: from, to_seq: to, missing: to - from + 1, after_ts: isoTime(t[2]), before_ts: isoTime(t[3]) };
}

function markOf(t: unknown[]): SeqMark {
  return { seq: num(t[0]), ts: isoTime(t[1]) };
}

/** One page of an emitter's gaps (or broken links and forks), in seq order. */
export async function chainGaps(ctx: DashboardContext, scope: ChainScope & { emitterId: string }, source: 'audit' | 'admin', page: { offset: number; limit: number }): Promise<SeqRange[]> {
  const { sql, params } = judged(scope);
  const rows = await query(ctx, `SELECT s1 + 1 AS from_seq, seq - 1 AS to_seq, t1, ts FROM (${sql})
    WHERE gap AND source = {source:String} ORDER BY from_seq LIMIT {limit:UInt32} OFFSET {offset:UInt64}`,
  { ...params, source, limit: page.limit, offset: page.offset });
  return rows.map((r) => rangeOf([r.from_seq, r.to_seq, r.t1, r.ts]));
}

export interface LinkProblem extends SeqMark {
  kind: 'broken_link' | 'fork';
}

export async function chainLinks(ctx: DashboardContext, scope: ChainScope & { emitterId: string }, source: 'audit' | 'admin', page: { offset: number; limit: number }): Promise<LinkProblem[]> {
  const { sql, params } = judged(scope);
  const rows = await query(ctx, `SELECT seq, ts, if(fork, 'fork', 'broken_link') AS kind FROM (${sql})
    WHERE (broken OR fork) AND source = {source:String} ORDER BY seq, kind LIMIT {limit:UInt32} OFFSET {offset:UInt64}`,
  { ...params, source, limit: page.limit, offset: page.offset });
  return rows.map((r) => ({ seq: num(r.seq), ts: isoTime(r.ts), kind: r.kind === 'fork' ? 'fork' : 'broken_link' }));
}
