import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { DetectionSection, liveOptionsFromConfig } from '../../../collector/detect/config-schema.js';
import { DETECTORS } from '../../../collector/detect/registry.js';
import { resolveConfig } from '../../../collector/detect/run.js';

describe('detection config', () => {
  it('fills every detector with its documented defaults', () => {
    const c = resolveConfig();
    assert.equal(c.baseline_days, 14);
    assert.equal(c.warmup_days, 3);
    assert.deepEqual(Object.keys(c.detectors), DETECTORS.map((d) => d.id));
    assert.equal(c.detectors.deny_burst?.min_denied, 20);
    for (const d of DETECTORS) for (const key of Object.keys(d.defaults)) if (key !== 'enabled') assert.ok(d.paramDocs[key], `${d.id}.${key} is documented`);
  });

  it('takes overrides and refuses unknown detectors, unknown keys, wrong types and bad windows', () => {
    assert.equal(resolveConfig({ detectors: { deny_burst: { min_denied: 50 } } }).detectors.deny_burst?.min_denied, 50);
    assert.throws(() => resolveConfig({ detectors: { nope: {} } }), /unknown detector "nope"/);
    assert.throws(() => resolveConfig({ detectors: { deny_burst: { min_denid: 5 } } }), /min_denid is not a setting of deny_burst/);
    assert.throws(() => resolveConfig({ detectors: { deny_burst: { min_denied: true } } }), /must be a number/);
    assert.throws(() => resolveConfig({ detectors: { deny_burst: { window_minutes: 7 } } }), /must divide a day/);
    assert.throws(() => resolveConfig({ detectors: { off_hours: { window_minutes: 30 } } }), /off_hours.window_minutes must be 60/);
    assert.throws(() => resolveConfig({ detectors: { path_enumeration: { long_window_minutes: 350 } } }), /path_enumeration.long_window_minutes must be 0 \(none\) or divide a day/);
    assert.equal(resolveConfig({ detectors: { exfiltration: { long_window_minutes: 0 } } }).detectors.exfiltration?.long_window_minutes, 0);
    assert.throws(() => resolveConfig({ warmup_days: 30 }), /warmup_days must be a whole number from 0 to 14/);
  });

  it('has a collector.yaml section whose defaults become the live options', () => {
    const section = Value.Default(DetectionSection, {}) as Parameters<typeof liveOptionsFromConfig>[0];
    assert.ok(Value.Check(DetectionSection, section), JSON.stringify([...Value.Errors(DetectionSection, section)]));
    const live = liveOptionsFromConfig(section);
    assert.deepEqual([live.enabled, live.intervalMs, live.settleMs, live.lookbackMs], [true, 60_000, 30_000, 7_200_000]);
    assert.equal(resolveConfig(live.config).detectors.volume_spike?.ratio, 3);
    assert.equal(resolveConfig(live.config).detectors.volume_spike?.shifted_windows, true);
    // A switch is a boolean in collector.yaml, not a number.
    const withSwitch = (value: unknown) => Value.Check(DetectionSection, Value.Default(DetectionSection, { detectors: { volume_spike: { shifted_windows: value } } }));
    assert.equal(withSwitch(false), true);
    assert.equal(withSwitch(1), false);
    assert.equal(Value.Check(DetectionSection, { detectors: { deny_burst: { min_denid: 5 } } }), false);
  });
});
