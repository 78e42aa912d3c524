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
    // A vendor's engineer works 09:00-11:00 in acme and 14:00-17:00 in globex; on day 8 at 15:00 in acme,
    // an hour acme never saw it in, but within its own working day.
    // Erin uses the reports app 09:00-17:00; a night operator works 01:00-04:00 every day in erp-portal
    // and on day 8 at 02:00 pulls something from reports; at 05:00 the reports app's own token (no user) calls.
    const vendor = (ts: number, subaccount: string) => call(ts, { subaccount, principal: 'engineer@vendor.example', client_ip: '198.51.100.40' });
    const more: CallRecord[] = [];
    for (let day = 0; day < 8; day++) {
      more.push(...spread(24, at(day, 1), at(day, 4), (ts) => call(ts, { principal: 'night.ops@acme.example' })));
      if (day % 7 === 5 || day % 7 === 6) continue;
      more.push(...spread(12, at(day, 9), at(day, 11), (ts) => vendor(ts, 'acme')), ...spread(18, at(day, 14), at(day, 17), (ts) => vendor(ts, 'globex')));
      more.push(...spread(40, at(day, 9), at(day, 17), (ts) => call(ts, { cloud_app: 'reports', principal: 'erin@acme.example' })));
    }
    more.push(...spread(10, at(8, 15, 5), at(8, 15, 40), (ts) => vendor(ts, 'acme')));
    more.push(...spread(20, at(8, 2, 5), at(8, 2, 45), (ts) => call(ts, { cloud_app: 'reports', principal: 'night.ops@acme.example' })));
    more.push(...spread(20, at(8, 5, 5), at(8, 5, 45), (ts) => call(ts, { cloud_app: 'reports', principal: '' })));
    await load(s.store, emit(more, 'connector-inject-2'));
  });

  it('flags the principal active at 03:00 UTC, an hour she never works', async () => {
    const findings = (await detectRange(s.store, range(at(8, 0), at(9, 0)), only)).filter((f) => f.entity_type === 'principal');
    assert.equal(findings.length, 1, JSON.stringify(findings, null, 2));
    const f = findings[0]!;
    assert.deepEqual([f.detector, f.subaccount, f.entity_type, f.entity], ['off_hours', 'acme', 'principal', 'dora@acme.example']);
    assert.deepEqual([f.window_start, f.window_end], [iso(at(8, 3)), iso(at(8, 4))]);
    assert.equal(f.evidence.observed, 20);
    assert.equal(f.evidence.active_days_in_hour, 0);
    assert.equal(f.evidence.basis, 'weekdays');
    assert.match(f.explanation, /active in that hour on 0 of the last \d+ weekdays/);
  });

  it('judges a principal by its hours in every subaccount, and an app by who used it', async () => {
    const findings = (await detectRange(s.store, range(at(8, 0), at(9, 0)), only)).filter((f) => f.entity_type === 'cloud_app');
    // reports at 02:00 only served the night operator at its usual hours; at 05:00 it called on its own.
    assert.deepEqual(findings.map((f) => [f.entity, f.window_start]), [['reports', iso(at(8, 5))]]);
    assert.match(findings[0]!.explanation, /more than 2 hours outside the span of its usual hours/);
  });

  it('stays quiet for office hours and for apps busy around the clock', async () => {
    assert.deepEqual(await detectRange(s.store, range(at(3, 0), at(8, 0)), only), []);
  });
});

describe('off_hours in a local week that is not UTC', () => {
  const s = useStore();
  // Kenji works 07:00-16:00 in Tokyo (UTC+9) on local weekdays: 22:00-07:00 UTC, so his Monday starts on a
  // UTC Sunday evening. The store's first week is read as UTC (too little history to learn the week yet).
  // On day 19, a UTC Saturday, his account is busy at 12:30-13:15 UTC, 21:30 on a local Saturday evening.
  const kenji = (ts: number) => call(ts, { subaccount: 'tokyo-co', cloud_app: 'sales-portal', principal: 'kenji@tokyo-co.example' });
  before(async () => {
    const calls: CallRecord[] = [];
    for (let day = 0; day < 21; day++) {
      if (day % 7 === 5 || day % 7 === 6) continue;
      if (day > 0) calls.push(...spread(30, at(day - 1, 22), at(day, 0), kenji));
      calls.push(...spread(140, at(day, 0), at(day, 7), kenji));
    }
    calls.push(...spread(14, at(19, 12, 30), at(19, 13, 15), kenji));
    await load(s.store, emit(calls));
  });

  it('reads every baseline day in the week known on the judged day, whatever range the sweep covers', async () => {
    // Read as UTC, the first Sunday evening (his Monday morning) would be weekend activity at 22:00 and
    // make his weekends look irregular; read in his week it is a workday. A full replay and a run of that
    // day alone must agree.
    for (const [from, to] of [[at(0, 0), at(21, 0)], [at(19, 0), at(20, 0)]] as const) {
      const findings = await detectRange(s.store, range(from, to), only);
      assert.deepEqual(findings.map((f) => [f.entity, f.window_start]), [['kenji@tokyo-co.example', iso(at(19, 12))]], `sweep ${iso(from)}..${iso(to)}`);
      assert.match(findings[0]!.explanation, /weekend days \(local week UTC\+\d+\)/);
    }
  });
});

describe('off_hours for a session across the turn of an hour', () => {
  const s = useStore();
  // Gus and Hal work 09:00-17:00 UTC on weekdays. On day 8, Gus's account is busy from 21:40 to 22:20
  // (two 10-minute slots in each hour, four in the hour from 21:30); Hal's makes as many calls, but in 16
  // minutes around 22:00 (one slot in each hour): a blip, not a session.
  const person = (principal: string) => (ts: number) => call(ts, { principal });
  before(async () => {
    const calls: CallRecord[] = [];
    for (let day = 0; day < 9; day++) {
      if (day % 7 === 5 || day % 7 === 6) continue;
      for (const who of ['gus@acme.example', 'hal@acme.example']) calls.push(...spread(64, at(day, 9), at(day, 17), person(who)));
    }
    calls.push(...spread(12, at(8, 21, 40), at(8, 22, 20), person('gus@acme.example')));
    // Ivy and Jo keep the same office hours. Ivy's account is busy from 23:40 on day 7 to 00:20 on day 8
    // (two slots on each side of midnight UTC, four in the hour from 23:30); Jo's makes as many calls in
    // 16 minutes around midnight.
    for (let day = 0; day < 9; day++) {
      if (day % 7 === 5 || day % 7 === 6) continue;
      for (const who of ['ivy@acme.example', 'jo@acme.example']) calls.push(...spread(64, at(day, 9), at(day, 17), person(who)));
    }
    calls.push(...spread(12, at(7, 23, 40), at(8, 0, 20), person('ivy@acme.example')));
    calls.push(...spread(6, at(7, 23, 52), at(8, 0, 0), person('jo@acme.example')), ...spread(6, at(8, 0, 0), at(8, 0, 8), person('jo@acme.example')));
    calls.push(...spread(6, at(8, 21, 52), at(8, 22, 0), person('hal@acme.example')), ...spread(6, at(8, 22, 0), at(8, 22, 8), person('hal@acme.example')));
    await load(s.store, emit(calls));
  });

  it('counts 40 minutes of activity from 21:40 as busy in both hours it touches, and a 16-minute blip in neither', async () => {
    const findings = (await detectRange(s.store, range(at(8, 0), at(9, 0)), only)).filter((f) => f.entity_type === 'principal');
    assert.deepEqual(findings.filter((f) => f.window_start >= iso(at(8, 12))).map((f) => [f.entity, f.window_start, f.window_end]), [['gus@acme.example', iso(at(8, 21)), iso(at(8, 23))]]);
  });

  it('counts the same across midnight UTC, where the days meet', async () => {
    const findings = (await detectRange(s.store, range(at(7, 12), at(8, 12)), only)).filter((f) => f.entity_type === 'principal');
    assert.deepEqual(findings.map((f) => [f.entity, f.window_start, f.window_end]), [['ivy@acme.example', iso(at(7, 23)), iso(at(8, 1))]]);
    // A sweep of the second day alone still sees the day before as its neighbour.
    const second = (await detectRange(s.store, range(at(8, 0), at(8, 12)), only)).filter((f) => f.entity_type === 'principal');
    assert.deepEqual(second.map((f) => [f.entity, f.window_start, f.window_end]), [['ivy@acme.example', iso(at(8, 0)), iso(at(8, 1))]]);
  });
});

describe('off_hours in a sweep over a later range (a live run) knows principals from before its horizon', () => {
  const s = useStore();
  // Baseline 7 days: judging day 17, the horizon begins on day 10.
  const config = { ...only, baseline_days: 7 };
  before(async () => {
    await load(s.store, background(18));
    // Frank works 09:00-17:00 every day but days 10-12 (the horizon begins while he is away), and on day
    // 17 also at 03:00.
    const frank = (ts: number) => call(ts, { principal: 'frank@acme.example' });
    const calls: CallRecord[] = [];
    for (let day = 0; day < 17; day++) {
      if (day >= 10 && day <= 12) continue;
      for (let h = 9; h < 17; h++) calls.push(...spread(8, at(day, h), at(day, h + 1), frank));
    }
    calls.push(...spread(20, at(17, 3, 5), at(17, 3, 40), frank));
    await load(s.store, emit(calls, 'connector-inject-5'));
  });

  it('judges him with the history a whole-store sweep gives him', async () => {
    const view = (fs: Awaited<ReturnType<typeof detectRange>>) => fs.filter((f) => f.entity === 'frank@acme.example')
      .map((f) => [f.window_start, f.evidence.history_days, f.evidence.baseline_days, f.evidence.active_days_in_hour]);
    const whole = view(await detectRange(s.store, range(at(0, 0), at(18, 0)), config)).filter((f) => f[0] === iso(at(17, 3)));
    assert.deepEqual(whole, [[iso(at(17, 3)), 7, 5, 0]]);
    // Counted from his first day in the horizon (day 13) he would have 4 days of history.
    assert.deepEqual(view(await detectRange(s.store, range(at(17, 0), at(18, 0)), config)), whole);
  });
});
