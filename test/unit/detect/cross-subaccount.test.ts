import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { detectRange } from '../../../collector/detect/run.js';
import { at, background, call, emit, iso, load, onlyDetectors, range, spread, useStore } from './fixtures.js';

const only = onlyDetectors(['cross_subaccount']);
const TENANTS = ['acme', 'globex', 'initech', 'umbrella'];

describe('cross_subaccount', () => {
  const s = useStore();
  before(async () => {
    await load(s.store, background(9));
    // Day 8, 16:05-16:40: one person, never seen before, in four tenants.
    await load(s.store, emit(spread(40, at(8, 16, 5), at(8, 16, 40), (ts, i) => call(ts, {
      subaccount: TENANTS[i % 4], principal: 'mallory@evil.example', client_ip: '198.51.100.99', user_agent: 'Mozilla/5.0 (X11; Linux x86_64)',
    }))));
    // A vendor's support engineer looks into a ticket in one of acme, globex and initech every day, and on
    // day 8 in those three and, for the first time, umbrella: an identity that works across tenants,
    // reaching one new to it.
    const support = (ts: number, subaccount: string) => call(ts, { subaccount, principal: 'support@vendor.example', client_ip: '198.51.100.200' });
    await load(s.store, emit([
      ...Array.from({ length: 8 }, (_, day) => spread(5, at(day, 10), at(day, 10, 30), (ts) => support(ts, TENANTS[day % 3] as string))).flat(),
      ...TENANTS.flatMap((sub, i) => spread(5, at(8, 9 + i), at(8, 9 + i, 30), (ts) => support(ts, sub))),
    ], 'connector-inject-2'));
  });

  it('flags the principal seen in four subaccounts new to it, with subaccount "" and the tenants in the evidence, not one that already works across three of them', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.equal(findings.length, 1, JSON.stringify(findings, null, 2));
    const f = findings[0]!;
    assert.deepEqual([f.detector, f.subaccount, f.entity_type, f.entity], ['cross_subaccount', '', 'principal', 'mallory@evil.example']);
    assert.deepEqual([f.window_start, f.window_end], [iso(at(8, 16)), iso(at(8, 17))]);
    assert.deepEqual(f.evidence.subaccounts_that_day, [...TENANTS].sort());
    assert.deepEqual(f.evidence.new_subaccounts, [...TENANTS].sort());
    assert.deepEqual((f.evidence.also_seen_as as { entity_type: string }[]).map((a) => a.entity_type).sort(), ['client_ip', 'user_agent']);
    assert.match(f.explanation, /reached 4 subaccounts that day/);
  });

  it('stays quiet for addresses and agents every tenant shares every day', async () => {
    assert.deepEqual(await detectRange(s.store, range(at(3, 0), at(8, 0)), only), []);
  });
});

describe('cross_subaccount for an identity that stayed in one tenant', () => {
  const s = useStore();
  before(async () => {
    await load(s.store, background(10));
    // alice works in acme every day (the background); on day 8 her identity turns up in globex, on day 9
    // in initech: one new tenant a day, never three in one day.
    await load(s.store, emit([
      ...spread(10, at(8, 15, 0), at(8, 15, 40), (ts) => call(ts, { subaccount: 'globex', cloud_app: 'shop', principal: 'alice@acme.example', client_ip: '198.51.100.31' })),
      ...spread(10, at(9, 15, 0), at(9, 15, 40), (ts) => call(ts, { subaccount: 'initech', cloud_app: 'hr-app', principal: 'alice@acme.example', client_ip: '198.51.100.31' })),
      // A partner's engineer works in acme every day and in globex on days 2 and 5: two tenants of its own,
      // so initech on day 8 is growth, not a single-tenant identity leaving home.
      ...Array.from({ length: 8 }, (_, day) => spread(4, at(day, 11), at(day, 11, 20), (ts) => call(ts, { principal: 'eng@partner.example' }))).flat(),
      ...[2, 5].flatMap((day) => spread(4, at(day, 13), at(day, 13, 20), (ts) => call(ts, { subaccount: 'globex', cloud_app: 'shop', principal: 'eng@partner.example' }))),
      ...spread(4, at(8, 13), at(8, 13, 20), (ts) => call(ts, { subaccount: 'initech', cloud_app: 'hr-app', principal: 'eng@partner.example' })),
    ], 'connector-inject-hop'));
  });

  it('flags each new tenant of the single-tenant principal, at medium at most, not an identity with two tenants of its own', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(10, 0)), only);
    assert.deepEqual(findings.map((f) => [f.subaccount, f.entity_type, f.entity, f.window_start, f.evidence.new_subaccounts, f.severity]), [
      ['', 'principal', 'alice@acme.example', iso(at(8, 15)), ['globex'], 'medium'],
      ['', 'principal', 'alice@acme.example', iso(at(9, 15)), ['initech'], 'medium'],
    ], JSON.stringify(findings, null, 2));
    assert.equal(findings[0]!.evidence.home_subaccount, 'acme');
    assert.match(findings[1]!.explanation, /in acme on \d+ of them \(also seen in globex\): a single-tenant identity/);
  });
});
