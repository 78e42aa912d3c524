import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { detectRange } from '../../../collector/detect/run.js';
import { at, background, call, emit, iso, load, onlyDetectors, range, spread, useStore } from './fixtures.js';

const only = onlyDetectors(['exfiltration']);

describe('exfiltration', () => {
  const s = useStore();
  before(async () => {
    await load(s.store, background(9));
    // Day 8, 20:00-21:00: analytics pulls 40 x 2 MB of contacts from the CRM.
    await load(s.store, emit(spread(40, at(8, 20, 5), at(8, 20, 50), (ts, i) => call(ts, {
      cloud_app: 'analytics', virtual_host: 'crm.virtual', virtual_port: 443, internal_host: '10.0.0.9', internal_port: 443,
      path: `/crm/contacts/export/${i}`, rule_id: 'acme-crm-contacts', bytes_out: 2_000_000,
    }))));
  });

  it('flags the app that received 80 MB from one backend, naming the backend', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.equal(findings.length, 1, JSON.stringify(findings, null, 2));
    const f = findings[0]!;
    assert.deepEqual([f.detector, f.subaccount, f.entity_type, f.entity], ['exfiltration', 'acme', 'cloud_app', 'analytics']);
    assert.deepEqual([f.window_start, f.window_end], [iso(at(8, 20)), iso(at(8, 21))]);
    assert.equal(f.evidence.backend, 'crm.virtual:443');
    assert.ok((f.evidence.pair_bytes as number) >= 80_000_000);
    assert.equal(f.evidence.largest_response_bytes, 2_000_000);
    assert.match(f.explanation, /went from backend crm\.virtual:443 to cloud app "analytics"/);
    assert.equal(f.evidence.sample_event_ids?.length, 20);
  });

  it('stays quiet over days of ordinary traffic', async () => {
    assert.deepEqual(await detectRange(s.store, range(at(3, 0), at(8, 0)), only), []);
  });
});

describe('exfiltration of a slow drip', () => {
  const s = useStore();
  before(async () => {
    await load(s.store, background(9));
    // Day 8, 06:00-11:55: analytics pulls 60 x 250 kB of contacts, 2.5 MB an hour: below the hourly
    // threshold's 5 MB excess in every hour, 15 MB in six hours against about 1 MB usual.
    await load(s.store, emit(spread(60, at(8, 6, 0), at(8, 11, 55), (ts, i) => call(ts, {
      cloud_app: 'analytics', virtual_host: 'crm.virtual', virtual_port: 443, internal_host: '10.0.0.9', internal_port: 443,
      path: `/crm/contacts/page/${i}`, rule_id: 'acme-crm-contacts', bytes_out: 250_000,
    }))));
  });

  it('flags the app in the long window', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.deepEqual(findings.map((f) => [f.entity, f.window_start, f.window_end, f.evidence.window_minutes]), [['analytics', iso(at(8, 6)), iso(at(8, 12)), 360]], JSON.stringify(findings, null, 2));
    assert.equal(findings[0]!.evidence.backend, 'crm.virtual:443');
    assert.ok((findings[0]!.evidence.pair_bytes as number) >= 15_000_000);
  });
});
