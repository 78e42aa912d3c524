import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { detectRange } from '../../../collector/detect/run.js';
import { at, background, call, emit, iso, load, onlyDetectors, range, spread, useStore } from './fixtures.js';

const only = onlyDetectors(['backend_failure']);

describe('backend_failure', () => {
  const s = useStore();
  before(async () => {
    await load(s.store, background(9));
    await load(s.store, emit(spread(40, at(8, 11, 10), at(8, 11, 14), (ts) => call(ts, {
      status: 502, error_type: 'connect_refused', bytes_out: 0, backend_ttfb_us: 0,
    }))));
  });

  it('flags the backend whose calls failed 40 times in one 15-minute window, naming the error and the share', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.equal(findings.length, 1, JSON.stringify(findings, null, 2));
    const f = findings[0]!;
    assert.deepEqual([f.detector, f.subaccount, f.entity_type, f.entity], ['backend_failure', 'acme', 'backend', 'erp.virtual:8000']);
    assert.deepEqual([f.window_start, f.window_end], [iso(at(8, 11, 0)), iso(at(8, 11, 15))]);
    assert.ok((f.evidence.failed_share as number) > 0.8, JSON.stringify(f.evidence));
    assert.ok((f.evidence.failures as Record<string, number>).connect_refused! >= 40);
    assert.deepEqual(f.evidence.internal_backends, ['10.0.0.5:8443']);
    assert.notEqual(f.severity, 'critical', 'operational findings stop at high');
  });

  it('stays quiet over days of ordinary traffic (3 % scattered errors)', async () => {
    assert.deepEqual(await detectRange(s.store, range(at(3, 0), at(8, 0)), only), []);
  });
});
