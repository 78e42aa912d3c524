// Dead letters in the store (table export_dead_letters, migration 0014): records an exporter could not
// deliver for good, with the receiver's reason and the record as JSON, until an operator replays them
// (`tunnelwatch siem dead-letters replay`). Every change is a new version of the (exporter, stream,
// record id) row: failing again raises `attempts`, a delivered replay sets state 'replayed'.
import { chTime } from '../detect/sql.js';
import type { Store } from '../store/store.js';
import type { ExportRecord, ExportStream } from './types.js';
import { nextVersion } from './versions.js';

export type DeadLetterState = 'dead' | 'replayed';

export interface StoredDeadLetter {
  readonly exporter: string;
  readonly stream: ExportStream;
  readonly record_id: string;
  readonly reason: string;
  /** RFC 3339: when it last failed. */
  readonly failed_at: string;
  readonly attempts: number;
  readonly state: DeadLetterState;
  /** RFC 3339, or null while not replayed. */
  readonly replayed_at: string | null;
  readonly record: ExportRecord;
}

export interface DeadLetterQuery {
  readonly exporter?: string;
  /** Default: 'dead' only. */
  readonly state?: DeadLetterState | 'any';
  readonly ids?: readonly string[];
  /** Oldest failure first; default 1000. */
  readonly limit?: number;
}

export interface DeadLetterStore {
  /** Records that failed for good, each with its reason; a record already there gets attempts + 1. */
  write(exporter: string, failed: readonly { record: ExportRecord; reason: string }[]): Promise<void>;
  list(query?: DeadLetterQuery): Promise<StoredDeadLetter[]>;
  markReplayed(letters: readonly StoredDeadLetter[]): Promise<void>;
  /** Dead (not replayed) records per exporter. */
  counts(): Promise<Map<string, number>>;
}

interface Row {
  exporter: string; stream: string; record_id: string; reason: string; payload: string; failed_at: string;
  attempts: number | string; state: string; replayed_at: string; version?: number;
}

const ZERO_TIME = '1970-01-01 00:00:00.000';
const iso = (text: string): string => `${text.replace(' ', 'T')}Z`;

function fromRow(r: Row): StoredDeadLetter {
  return {
    exporter: r.exporter,
    stream: r.stream as ExportStream,
    record_id: r.record_id,
    reason: r.reason,
    failed_at: iso(r.failed_at),
    attempts: Number(r.attempts),
    state: r.state as DeadLetterState,
    replayed_at: r.replayed_at === ZERO_TIME ? null : iso(r.replayed_at),
    record: JSON.parse(r.payload) as ExportRecord,
  };
}

const SELECT = 'SELECT exporter, stream, record_id, reason, payload, toString(failed_at) AS failed_at, attempts, state, toString(replayed_at) AS replayed_at FROM export_dead_letters FINAL';

export function storeDeadLetters(store: Store): DeadLetterStore {
  const insert = (rows: Row[]): Promise<unknown> => store.client.insert({ table: 'export_dead_letters', values: rows, format: 'JSONEachRow' });

  return {
    async write(exporter, failed) {
      if (failed.length === 0) return;
      const before = await store.query<{ record_id: string; stream: string; attempts: string }>(
        'SELECT record_id, stream, attempts FROM export_dead_letters FINAL WHERE exporter = {e:String} AND record_id IN {ids:Array(String)}',
        { e: exporter, ids: failed.map((f) => f.record.id) },
      );
      const attempts = new Map(before.map((b) => [`${b.stream}\u0000${b.record_id}`, Number(b.attempts)]));
      const now = chTime(Date.now());
      const version = nextVersion();
      await insert(failed.map(({ record, reason }) => ({
        exporter, stream: record.stream, record_id: record.id, reason, payload: JSON.stringify(record), failed_at: now,
        attempts: (attempts.get(`${record.stream}\u0000${record.id}`) ?? 0) + 1, state: 'dead', replayed_at: ZERO_TIME, version,
      })));
    },

    async list(q = {}) {
      const where: string[] = [];
      const params: Record<string, unknown> = { limit: q.limit ?? 1000 };
      if (q.exporter !== undefined) {
        where.push('exporter = {e:String}');
        params.e = q.exporter;
      }
      if ((q.state ?? 'dead') !== 'any') {
        where.push('state = {state:String}');
        params.state = q.state ?? 'dead';
      }
      if (q.ids) {
        where.push('record_id IN {ids:Array(String)}');
        params.ids = q.ids;
      }
      const rows = await store.query<Row>(`${SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY failed_at, exporter, stream, record_id LIMIT {limit:UInt32}`, params);
      return rows.map(fromRow);
    },

    async markReplayed(letters) {
      if (letters.length === 0) return;
      const now = chTime(Date.now());
      const version = nextVersion();
      await insert(letters.map((l) => ({
        exporter: l.exporter, stream: l.stream, record_id: l.record_id, reason: l.reason, payload: JSON.stringify(l.record),
        failed_at: chTime(Date.parse(l.failed_at)), attempts: l.attempts, state: 'replayed', replayed_at: now, version,
      })));
    },

    async counts() {
      const rows = await store.query<{ exporter: string; n: string }>("SELECT exporter, count() AS n FROM export_dead_letters FINAL WHERE state = 'dead' GROUP BY exporter");
      return new Map(rows.map((r) => [r.exporter, Number(r.n)]));
    },
  };
}
