import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { APPS } from '../../../collector/detect/simulate/catalog.js';
import { INTENSITIES } from '../../../collector/detect/simulate/options.js';
import { SCENARIO_IDS, scenarioById } from '../../../collector/detect/simulate/scenarios/index.js';
import type { AuditEvent } from '../../../common/audit/event.js';
import { collect, SMALL } from './fixtures.js';

const run = collect(SMALL);
const warmupEnd = Date.parse('2026-10-01T00:00:00Z') + (SMALL.warmupDays as number) * 86_400_000;

function injected(id: string): AuditEvent[] {
  return run.events.filter((_, i) => run.sources[i] === id);
}

/** The event field a label's entity type names. */
function entityOf(e: AuditEvent, type: string): string {
  switch (type) {
    case 'cloud_app': return e.cloud_app;
    case 'principal': return e.principal;
    case 'client_ip': return e.client_ip;
    case 'user_agent': return e.user_agent;
    case 'backend': return `${e.virtual_host}:${e.virtual_port}`;
    default: throw new Error(`unexpected entity type ${type}`);
  }
}

describe('simulate: injected scenarios', () => {
  it('injects every scenario at every intensity, each with a label', () => {
    assert.deepEqual(run.result.skipped, []);
    const got = run.result.labels.map((l) => `${l.scenario}/${l.intensity}`).sort();
    const want = SCENARIO_IDS.flatMap((s) => INTENSITIES.map((i) => `${s}/${i}`)).sort();
    assert.deepEqual(got, want);
  });

  for (const scenario of SCENARIO_IDS) {
    it(`${scenario}: labels name the detector, a window after the warm-up, and the injected events carry the entity`, () => {
      for (const label of run.result.labels.filter((l) => l.scenario === scenario)) {
        assert.equal(label.detector, scenarioById(scenario)?.detector);
        assert.ok(['blatant', 'moderate', 'subtle'].includes(label.intensity));
        assert.ok(label.description.length > 20);
        const start = Date.parse(label.window_start);
        const end = Date.parse(label.window_end);
        assert.ok(start >= warmupEnd && end > start, `${label.id} window ${label.window_start}..${label.window_end}`);
        const events = injected(label.id);
        assert.equal(events.length, label.injected_events);
        assert.ok(events.length >= 8, `${label.id}: ${events.length} events`);
        for (const e of events) {
          const t = Date.parse(e.ts);
          assert.ok(t >= start && t <= end, `${label.id}: event at ${e.ts} outside its window`);
          if (label.subaccount !== '') assert.equal(e.subaccount, label.subaccount);
          // The relay as a whole ('relay', '*') is every address; a user agent '' is calls without one.
          if (label.entity_type === 'relay') assert.equal(label.entity, '*');
          else if (label.entity !== '' || label.entity_type !== '') assert.equal(entityOf(e, label.entity_type), label.entity, `${label.id}: ${label.entity_type}`);
        }
      }
    });
  }

  it('auth_failure_burst: unauthenticated attempts at the relay, no subaccount', () => {
    for (const label of run.result.labels.filter((l) => l.scenario === 'auth_failure_burst')) {
      assert.equal(label.subaccount, '');
      assert.equal(label.entity_type, 'client_ip');
      for (const e of injected(label.id)) {
        assert.equal(e.emitter, 'relay');
        assert.equal(e.deny_reason, 'unauthenticated');
        assert.equal(e.subaccount, '');
        assert.equal(e.status, 407);
      }
      // The background scanners never come close: one to three knocks per address.
      const others = run.events.filter((e, i) => run.sources[i] === '' && e.client_ip === label.entity);
      assert.equal(others.length, 0);
    }
  });

  it('cross_subaccount: one identity in at least three subaccounts within the window', () => {
    for (const label of run.result.labels.filter((l) => l.scenario === 'cross_subaccount')) {
      assert.equal(label.subaccount, '');
      const tenants = new Set(injected(label.id).map((e) => e.subaccount));
      assert.ok(tenants.size >= 3, `${label.id}: ${[...tenants]}`);
      // Nobody used that identity before: it is new in every tenant.
      const before = run.events.filter((e, i) => run.sources[i] === '' && entityOf(e, label.entity_type) === label.entity);
      assert.equal(before.length, 0);
    }
  });

  it('intensities are ordered: blatant injects more than subtle', () => {
    for (const scenario of ['deny_burst', 'path_enumeration', 'auth_failure_burst', 'off_hours', 'rare_user_agent', 'volume_spike']) {
      const n = (i: string) => run.result.labels.find((l) => l.scenario === scenario && l.intensity === i)?.injected_events ?? 0;
      assert.ok(n('blatant') > n('moderate') && n('moderate') > n('subtle'), `${scenario}: ${n('blatant')} > ${n('moderate')} > ${n('subtle')}`);
    }
  });

  it('backend_failure and peer_deviation rewrite normal calls: failed at the backend, or refused', () => {
    for (const label of run.result.labels.filter((l) => l.scenario === 'backend_failure')) {
      const events = injected(label.id);
      assert.ok(events.every((e) => e.error_type !== '' && e.status >= 502 && `${e.virtual_host}:${e.virtual_port}` === label.entity));
      assert.ok(label.entity_aliases.some((a) => /^10\.\d+\.\d+\.\d+:\d+$/.test(a)), 'the internal host:port is an alias');
    }
    for (const label of run.result.labels.filter((l) => l.scenario === 'peer_deviation')) {
      assert.equal(label.entity, '');
      assert.ok(injected(label.id).every((e) => e.decision === 'deny' && e.emitter === 'connector'));
    }
  });

  it('scenarios use no marker the normal traffic lacks: the attack tools are real ones', () => {
    const uas = new Set(run.result.labels.filter((l) => l.entity_type === 'user_agent').map((l) => l.entity));
    // Every other injected call carries a user agent of normal traffic (of this run, or of an app of the
    // catalogue that this run's tenants happen not to have), or none (TCP); cross_subaccount's Postman is its entity.
    const normalUas = new Set([...run.events.filter((_, i) => run.sources[i] === '').map((e) => e.user_agent), ...APPS.flatMap((a) => a.userAgents.map(([ua]) => ua))]);
    // An agent label names a real tool or library default, no agent at all, or another app's own agent.
    for (const ua of uas) assert.ok(ua === '' || normalUas.has(ua) || /^(sqlmap|curl|HTTPie|insomnia|Wget|node-fetch|PostmanRuntime|Python)\//.test(ua), ua);
    for (const label of run.result.labels.filter((l) => l.entity_type !== 'user_agent')) {
      for (const e of injected(label.id)) assert.ok(e.user_agent === '' || normalUas.has(e.user_agent), `${label.id}: ${e.user_agent}`);
    }
  });

  it('labels name the other identities of the injected calls as related', () => {
    const ip = run.result.labels.find((l) => l.scenario === 'deny_burst' && l.intensity === 'blatant')!;
    assert.ok(ip.related.some((r) => r.entity_type === 'cloud_app' && r.subaccount === ip.subaccount), JSON.stringify(ip.related));
    assert.ok(!ip.related.some((r) => r.entity === ip.entity));
  });
});
