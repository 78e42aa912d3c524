// Concurrent call limits per subaccount and cloud app (connector.yaml `limits:`), and how the policy
// compiler checks and reports them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../common/config/load-config.js';
import type { ConnectorConfig } from '../../../connector/agent/config-schema.js';
import { InFlightLimiter } from '../../../connector/acl/limits.js';
import { compilePolicy, describePolicy, type CompiledSubaccount } from '../../../connector/acl/policy.js';

type Subaccounts = ConnectorConfig['subaccounts'];

function rules(limits?: NonNullable<Subaccounts[string]['limits']>, trusted: string[] = []): Subaccounts {
  return {
    acme: { trusted_apps: trusted, mappings: [], ...(limits ? { limits } : {}) },
    globex: { trusted_apps: [], mappings: [] },
  };
}

function sub(s: Subaccounts, name = 'acme'): CompiledSubaccount {
  const compiled = compilePolicy(s).subaccounts.get(name);
  assert.ok(compiled);
  return compiled;
}

describe('InFlightLimiter', () => {
  it('admits up to the per-app limit, then refuses naming the key, and admits again once a call ends', () => {
    const limiter = new InFlightLimiter();
    const acme = sub(rules({ max_calls_in_flight: 0, app_max_calls_in_flight: 2, apps: {} }));
    const a = limiter.admit(acme, 'portal');
    const b = limiter.admit(acme, 'portal');
    assert.equal(a.ok && b.ok, true);
    const c = limiter.admit(acme, 'portal');
    assert.equal(c.ok, false);
    assert.match(c.ok ? '' : c.detail, /cloud app portal has 2 calls in progress in subaccount acme .*limits\.app_max_calls_in_flight: 2/);
    assert.equal(limiter.admit(acme, 'batch').ok, true, 'another app has its own count');
    if (a.ok) a.release();
    assert.equal(limiter.inFlight('acme', 'portal'), 1);
    assert.equal(limiter.admit(acme, 'portal').ok, true);
  });

  it('the subaccount limit counts every app together, and another subaccount is not affected', () => {
    const limiter = new InFlightLimiter();
    const s = rules({ max_calls_in_flight: 3, app_max_calls_in_flight: 0, apps: {} });
    const acme = sub(s);
    const globex = sub(s, 'globex');
    for (const app of ['portal', 'batch', 'reports']) assert.equal(limiter.admit(acme, app).ok, true);
    const refused = limiter.admit(acme, 'other');
    assert.equal(refused.ok, false);
    assert.match(refused.ok ? '' : refused.detail, /subaccount acme has 3 calls in progress .*limits\.max_calls_in_flight: 3/);
    assert.equal(limiter.inFlight('acme'), 3, 'a refused call is not counted');
    for (let i = 0; i < 10; i++) assert.equal(limiter.admit(globex, 'portal').ok, true);
  });

  it('an app of its own in apps replaces app_max_calls_in_flight, 0 meaning none for it', () => {
    const limiter = new InFlightLimiter();
    const acme = sub(rules({ max_calls_in_flight: 0, app_max_calls_in_flight: 1, apps: { batch: 3, trusted: 0 } }));
    for (let i = 0; i < 3; i++) assert.equal(limiter.admit(acme, 'batch').ok, true);
    const fourth = limiter.admit(acme, 'batch');
    assert.match(fourth.ok ? '' : fourth.detail, /limits\.apps\.batch: 3/);
    for (let i = 0; i < 20; i++) assert.equal(limiter.admit(acme, 'trusted').ok, true);
    assert.equal(limiter.admit(acme, 'portal').ok, true);
    assert.equal(limiter.admit(acme, 'portal').ok, false);
  });

  it('release is idempotent and counts survive a new policy (a reload) by name', () => {
    const limiter = new InFlightLimiter();
    const before = sub(rules({ max_calls_in_flight: 0, app_max_calls_in_flight: 2, apps: {} }));
    const a = limiter.admit(before, 'portal');
    assert.ok(a.ok);
    a.release();
    a.release();
    assert.equal(limiter.inFlight('acme', 'portal'), 0);
    assert.equal(limiter.inFlight('acme'), 0);
    const held = [limiter.admit(before, 'portal'), limiter.admit(before, 'portal')];
    // A reload lowers the limit to 1: the two calls in progress go on, the next is refused until one ends.
    const after = sub(rules({ max_calls_in_flight: 0, app_max_calls_in_flight: 1, apps: {} }));
    assert.equal(limiter.admit(after, 'portal').ok, false);
    for (const h of held) if (h.ok) h.release();
    assert.equal(limiter.admit(after, 'portal').ok, true);
  });

  it('without limits nothing is refused', () => {
    const limiter = new InFlightLimiter();
    const acme = sub(rules());
    for (let i = 0; i < 5000; i++) assert.equal(limiter.admit(acme, 'portal').ok, true);
  });
});

describe('limits in the policy', () => {
  it('refuses an app limit for an app outside trusted_apps', () => {
    assert.throws(
      () => compilePolicy(rules({ max_calls_in_flight: 0, app_max_calls_in_flight: 0, apps: { portal: 5, stranger: 2 } }, ['portal'])),
      (err: unknown) => err instanceof ConfigError && /subaccounts\.acme\.limits\.apps\.stranger: not in trusted_apps/.test(err.message) && !/apps\.portal/.test(err.message),
    );
  });

  it('describePolicy reports limits only where some is set', () => {
    const described = describePolicy(compilePolicy(rules({ max_calls_in_flight: 10, app_max_calls_in_flight: 0, apps: { portal: 4 } }))) as { subaccounts: { subaccount: string; limits?: unknown }[] };
    const acme = described.subaccounts.find((s) => s.subaccount === 'acme');
    const globex = described.subaccounts.find((s) => s.subaccount === 'globex');
    assert.deepEqual(acme?.limits, { max_calls_in_flight: 10, app_max_calls_in_flight: 0, apps: { portal: 4 } });
    assert.equal(globex !== undefined && 'limits' in globex, false);
  });
});
