// The detection evaluation end to end at its CI size (npm run eval:detect -- --size small): simulated
// traffic with labelled anomalies, replayed through every detector in child processes, scored. Fails
// below the targets of issue 5 (recall 0.95, precision 0.90 on seeds nobody tuned on).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runEvaluation } from '../../collector/detect/eval/harness.js';
import { textReport } from '../../collector/detect/eval/report.js';
import { EVALUATION_SEEDS, SIZES, TARGETS, TUNING_SEEDS } from '../../collector/detect/eval/sizes.js';
import { SCENARIOS } from '../../collector/detect/simulate/scenarios/index.js';


describe('eval:detect (small)', { timeout: 15 * 60_000 }, () => {
  let report: Awaited<ReturnType<typeof runEvaluation>> | undefined;
  let text = '';

  it('simulates, replays and scores every detector on the evaluation seeds', async () => {
    const seeds = SIZES.small.seeds;
    assert.ok(seeds.every((s) => EVALUATION_SEEDS.includes(s) && !TUNING_SEEDS.includes(s)), 'evaluated on evaluation seeds only');
    report = await runEvaluation({ size: 'small', log: (line) => process.stderr.write(`${line}\n`) });
    text = textReport(report);
    process.stderr.write(`${text}\n`);
    assert.deepEqual(report.seeds, seeds);
    for (const s of report.perSeed) {
      assert.deepEqual(s.skipped, [], `seed ${s.seed}: every injection found a place`);
      assert.ok(s.events > 50_000, `seed ${s.seed}: ${s.events} events`);
    }
    // Every detector has labels to be measured on, at every intensity: three per scenario expected of it.
    for (const detector of new Set(SCENARIOS.map((sc) => sc.detector))) {
      assert.equal(report.byDetector.get(detector)?.labels, 3 * seeds.length * SCENARIOS.filter((sc) => sc.detector === detector).length, detector);
    }
    for (const sc of SCENARIOS) assert.equal(report.byScenarioIntensity.get(sc.id)?.tallies.size, 3, sc.id);
    assert.ok(report.wallMs < 10 * 60_000, `took ${(report.wallMs / 60_000).toFixed(1)} min`);
  });

  it('reaches the recall and precision targets', () => {
    assert.ok(report, 'the evaluation ran');
    assert.ok((report.overall.recall ?? 0) >= TARGETS.recall, `recall ${report.overall.recall} < ${TARGETS.recall}\n${text}`);
    assert.ok((report.overall.precision ?? 0) >= TARGETS.precision, `precision ${report.overall.precision} < ${TARGETS.precision}\n${text}`);
  });
});
