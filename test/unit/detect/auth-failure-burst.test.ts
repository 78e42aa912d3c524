import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { detectRange } from '../../../collector/detect/run.js';
import { at, background, call, emit, iso, load, onlyDetectors, range, spread, useStore } from './fixtures.js';

const only = onlyDetectors(['auth_failure_burst']);
const unauthenticated = (ip: string) => (ts: number, i: number) => call(ts, {
  subaccount: '', cloud_app: '', principal: '', client_ip: ip, decision: 'deny', deny_reason: 'unauthenticated', status: 407,
  rule_id: '', internal_host: '', internal_port: 0, path: `/api/orders/${i}`, user_agent: 'python-requests/2.31.0',
});

describe('auth_failure_burst', () => {
  const s = useStore();
  before(async () => {
    await load(s.store, background(9));
    await load(s.store, emit(spread(60, at(8, 14, 2), at(8, 14, 4), unauthenticated('198.51.100.66'))));
    // On the store's second day: too little history to trust a baseline.
    await load(s.store, emit(spread(40, at(1, 9, 0), at(1, 9, 3), unauthenticated('198.51.100.9')), 'connector-inject-2'));
  });

  it('flags 60 unauthenticated attempts from one IP at the relay, subaccount ""', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.equal(findings.length, 1, JSON.stringify(findings, null, 2));
    const f = findings[0]!;
    assert.deepEqual([f.detector, f.subaccount, f.entity_type, f.entity], ['auth_failure_burst', '', 'client_ip', '198.51.100.66']);
    assert.deepEqual([f.window_start, f.window_end], [iso(at(8, 14, 0)), iso(at(8, 14, 15))]);
    assert.equal(f.evidence.observed, 60);
    assert.deepEqual(f.evidence.user_agents, ['python-requests/2.31.0']);
    assert.match(f.explanation, /made 60 attempts the relay refused as unauthenticated in 15 minutes/);
    assert.ok(f.score >= 55, String(f.score));
  });

  it('reports a burst during the warm-up at low severity and says why', async () => {
    const [f, ...rest] = await detectRange(s.store, range(at(1, 0), at(2, 0)), only);
    assert.equal(rest.length, 0);
    assert.equal(f?.entity, '198.51.100.9');
    assert.equal(f?.severity, 'low');
    assert.match(f?.explanation ?? '', /warm-up/);
  });

  it('stays quiet over days of ordinary traffic', async () => {
    assert.deepEqual(await detectRange(s.store, range(at(3, 0), at(8, 0)), only), []);
  });
});

describe('auth_failure_burst spread over many addresses', () => {
  const s = useStore();
  before(async () => {
    await load(s.store, background(9));
    // A few internet scanners knock once or twice every hour of every day: the relay's background.
    await load(s.store, emit(Array.from({ length: 9 * 24 }, (_, h) => spread(1 + (h % 2), at(0, 0) + h * 3_600_000 + 600_000, at(0, 0) + h * 3_600_000 + 602_000, unauthenticated(`192.0.2.${h % 200}`))).flat(), 'relay-background'));
    // Every day one address guesses 300 tokens in a few minutes (the per-address finding's): days like
    // that must not raise the relay-wide bar.
    await load(s.store, emit(Array.from({ length: 8 }, (_, day) => spread(300, at(day, 5, 0), at(day, 5, 5), unauthenticated(`198.51.100.${200 + day}`))).flat(), 'relay-guessers'));
    // Day 8, 02:00-02:40: 80 addresses, 5 attempts each, tokens tried in turn (credential stuffing from a
    // pool of proxies): no address comes near the per-address floor.
    await load(s.store, emit(Array.from({ length: 80 }, (_, a) => spread(5, at(8, 2, 0) + a * 29_000, at(8, 2, 40), unauthenticated(`203.0.113.${a + 100}`))).flat(), 'relay-stuffing'));
  });

  it('flags the relay-wide burst, naming how many addresses', async () => {
    const findings = (await detectRange(s.store, range(at(8, 0), at(9, 0)), only)).filter((f) => f.entity_type === 'relay');
    assert.deepEqual(findings.map((f) => [f.subaccount, f.entity_type, f.entity, f.window_start, f.window_end]), [['', 'relay', '*', iso(at(8, 2, 0)), iso(at(8, 2, 45))]], JSON.stringify(findings, null, 2));
    const f = findings[0]!;
    assert.ok((f.evidence.client_ips as number) >= 60, JSON.stringify(f.evidence));
    assert.ok((f.evidence.attempts as number) >= 100, JSON.stringify(f.evidence));
    assert.match(f.title, /unauthenticated attempts at the relay from \d+ client IPs in 15 minutes/);
  });

  it('stays quiet for the scanners\' background, and names each single guesser by its address only', async () => {
    const findings = await detectRange(s.store, range(at(3, 0), at(8, 0)), only);
    assert.deepEqual(findings.map((f) => f.entity_type), ['client_ip', 'client_ip', 'client_ip', 'client_ip', 'client_ip'], JSON.stringify(findings, null, 2));
  });
});
