// Covering a range with the multi-grain rollups: the spans must tile the minute-widened range exactly
// (no minute twice, none missing), each span made of whole units of its grain, coarsest in the middle.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cover, levelsFor, minuteBounds, RESOURCE_LEVELS, SERIES_LEVELS, spansWhere, tenantWhere, type Span } from '../../../dashboard/api/overview-levels.js';
import { resolveRange } from '../../../dashboard/api/query-kit.js';
import type { Principal } from '../../../dashboard/roles.js';

const DAY = 86_400;

function checkTiling(spans: readonly Span[], lo: number, hi: number): void {
  let at = lo;
  for (const s of spans) {
    assert.equal(s.lo, at, `contiguous at ${at}: ${JSON.stringify(spans)}`);
    assert.ok(s.hi > s.lo);
    assert.equal(s.lo % s.level, 0, `aligned start ${JSON.stringify(s)}`);
    assert.equal(s.hi % s.level, 0, `aligned end ${JSON.stringify(s)}`);
    at = s.hi;
  }
  assert.equal(at, hi);
}

describe('overview levels', () => {
  it('widens a range to whole minutes, the minute holding `to` included', () => {
    const r = resolveRange({ from: '2026-11-27T10:00:30.500Z', to: '2026-11-27T11:00:00.001Z' });
    assert.deepEqual(minuteBounds(r), { lo: Date.parse('2026-11-27T10:00:00Z') / 1000, hi: Date.parse('2026-11-27T11:01:00Z') / 1000 });
    const aligned = resolveRange({ from: '2026-11-27T10:00:00Z', to: '2026-11-27T11:00:00Z' });
    assert.equal(minuteBounds(aligned).hi, Date.parse('2026-11-27T11:00:00Z') / 1000);
  });

  it('tiles a month with days in the middle and finer grains only towards the ends', () => {
    const lo = Date.parse('2026-10-29T03:07:00Z') / 1000;
    const hi = Date.parse('2026-11-28T03:46:00Z') / 1000;
    const spans = cover(lo, hi, SERIES_LEVELS);
    checkTiling(spans, lo, hi);
    assert.deepEqual(spans.map((s) => s.level), [60, 900, 3600, 21600, 86400, 3600, 900, 60]);
    const day = spans.find((s) => s.level === DAY) as Span;
    assert.equal((day.hi - day.lo) / DAY, 29);
    // Without the quarter hours: minutes straight up to the hours.
    const resources = cover(lo, hi, RESOURCE_LEVELS);
    checkTiling(resources, lo, hi);
    assert.deepEqual(resources.map((s) => s.level), [60, 3600, 86400, 3600, 60]);
  });

  it('tiles any range, however short or aligned', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 500; i++) {
      const lo = 1_790_000_000 - (1_790_000_000 % 60) + random(40 * DAY / 60) * 60;
      const hi = lo + (1 + random(i % 2 === 0 ? 3 * DAY / 60 : 40 * DAY / 60)) * 60;
      for (const levels of [SERIES_LEVELS, RESOURCE_LEVELS, levelsFor(900), levelsFor(21_600), [60]]) {
        const spans = cover(lo, hi, levels);
        checkTiling(spans, lo, hi);
        for (const level of levels) assert.ok(spans.filter((s) => s.level === level).length <= 2, 'at most two spans per grain');
      }
    }
    assert.deepEqual(cover(120, 180, SERIES_LEVELS), [{ level: 60, lo: 120, hi: 180 }]);
    assert.deepEqual(cover(0, 2 * DAY, SERIES_LEVELS), [{ level: DAY, lo: 0, hi: 2 * DAY }]);
    assert.deepEqual(cover(60, 60, SERIES_LEVELS), []);
  });

  it('lets a chart read only grains that divide its bucket', () => {
    assert.deepEqual(levelsFor(60), [60]);
    assert.deepEqual(levelsFor(300), [60]);
    assert.deepEqual(levelsFor(900), [60, 900]);
    assert.deepEqual(levelsFor(1800), [60, 900]);
    assert.deepEqual(levelsFor(3 * 3600), [60, 900, 3600]);
    assert.deepEqual(levelsFor(6 * 3600), [60, 900, 3600, 6 * 3600]);
    assert.deepEqual(levelsFor(DAY), [60, 900, 3600, 6 * 3600, DAY]);
  });

  it('writes the spans as bound parameters, and the scope of the caller', () => {
    const w = spansWhere([{ level: 60, lo: 60, hi: 120 }, { level: 3600, lo: 3600, hi: 7200 }], 'x');
    assert.equal(w.sql, "((level = {x0_level:UInt32} AND t >= toDateTime({x0_lo:UInt32}, 'UTC') AND t < toDateTime({x0_hi:UInt32}, 'UTC'))"
      + " OR (level = {x1_level:UInt32} AND t >= toDateTime({x1_lo:UInt32}, 'UTC') AND t < toDateTime({x1_hi:UInt32}, 'UTC')))");
    assert.deepEqual(w.params, { x0_lo: 60, x0_hi: 120, x0_level: 60, x1_lo: 3600, x1_hi: 7200, x1_level: 3600 });
    assert.equal(spansWhere([{ level: 60, lo: 60, hi: 120 }], 'm', 'minute', null).sql, "((minute >= toDateTime({m0_lo:UInt32}, 'UTC') AND minute < toDateTime({m0_hi:UInt32}, 'UTC')))");
    assert.equal(spansWhere([], 'e').sql, '0');

    const everyone: Principal = { name: 'a', role: 'viewer', via: 'token', subaccounts: '*' };
    const acme: Principal = { name: 'b', role: 'viewer', via: 'token', subaccounts: ['acme'] };
    assert.deepEqual(tenantWhere(everyone), { sql: '', params: {} });
    assert.deepEqual(tenantWhere(acme), { sql: ' AND subaccount IN {scope:Array(String)}', params: { scope: ['acme'] } });
    assert.deepEqual(tenantWhere(acme, 'acme'), {
      sql: ' AND subaccount IN {scope:Array(String)} AND subaccount = {subaccount:String}',
      params: { scope: ['acme'], subaccount: 'acme' },
    });
  });
});
