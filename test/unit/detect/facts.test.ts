// The per-entity day tables of a sweep (facts.ts): the user-agent table, grouped by a hash of subaccount,
// cloud app and agent, holds exactly what grouping by the values gives (the empty agent included), and is
// built again by value when hashes collide.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DetectContext } from '../../../collector/detect/detector.js';
import { HASH, agentAppDayTable } from '../../../collector/detect/facts.js';
import { createScratch } from '../../../collector/detect/scratch.js';
import { detectRange } from '../../../collector/detect/run.js';
import { at, background, call, DAY, emit, load, range, spread, T0, useStore } from './fixtures.js';

interface DayRow { sub: string; app: string; entity: string; day: string | number; calls: string | number; denied: string | number; mask: number }

// Agents that differ in one byte, a NUL, markup and non-ASCII text, none at all, and one agent in two subaccounts.
const AGENTS = ['curl/8.5.0', 'curl/8.5.1', 'x\u0000y', '<script>"\'', 'Größe/1.0 ☃', 'tw-test-agent/9.99', ''];

describe('entity day tables', () => {
  const s = useStore();
  const originalKey = HASH.key;
  before(async () => {
    await load(s.store, background(4));
    const calls = AGENTS.flatMap((agent, i) => [
      ...spread(5 + i, at(2, 9 + i), at(2, 9 + i, 50), (ts) => call(ts, { user_agent: agent })),
      ...spread(3, at(3, 20), at(3, 21), (ts) => call(ts, { subaccount: 'globex', cloud_app: 'shop', user_agent: agent, decision: i % 2 === 0 ? 'deny' : 'allow' })),
    ]);
    await load(s.store, emit(calls, 'connector-inject'));
  });
  after(() => {
    HASH.key = originalKey;
  });

  async function dayTable(): Promise<{ table: string; byValue: boolean; rows: DayRow[]; drop: () => Promise<void> }> {
    const scratch = createScratch(s.store);
    const ctx: DetectContext = { store: s.store, fromMs: T0 + 2 * DAY, toMs: T0 + 4 * DAY, baselineDays: 14, warmupDays: 3, maxSamples: 5, dataStartMs: T0, scratch };
    const table = await agentAppDayTable(ctx);
    const rows = await s.store.query<DayRow>(`SELECT sub, app, entity, day, calls, denied, mask FROM ${table} ORDER BY sub, app, entity, day`);
    // Grouped by hash, or built again by value (the table of that name).
    return { table, byValue: table.endsWith('_user_agent_app_day_exact'), rows, drop: () => scratch.drop() };
  }

  it('holds per subaccount, app, agent and day what grouping by the values gives', async () => {
    const { table, byValue, rows, drop } = await dayTable();
    try {
      assert.match(table, /_user_agent_app_day$/);
      assert.equal(byValue, false, 'the hashed table, no collision');
      const exact = await s.store.query<{ sub: string; app: string; entity: string; day: string | number; calls: string | number; denied: string | number; mask: number }>(`
        SELECT subaccount AS sub, cloud_app AS app, user_agent AS entity, toInt64(intDiv(toUnixTimestamp(ts), 86400)) AS day, count() AS calls, countIf(decision = 'deny') AS denied,
          groupBitOr(bitShiftLeft(toUInt32(1), toHour(ts))) AS mask
        FROM audit_events WHERE subaccount != '' GROUP BY sub, app, entity, day ORDER BY sub, app, entity, day`);
      assert.ok(exact.length > AGENTS.length * 2);
      assert.deepEqual(rows.map((r) => [r.sub, r.app, r.entity, Number(r.day), Number(r.calls), Number(r.denied), Number(r.mask)]),
        exact.map((r) => [r.sub, r.app, r.entity, Number(r.day), Number(r.calls), Number(r.denied), Number(r.mask)]));
      for (const agent of AGENTS) assert.equal(rows.filter((r) => r.entity === agent).length, 2, JSON.stringify(agent));
    } finally {
      await drop();
    }
  });

  it('builds the table again by value when groups share a hash, with the same rows', async () => {
    const hashed = await dayTable();
    await hashed.drop();
    // Every subaccount and agent under one hash: each group mixes values.
    HASH.key = () => 'toUInt64(7)';
    try {
      const again = await dayTable();
      try {
        assert.equal(again.byValue, true, 'the collision was seen');
        assert.deepEqual(again.rows, hashed.rows);
      } finally {
        await again.drop();
      }
    } finally {
      HASH.key = originalKey;
    }
  });
});

describe('detection with every hash colliding', () => {
  const s = useStore();
  const originalKey = HASH.key;
  before(async () => {
    await load(s.store, background(12));
    const day = 10;
    await load(s.store, emit([
      // A volume spike, a new resource, an attack tool, and one client IP across five subaccounts.
      ...spread(400, at(day, 13, 0), at(day, 13, 59), (ts) => call(ts, { cloud_app: 'analytics' })),
      ...spread(40, at(day, 15, 0), at(day, 15, 30), (ts) => call(ts, { cloud_app: 'analytics', virtual_host: 'payroll.virtual', rule_id: 'acme-payroll', path: '/payroll/run' })),
      ...spread(15, at(day, 10, 20), at(day, 10, 30), (ts) => call(ts, { cloud_app: 'analytics', user_agent: 'sqlmap/1.7.2#stable (https://sqlmap.org)' })),
      ...['acme', 'globex', 'initech', 'umbrella', 'hooli'].flatMap((sub) => spread(6, at(day, 20, 0), at(day, 20, 40), (ts) => call(ts, { subaccount: sub, client_ip: '203.0.113.77', principal: 'intruder@example.com' }))),
      // A principal probing unmapped hosts (a deny burst), and a client IP walking 60 paths (an enumeration).
      ...spread(40, at(day, 3, 0), at(day, 3, 10), (ts) => call(ts, { principal: 'prober@example.com', decision: 'deny', deny_reason: 'no_mapping', status: 403, virtual_host: 'db.virtual' })),
      ...spread(60, at(day, 4, 0), at(day, 4, 8), (ts, i) => call(ts, { client_ip: '198.51.100.23', decision: 'deny', deny_reason: 'path_not_allowed', status: 403, path: `/admin/${i}` })),
    ], 'connector-inject'));
  });
  after(() => {
    HASH.key = originalKey;
  });

  it('finds what it finds with the real hash: the tables are built again by value', async () => {
    const view = (fs: Awaited<ReturnType<typeof detectRange>>) => fs.map((f) => [f.finding_id, f.detector, f.severity, f.score, f.entity_type, f.entity, f.window_start, f.window_end, JSON.stringify(f.evidence)].join(' | ')).sort();
    const hashed = view(await detectRange(s.store, range(at(9, 0), at(12, 0))));
    for (const detector of ['volume_spike', 'first_seen_resource', 'rare_user_agent', 'cross_subaccount', 'deny_burst', 'path_enumeration']) {
      assert.ok(hashed.some((f) => f.includes(` | ${detector} | `)), `${detector} in ${hashed.join('\n')}`);
    }
    HASH.key = () => 'toUInt64(7)';
    try {
      assert.deepEqual(view(await detectRange(s.store, range(at(9, 0), at(12, 0)))), hashed);
    } finally {
      HASH.key = originalKey;
    }
  });
});
