import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LocalClock } from '../../../collector/detect/simulate/calendar.js';
import { APPS } from '../../../collector/detect/simulate/catalog.js';
import { collect } from './fixtures.js';

// Two weeks spanning a month-end, no anomalies: the normal model alone.
const run = collect({ days: 14, subaccounts: 3, seed: 7, rateScale: 0.1, warmupDays: 5, scenarios: [], start: new Date('2026-10-19T00:00:00Z') });
const zones = new Map(run.result.subaccounts.map((s) => [s.name, new LocalClock(s.timeZone)]));

function local(sub: string, ts: string) {
  return (zones.get(sub) as LocalClock).at(Date.parse(ts));
}

function perDate(sub: string, filter: (e: (typeof run.events)[number]) => boolean = () => true): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of run.events) {
    if (e.subaccount !== sub || !filter(e)) continue;
    const d = local(sub, e.ts).date;
    out.set(d, (out.get(d) ?? 0) + 1);
  }
  return out;
}

const PEOPLE_APPS = new Set(APPS.filter((a) => a.kind === 'web' || a.kind === 'office').map((a) => a.name));
const peopleApp = (app: string) => PEOPLE_APPS.has(app);
const isWeekend = (date: string) => [0, 6].includes(new Date(`${date}T00:00:00Z`).getUTCDay());
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const holidayDates = new Map(run.result.novelties.filter((n) => n.kind === 'holiday').map((n) => [`${n.subaccount}|${local(n.subaccount, new Date(Date.parse(n.window_start) + 3_600_000).toISOString()).date}`, n]));

describe('simulate: rhythms', () => {
  for (const { name } of run.result.subaccounts) {
    it(`${name}: people work office hours in the tenant's own time zone; systems run around the clock`, () => {
      const people = new Array<number>(24).fill(0);
      const all = new Array<number>(24).fill(0);
      for (const e of run.events) {
        if (e.subaccount !== name) continue;
        const t = local(name, e.ts);
        if (isWeekend(t.date)) continue;
        all[Math.floor(t.hour)]! += 1;
        if (peopleApp(e.cloud_app)) people[Math.floor(t.hour)]! += 1;
      }
      const office = mean(people.slice(10, 12));
      const night = mean(people.slice(1, 4));
      assert.ok(office > 20 * night, `people: 10-12h ${office} vs 1-4h ${night}`);
      assert.ok(people[12]! < people[10]!, `a lunch dip: 12h ${people[12]} < 10h ${people[10]}`);
      // Integrations, nightly batches and probes keep the night from being empty, but it stays quieter.
      assert.ok(mean(all.slice(1, 4)) > 0 && mean(all.slice(10, 12)) > 1.3 * Math.min(...all), `all: ${all.join(' ')}`);
    });

    it(`${name}: weekends are quiet`, () => {
      const count = (filter: (e: (typeof run.events)[number]) => boolean) => {
        const days = perDate(name, filter);
        const weekdays = [...days].filter(([d]) => !isWeekend(d) && !holidayDates.has(`${name}|${d}`)).map(([, n]) => n).slice(1, -1);
        const weekends = [...days].filter(([d]) => isWeekend(d)).map(([, n]) => n);
        assert.ok(weekends.length >= 2 && weekdays.length >= 5);
        return { weekday: mean(weekdays), weekend: mean(weekends) };
      };
      const people = count((e) => peopleApp(e.cloud_app));
      assert.ok(people.weekday > 8 * people.weekend, `people: weekday ${people.weekday} vs weekend ${people.weekend}`);
      const all = count(() => true);
      assert.ok(all.weekday > 1.5 * all.weekend, `all: weekday ${all.weekday} vs weekend ${all.weekend}`);
    });
  }

  it('a holiday is as quiet as a weekend day', () => {
    assert.ok(holidayDates.size >= 1, 'at least one holiday after the warm-up');
    for (const key of holidayDates.keys()) {
      const [sub, date] = key.split('|') as [string, string];
      const days = perDate(sub, (e) => peopleApp(e.cloud_app));
      const business = [...days].filter(([d]) => !isWeekend(d) && d !== date).map(([, n]) => n).slice(1, -1);
      const holiday = days.get(date) ?? 0;
      assert.ok(holiday < 0.15 * mean(business), `${sub} ${date}: people's calls ${holiday} vs ${mean(business)} on a business day`);
    }
  });

  it('finance and reporting apps work harder at month-end', () => {
    const office = run.result.subaccounts.flatMap((s) => s.apps.filter((a) => ['bi-reports', 'finance-close'].includes(a)).map((a) => ({ sub: s.name, app: a })));
    assert.ok(office.length > 0, 'this seed has an office app');
    for (const { sub, app } of office) {
      const days = perDate(sub, (e) => e.cloud_app === app);
      const monthEnd = run.result.novelties.filter((n) => n.kind === 'month_end' && n.subaccount === sub).map((n) => local(sub, new Date(Date.parse(n.window_start) + 3_600_000).toISOString()).date);
      assert.ok(monthEnd.length >= 1);
      const others = [...days].filter(([d]) => !isWeekend(d) && !monthEnd.includes(d)).map(([, n]) => n);
      assert.ok(mean(monthEnd.map((d) => days.get(d) ?? 0)) > 1.8 * mean(others), `${sub}/${app} month-end ${monthEnd.map((d) => days.get(d))} vs ${mean(others)}`);
    }
  });

  it('path popularity is Zipf-like: a few resources and objects take most calls', () => {
    const prefixes = new Map<string, number>();
    const ids = new Map<string, number>();
    for (const e of run.events) {
      if (e.subaccount !== run.result.subaccounts[0]!.name || e.decision !== 'allow' || e.path === '/health') continue;
      const prefix = e.path.split('/').slice(0, 3).join('/');
      prefixes.set(prefix, (prefixes.get(prefix) ?? 0) + 1);
      if (/\/\d+$/.test(e.path)) ids.set(e.path, (ids.get(e.path) ?? 0) + 1);
    }
    const counts = [...prefixes.values()].sort((a, b) => b - a);
    assert.ok(counts.length >= 4);
    assert.ok(counts[0]! > 2 * counts[3]!, `top prefix ${counts[0]} vs 4th ${counts[3]}`);
    const perId = [...ids.values()].sort((a, b) => b - a);
    assert.ok(perId[0]! >= 10 * perId[Math.floor(perId.length / 2)]!, `hottest object ${perId[0]} vs median ${perId[Math.floor(perId.length / 2)]}`);
  });

  it('tenants differ: their own apps, addresses and user agents', () => {
    const [a, b] = run.result.subaccounts;
    const mix = (sub: string) => {
      const apps = new Set<string>();
      const uas = new Set<string>();
      for (const e of run.events) if (e.subaccount === sub) { apps.add(e.cloud_app); uas.add(e.user_agent); }
      return { apps, uas };
    };
    const ma = mix(a!.name);
    const mb = mix(b!.name);
    assert.notDeepEqual([...ma.apps].sort(), [...mb.apps].sort());
    assert.ok(ma.uas.size >= 3 && mb.uas.size >= 3);
  });

  it('the relay sees scanners without a token, and connector maintenance only on Sundays', () => {
    const unauth = run.events.filter((e) => e.deny_reason === 'unauthenticated');
    assert.ok(unauth.length > 50);
    assert.ok(unauth.every((e) => e.emitter === 'relay' && e.subaccount === '' && e.cloud_app === '' && e.status === 407));
    const noConnector = run.events.filter((e) => e.deny_reason === 'no_connector');
    assert.ok(noConnector.length > 0);
    assert.ok(noConnector.every((e) => e.emitter === 'relay' && e.subaccount !== '' && e.status === 503 && local(e.subaccount, e.ts).weekday === 0));
  });
});
