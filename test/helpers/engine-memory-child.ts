// Child process of engine-memory.test.ts: opens an embedded store the way the collector does (so the
// engine's allocator gets its options from the store, unless JE_MALLOC_CONF was given), runs the same
// memory-hungry query four times, `gap` ms apart (argv[3]), and prints the minor page faults of each run
// and the options in force.
import { readFileSync } from 'node:fs';
import { openStore } from '../../collector/store/open-store.js';

const faults = (): number => Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ')[7]);

const store = await openStore({ dataDir: process.argv[2] as string });
const gapMs = Number(process.argv[3] ?? 300);
try {
  const runs: number[] = [];
  for (let i = 0; i < 4; i++) {
    const before = faults();
    await store.query('SELECT count() AS c FROM (SELECT number % 500000 AS k, groupArray(number) AS a FROM numbers(4000000) GROUP BY k)');
    runs.push(faults() - before);
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  process.stdout.write(`${JSON.stringify({ conf: process.env.JE_MALLOC_CONF, runs })}\n`);
} finally {
  await store.close();
}
