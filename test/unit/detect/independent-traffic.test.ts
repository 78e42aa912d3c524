// Detection on traffic from a second generator (test/helpers/independent-traffic.ts), written apart from
// the simulator the detectors are tuned and evaluated on: every labelled attack must be found, naming its
// subaccount and entity, and no benign pattern may raise a high or critical finding once it has been seen
// for a week (a weekly job's first run and the first week's warm-up may).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { detectRange } from '../../../collector/detect/run.js';
import type { Finding } from '../../../collector/detect/types.js';
import { independentTraffic, INDEPENDENT_START, type IndependentLabel } from '../../helpers/independent-traffic.js';
import { DAY, emit, load, MINUTE, useStore } from './fixtures.js';

const SLACK = 5 * MINUTE;
const overlaps = (f: Finding, l: IndependentLabel): boolean => Date.parse(f.window_start) < l.toMs + SLACK && Date.parse(f.window_end) > l.fromMs - SLACK;
const line = (f: Finding): string => `${f.severity} ${f.detector} ${f.subaccount} ${f.entity_type}=${f.entity} ${f.window_start}: ${f.title}`;

describe('detection on independently generated traffic', () => {
  const s = useStore();
  const { records, labels } = independentTraffic(23);
  let findings: Finding[] = [];
  before(async () => {
    await load(s.store, emit(records, 'connector-independent'));
    findings = await detectRange(s.store, { from: new Date(INDEPENDENT_START), to: new Date(INDEPENDENT_START + 30 * DAY) });
  });

  it('finds every attack, naming its subaccount and entity', () => {
    assert.equal(labels.length, 9);
    const missed = labels.filter((l) => !findings.some((f) => overlaps(f, l) && (l.subaccount === '' || f.subaccount === l.subaccount) && f.entity === l.entity));
    assert.deepEqual(missed.map((l) => l.name), [], findings.map(line).join('\n'));
  });

  it('raises nothing high or critical for benign traffic after its first week', () => {
    const unexplained = findings.filter((f) => !labels.some((l) => overlaps(f, l) && (l.subaccount === '' || f.subaccount === l.subaccount)));
    const loud = unexplained.filter((f) => Date.parse(f.window_start) >= INDEPENDENT_START + 7 * DAY && (f.severity === 'high' || f.severity === 'critical'));
    assert.deepEqual(loud.map(line), [], `every finding not explained by an attack:\n${unexplained.map(line).join('\n')}`);
  });
});
