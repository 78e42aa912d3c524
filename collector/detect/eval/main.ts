// `npm run eval:detect [-- --size small|full] [--seeds 101,102] [--tuning] [--jobs N] [--no-doc] [--keep DIR]`:
// simulates each seed, replays it through every detector, scores the findings against the labels,
// prints the table, writes the size's section of docs/detection.md (evaluation seeds only) and exits 1
// when overall recall < 0.95 or precision < 0.90.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeSection } from './doc.js';
import { runEvaluation } from './harness.js';
import { markdownSection, textReport } from './report.js';
import { EVALUATION_SEEDS, SIZES, TUNING_SEEDS, type SizeName } from './sizes.js';

const USAGE = `Usage: npm run eval:detect [-- --size small|full] [--seeds 101,102,...] [--tuning] [--jobs N] [--no-doc] [--keep DIR]

  --size small|full  small (default): ${SIZES.small.note}, seeds ${SIZES.small.seeds.join(', ')}, for CI;
                     full: ${SIZES.full.note}, seeds ${SIZES.full.seeds.join(', ')}, the documented figures
  --seeds LIST       seeds to run (default: the size's evaluation seeds, from ${EVALUATION_SEEDS.join(', ')})
  --tuning           run the tuning seeds (${TUNING_SEEDS.join(', ')}) instead: for working on detectors
  --jobs N           seeds at the same time (default 1)
  --no-doc           do not write docs/detection.md (always the case for tuning seeds)
  --keep DIR         keep the simulated events, labels and findings in DIR`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ options: {
      size: { type: 'string', default: 'small' }, seeds: { type: 'string' }, tuning: { type: 'boolean', default: false },
      jobs: { type: 'string', default: '1' }, 'no-doc': { type: 'boolean', default: false }, keep: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    } }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const size = values.size as SizeName;
  if (!(size in SIZES)) {
    console.error(`--size must be small or full\n${USAGE}`);
    return 2;
  }
  const seeds = values.tuning ? TUNING_SEEDS : values.seeds !== undefined ? values.seeds.split(',').map((s) => Number(s.trim())) : SIZES[size].seeds;
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s) || s < 0)) {
    console.error(`--seeds must be a comma-separated list of integers\n${USAGE}`);
    return 2;
  }
  const jobs = Number(values.jobs);
  if (values.keep) mkdirSync(values.keep, { recursive: true });
  const report = await runEvaluation({
    size, seeds, jobs: Number.isInteger(jobs) && jobs > 0 ? jobs : 1,
    ...(values.keep ? { keep: true, dir: values.keep } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  console.log(textReport(report));
  const tuningOnly = seeds.some((s) => TUNING_SEEDS.includes(s));
  if (!values['no-doc'] && !tuningOnly) {
    const doc = fileURLToPath(new URL('../../../../docs/detection.md', import.meta.url));
    await writeSection(doc, size, markdownSection(report, new Date()));
    console.log(`wrote the ${size} section of docs/detection.md`);
  } else if (tuningOnly) {
    console.log('tuning seeds: docs/detection.md left alone');
  }
  return report.met.recall && report.met.precision ? 0 : 1;
}

main().then((code) => process.exit(code), (err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
