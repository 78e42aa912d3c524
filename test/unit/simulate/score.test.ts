import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { falsePositives, misses } from '../../../collector/detect/eval/attribute.js';
import { replaceSection } from '../../../collector/detect/eval/doc.js';
import { detects, explainedBy, mergeTallies, quantile, scoreFindings, type ScoredLabel } from '../../../collector/detect/eval/score.js';
import type { Novelty } from '../../../collector/detect/simulate/world.js';
import type { Finding } from '../../../collector/detect/types.js';

const MIN = 60_000;
const T0 = Date.parse('2026-10-20T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function label(over: Partial<ScoredLabel> = {}): ScoredLabel {
  return {
    scenario: 'deny_burst', detector: 'deny_burst', subaccount: 'acme', entity_type: 'client_ip', entity: '185.220.101.7',
    window_start: iso(T0), window_end: iso(T0 + 10 * MIN), intensity: 'blatant', description: 'test', ...over,
  };
}

let n = 0;
function finding(over: Partial<Finding> & { from?: number; to?: number } = {}): Finding {
  const { from = T0, to = T0 + 10 * MIN, ...rest } = over;
  return {
    finding_id: `f${++n}`, detector: 'deny_burst', severity: 'high', score: 80, subaccount: 'acme', entity_type: 'client_ip', entity: '185.220.101.7',
    window_start: iso(from), window_end: iso(to), title: 't', explanation: 'e', evidence: {}, ...rest,
  };
}

describe('eval: scoring rule', () => {
  it('matches a finding inside the window, and up to 5 minutes on either side, not one millisecond more', () => {
    const l = label();
    assert.ok(detects(finding(), l));
    assert.ok(detects(finding({ from: T0 + 15 * MIN, to: T0 + 20 * MIN }), l), 'starts exactly 5 min after the end');
    assert.ok(!detects(finding({ from: T0 + 15 * MIN + 1, to: T0 + 20 * MIN }), l), '5 min + 1 ms after');
    assert.ok(detects(finding({ from: T0 - 20 * MIN, to: T0 - 5 * MIN }), l), 'ends exactly 5 min before the start');
    assert.ok(!detects(finding({ from: T0 - 20 * MIN, to: T0 - 5 * MIN - 1 }), l));
    assert.ok(detects(finding({ from: T0 - 60 * MIN, to: T0 + 60 * MIN }), l), 'a finding spanning the whole label');
  });

  it('needs the subaccount and, when the label has one, the entity (or an alias of it)', () => {
    const l = label();
    assert.ok(!detects(finding({ subaccount: 'globex' }), l));
    assert.ok(!detects(finding({ entity: '185.220.101.8' }), l), 'entity mismatch');
    assert.ok(detects(finding({ entity_type: 'ip', entity: '185.220.101.7' }), l), 'the entity, whatever type name the detector uses');
    const backend = label({ detector: 'backend_failure', entity_type: 'backend', entity: 'erp.virtual:8000', entity_aliases: ['10.20.1.5:8443'] });
    assert.ok(detects(finding({ detector: 'backend_failure', entity_type: 'backend', entity: '10.20.1.5:8443' }), backend));
    assert.ok(!detects(finding({ detector: 'backend_failure', entity_type: 'backend', entity: 'crm.virtual:443' }), backend));
    const whole = label({ detector: 'peer_deviation', entity_type: '', entity: '' });
    assert.ok(detects(finding({ detector: 'volume_spike', entity_type: 'cloud_app', entity: 'anything' }), whole), 'a label on the whole subaccount takes any entity');
    assert.ok(!detects(finding({ subaccount: 'globex' }), whole));
  });

  it('cross-subaccount labels (subaccount "") match on the entity in any subaccount', () => {
    const l = label({ detector: 'cross_subaccount', subaccount: '', entity_type: 'principal', entity: 'x@partner.example' });
    assert.ok(detects(finding({ detector: 'cross_subaccount', subaccount: '', entity_type: 'principal', entity: 'x@partner.example' }), l));
    assert.ok(detects(finding({ detector: 'off_hours', subaccount: 'globex', entity_type: 'principal', entity: 'x@partner.example' }), l));
    assert.ok(!detects(finding({ detector: 'cross_subaccount', subaccount: '', entity_type: 'principal', entity: 'y@partner.example' }), l));
    const auth = label({ detector: 'auth_failure_burst', subaccount: '', entity: '45.146.165.9' });
    assert.ok(!detects(finding({ detector: 'auth_failure_burst', subaccount: '', entity: '45.146.165.10' }), auth));
  });

  it('a finding naming a related identity of the injected calls is no false positive, but detects nothing', () => {
    const l = label({ related: [{ subaccount: 'acme', entity_type: 'cloud_app', entity: 'order-sync' }] });
    const viaApp = finding({ entity_type: 'cloud_app', entity: 'order-sync' });
    assert.ok(!detects(viaApp, l));
    assert.ok(explainedBy(viaApp, l));
    assert.ok(!explainedBy(finding({ entity_type: 'cloud_app', entity: 'order-sync', subaccount: 'globex' }), l), 'related in its own subaccount only');
    assert.ok(!explainedBy(finding({ entity_type: 'cloud_app', entity: 'order-sync', from: T0 + 60 * MIN, to: T0 + 70 * MIN }), l), 'and in the window');
    const s = scoreFindings([viaApp], [l]);
    assert.equal(s.overall.recall, 0);
    assert.equal(s.overall.precision, 1);
  });

  it('computes recall per label detector, precision per finding detector, and delays', () => {
    const labels = [
      label({ id: 'a' }),
      label({ id: 'b', detector: 'off_hours', entity_type: 'principal', entity: 'p@acme.example', window_start: iso(T0 + 120 * MIN), window_end: iso(T0 + 180 * MIN), intensity: 'subtle' }),
    ];
    const findings = [
      finding({ from: T0 + 5 * MIN, to: T0 + 15 * MIN }),
      finding({ from: T0, to: T0 + 25 * MIN }),
      finding({ detector: 'volume_spike', entity_type: 'cloud_app', entity: 'sales-portal', from: T0 + 300 * MIN, to: T0 + 310 * MIN }),
    ];
    const s = scoreFindings(findings, labels);
    assert.deepEqual({ labels: s.overall.labels, detected: s.overall.detected, findings: s.overall.findings, tp: s.overall.truePositives }, { labels: 2, detected: 1, findings: 3, tp: 2 });
    assert.equal(s.overall.recall, 0.5);
    assert.ok(Math.abs((s.overall.precision as number) - 2 / 3) < 1e-9);
    assert.deepEqual(s.overall.delaysMs, [15 * MIN], 'the earliest window_end of a matching finding minus the label start');
    assert.equal(s.byDetector.get('deny_burst')?.recall, 1);
    assert.equal(s.byDetector.get('deny_burst')?.precision, 1);
    assert.equal(s.byDetector.get('off_hours')?.recall, 0);
    assert.equal(s.byDetector.get('off_hours')?.precision, null, 'no findings of its own');
    assert.equal(s.byDetector.get('volume_spike')?.precision, 0);
    assert.equal(s.byDetector.get('volume_spike')?.recall, null, 'no labels of its own');
    assert.equal(s.byIntensity.get('subtle')?.recall, 0);
    const early = scoreFindings([finding({ from: T0 - 8 * MIN, to: T0 - 2 * MIN })], [label()]);
    assert.deepEqual(early.overall.delaysMs, [0], 'never negative');
  });

  it('adds up several seeds and takes quantiles by nearest rank', () => {
    const a = scoreFindings([finding()], [label()]).overall;
    const b = scoreFindings([finding({ entity: 'other' })], [label()]).overall;
    const m = mergeTallies([a, b]);
    assert.deepEqual([m.labels, m.detected, m.findings, m.truePositives, m.recall, m.precision], [2, 1, 2, 1, 0.5, 0.5]);
    assert.equal(quantile([5, 1, 3, 2, 4], 0.5), 3);
    assert.equal(quantile([5, 1, 3, 2, 4], 0.9), 5);
    assert.equal(quantile([], 0.5), null);
  });

  it('says why a finding is a false positive and what was found instead of a missed label', () => {
    const l = label({ id: 'db' });
    const novelty: Novelty = { kind: 'release', subaccount: 'globex', cloud_app: 'shop', window_start: iso(T0), window_end: iso(T0 + 1440 * MIN), description: 'release of shop' };
    const fps = [
      finding({ subaccount: 'globex', detector: 'rare_user_agent', entity_type: 'user_agent', entity: 'shop/1.3.0' }),
      finding({ entity_type: 'cloud_app', entity: 'crm-sync' }),
      finding({ subaccount: 'initech', entity: '1.2.3.4' }),
    ];
    const s = scoreFindings(fps, [l]);
    assert.deepEqual(falsePositives(s, [l], [novelty]).map((f) => f.cause), ['novelty:release', 'beside_label', 'normal_traffic']);
    const m = misses(s, fps);
    assert.equal(m.length, 1);
    assert.deepEqual(m[0]!.instead.map((f) => f.entity), ['crm-sync']);
  });
});

describe('eval: docs/detection.md sections', () => {
  it('replaces only its own block, and appends it when missing', () => {
    const doc = '# Detection\n\nhand-written\n\n<!-- eval:detect:small:start -->\nold\n<!-- eval:detect:small:end -->\n\nmore text\n';
    const once = replaceSection(doc, 'small', 'new figures');
    assert.equal(once, '# Detection\n\nhand-written\n\n<!-- eval:detect:small:start -->\nnew figures\n<!-- eval:detect:small:end -->\n\nmore text\n');
    const both = replaceSection(once, 'full', 'full figures');
    assert.ok(both.startsWith(once.trimEnd()) && both.endsWith('<!-- eval:detect:full:start -->\nfull figures\n<!-- eval:detect:full:end -->\n'));
    assert.throws(() => replaceSection('<!-- eval:detect:small:start -->', 'small', 'x'), /unbalanced/);
  });
});
