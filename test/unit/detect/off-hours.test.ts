import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { detectRange } from '../../../collector/detect/run.js';
import type { CallRecord } from '../../../common/audit/event.js';
import { at, background, call, emit, iso, load, onlyDetectors, range, spread, useStore } from './fixtures.js';

const only = onlyDetectors(['off_hours']);
const dora = (ts: number) => call(ts, { principal: 'dora@acme.example' });

describe('off_hours', () => {
  const s = useStore();
  before(async () => {
    await load(s.store, background(9));
    // Dora works 09:00-17:00 on weekdays (8 calls an hour) for the first eight days...
    const office: CallRecord[] = [];
    for (let day = 0; day < 9; day++) {
      if (day % 7 === 5 || day % 7 === 6) continue;
      for (let h = 9; h < 17; h++) office.push(...spread(8, at(day, h), at(day, h + 1), dora));
    }
    // ...and on day 8 also at 03:00.
    office.push(...spread(20, at(8, 3, 5), at(8, 3, 40), dora));
    await load(s.store, emit(office));
  });

  it('flags the principal active at 03:00 UTC, an hour she never works', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.equal(findings.length, 1, JSON.stringify(findings, null, 2));
    const f = findings[0]!;
    assert.deepEqual([f.detector, f.subaccount, f.entity_type, f.entity], ['off_hours', 'acme', 'principal', 'dora@acme.example']);
    assert.deepEqual([f.window_start, f.window_end], [iso(at(8, 3)), iso(at(8, 4))]);
    assert.equal(f.evidence.observed, 20);
    assert.equal(f.evidence.active_days_in_hour, 0);
    assert.equal(f.evidence.basis, 'weekdays');
    assert.match(f.explanation, /active in that hour on 0 of the last \d+ weekdays/);
  });

  it('stays quiet for office hours and for apps busy around the clock', async () => {
    assert.deepEqual(await detectRange(s.store, range(at(3, 0), at(8, 0)), only), []);
  });
});
