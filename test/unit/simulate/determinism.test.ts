import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { collect, content, SMALL } from './fixtures.js';

describe('simulate: determinism', () => {
  const a = collect(SMALL);
  const b = collect(SMALL);

  it('makes the same events and labels from the same seed', () => {
    assert.ok(a.events.length > 10_000, `a real amount of traffic (${a.events.length})`);
    assert.equal(b.events.length, a.events.length);
    for (let i = 0; i < a.events.length; i++) {
      // Event ids are drawn by the emitter (UUIDv7 from the clock), so hashes differ; everything else is the seed's.
      assert.deepEqual(content(b.events[i]!), content(a.events[i]!), `event ${i}`);
    }
    assert.deepEqual(b.result.labels, a.result.labels);
    assert.deepEqual(b.result.novelties, a.result.novelties);
  });

  it('makes different traffic from another seed', () => {
    const c = collect({ ...SMALL, seed: 43, days: 6, warmupDays: 5, scenarios: [] });
    const sameStart = collect({ ...SMALL, days: 6, warmupDays: 5, scenarios: [] });
    assert.notDeepEqual(c.events.slice(0, 50).map(content), sameStart.events.slice(0, 50).map(content));
  });

  it('leaves the normal traffic as it is when scenarios are injected', () => {
    const none = collect({ ...SMALL, scenarios: [] });
    assert.equal(none.result.labels.length, 0);
    assert.ok(a.result.labels.length > 0);
    const normalInA = a.events.filter((_, i) => a.sources[i] === '').map(content);
    // Injections add calls and rewrite some normal ones (a failing backend); every other call is untouched,
    // so that a scenario never shifts the baseline around it.
    const rewritten = a.result.labels.filter((l) => ['backend_failure', 'backend_5xx', 'peer_deviation', 'peer_5xx'].includes(l.scenario)).reduce((n, l) => n + l.injected_events, 0);
    assert.equal(none.events.length, normalInA.length + rewritten);
    // Trace ids come from the normal traffic's own random stream: the same call has the same id in both runs.
    const byTrace = new Map(none.events.map((e) => [e.trace_id, content(e)]));
    for (const e of normalInA) {
      const { seq: _s, ...got } = e;
      const twin = byTrace.get(e.trace_id);
      assert.ok(twin, `call ${e.trace_id} exists without scenarios`);
      const { seq: _t, ...want } = twin;
      assert.deepEqual(got, want);
    }
  });
});
