import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { detectRange } from '../../../collector/detect/run.js';
import { at, background, call, emit, iso, load, onlyDetectors, range, spread, useStore } from './fixtures.js';

const only = onlyDetectors(['first_seen_resource']);

describe('first_seen_resource', () => {
  const s = useStore();
  before(async () => {
    await load(s.store, background(9));
    // Day 8, 09:15: analytics reaches a host no app of acme ever used.
    await load(s.store, emit(spread(5, at(8, 9, 15), at(8, 9, 20), (ts, i) => call(ts, {
      cloud_app: 'analytics', virtual_host: 'vault.virtual', virtual_port: 443, internal_host: '10.0.0.99', internal_port: 443,
      path: `/secrets/keys/${1000 + i}`, rule_id: 'acme-vault',
    }))));
    // Day 8, 11:30: erp-portal uses a new resource on a host it uses every day (a release).
    await load(s.store, emit(spread(3, at(8, 11, 30), at(8, 11, 35), (ts, i) => call(ts, { path: `/api/returns/${i}`, rule_id: 'acme-returns' })), 'connector-inject-2'));
    // And new paths under a resource it already uses: not new.
    await load(s.store, emit(spread(3, at(8, 12, 30), at(8, 12, 35), (ts, i) => call(ts, { path: `/api/orders/v2/${i}` })), 'connector-inject-3'));
  });

  it('flags the new host at medium, the new resource on a known host at low, and not new paths of a known resource', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.equal(findings.length, 2, JSON.stringify(findings, null, 2));
    const [host, prefix] = findings;
    assert.deepEqual([host?.subaccount, host?.entity_type, host?.entity, host?.window_start, host?.window_end], ['acme', 'cloud_app', 'analytics', iso(at(8, 9)), iso(at(8, 10))]);
    assert.equal(host?.severity, 'medium');
    assert.deepEqual(host?.evidence.resources, [{ host: 'vault.virtual:443', resource: 'rule acme-vault', kind: 'host_new', calls: 5 }]);
    assert.equal(host?.evidence.sample_event_ids?.length, 5);
    assert.match(host?.explanation ?? '', /a host no app of the subaccount used/);
    assert.deepEqual([prefix?.entity, prefix?.window_start, prefix?.severity], ['erp-portal', iso(at(8, 11)), 'low']);
    const [r2] = prefix?.evidence.resources as { resource: string; kind: string }[];
    assert.deepEqual([r2?.resource, r2?.kind], ['rule acme-returns', 'prefix_new']);
  });

  it('stays quiet over days of ordinary traffic', async () => {
    assert.deepEqual(await detectRange(s.store, range(at(3, 0), at(8, 0)), only), []);
  });
});
