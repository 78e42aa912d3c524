// `tunnelwatch simulate`: realistic audit traffic with labelled anomalies, to test detection on.
import { createProgress } from '../../common/progress.js';
import { INTENSITIES, SimulateOptionError, type Intensity } from '../../collector/detect/simulate/options.js';
import { SCENARIO_IDS, SCENARIOS } from '../../collector/detect/simulate/scenarios/index.js';
import { writeSimulation } from '../../collector/detect/simulate/write-files.js';
import { parseOptions, UsageError, type Command } from '../command.js';

const HELP = `Usage: tunnelwatch simulate --out events.ndjson --labels labels.ndjson
                          [--days N] [--subaccounts N] [--seed S] [--start YYYY-MM-DD]
                          [--scenarios all|none|a,b,...] [--intensities blatant,moderate,subtle]
                          [--rate-scale X] [--warmup-days N] [--repeat N] [--novelties FILE]

Generates audit events (audit-event-v1, NDJSON, one valid hash chain per emitter: two relays and one
connector per subaccount and location) of simulated tenants over whole days, and injects labelled
anomalies after a warm-up. The same options and seed always give the same traffic and labels (event
ids and hashes excepted: the emitter draws event ids itself).

Normal traffic: office hours in each tenant's own time zone with a lunch dip, quiet nights and
weekends, public holidays, busy month-ends; integrations around the clock, nightly batch jobs, health
probes; Zipf-popular resources, endpoints and objects; people on their own shifts; per-app addresses,
user agents, methods, sizes and error rates; internet scanners knocking at the relay. Benign novelties
(a release adding paths and bumping its user agent, month-end, holidays, daylight-saving changes, the
connector's weekly maintenance) are listed by --novelties.

Options:
  --out FILE           events (NDJSON), written as they are made: millions of events are fine
  --labels FILE        one label per injected anomaly (NDJSON; collector/detect/types.ts Label plus id,
                       injected_events, entity_aliases and related)
  --novelties FILE     the benign novelties (NDJSON), optional
  --days N             days of traffic (default 14)
  --subaccounts N      tenants (default 4); cross_subaccount and peer_deviation need at least 3
  --seed S             integer seed (default 1)
  --start DATE         first day, UTC (default 2026-10-01)
  --scenarios LIST     which anomalies to inject: all (default), none, or a comma-separated list of
                       the scenario ids below
  --intensities LIST   which intensities of each (default all: ${INTENSITIES.join(', ')})
  --rate-scale X       multiplies every normal call rate (default 1: ~70,000 calls a day for 4 tenants)
  --warmup-days N      days kept free of anomalies at the start, the detectors' baseline (default 7)
  --repeat N           injections per scenario and intensity (default: one per 60 tenant-days after
                       the warm-up, at least 1)

Scenarios:
${SCENARIOS.map((s) => `  ${s.id.padEnd(20)} ${s.summary}`).join('\n')}

Progress goes to stderr; a summary (events, labels, skipped injections) at the end.
Exit status: 0 done, 2 usage error.`;

function positiveNumber(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${value}"`);
  return n;
}

function list(value: string | undefined, all: readonly string[]): string[] | undefined {
  if (value === undefined || value === 'all') return value === 'all' ? [...all] : undefined;
  if (value === 'none' || value === '') return [];
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

export const simulateCommand: Command = {
  name: 'simulate',
  summary: 'generate realistic audit events with labelled anomalies (detection testing)',
  help: HELP,
  async run(args) {
    const { values } = parseOptions(args, {
      out: { type: 'string', short: 'o' },
      labels: { type: 'string' },
      novelties: { type: 'string' },
      days: { type: 'string' },
      subaccounts: { type: 'string' },
      seed: { type: 'string' },
      start: { type: 'string' },
      scenarios: { type: 'string' },
      intensities: { type: 'string' },
      'rate-scale': { type: 'string' },
      'warmup-days': { type: 'string' },
      repeat: { type: 'string' },
    });
    if (!values.out) throw new UsageError('--out FILE is required (where the events go)');
    if (!values.labels) throw new UsageError('--labels FILE is required (where the labels go)');
    let start: Date | undefined;
    if (values.start !== undefined) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(values.start)) throw new UsageError(`--start must be a date YYYY-MM-DD, got "${values.start}"`);
      start = new Date(`${values.start}T00:00:00Z`);
    }
    const days = positiveNumber('days', values.days);
    const progress = createProgress('simulate');
    try {
      const result = writeSimulation({
        ...(days !== undefined ? { days } : {}),
        ...(values.subaccounts !== undefined ? { subaccounts: positiveNumber('subaccounts', values.subaccounts) as number } : {}),
        ...(values.seed !== undefined ? { seed: positiveNumber('seed', values.seed) as number } : {}),
        ...(start ? { start } : {}),
        ...(values.scenarios !== undefined ? { scenarios: list(values.scenarios, SCENARIO_IDS) as string[] } : {}),
        ...(values.intensities !== undefined ? { intensities: list(values.intensities, INTENSITIES) as Intensity[] } : {}),
        ...(values['rate-scale'] !== undefined ? { rateScale: positiveNumber('rate-scale', values['rate-scale']) as number } : {}),
        ...(values['warmup-days'] !== undefined ? { warmupDays: positiveNumber('warmup-days', values['warmup-days']) as number } : {}),
        ...(values.repeat !== undefined ? { repeat: positiveNumber('repeat', values.repeat) as number } : {}),
      }, {
        events: values.out,
        labels: values.labels,
        ...(values.novelties ? { novelties: values.novelties } : {}),
      }, (p) => progress.update(p.minutesDone, p.minutesTotal, `${p.events.toLocaleString('en-US')} events`));
      progress.done(`${result.events.toLocaleString('en-US')} events from ${result.emitters.length} emitters over ${result.options.days} days and ${result.options.subaccounts} subaccounts (seed ${result.options.seed}) -> ${values.out}; ${result.labels.length} labels -> ${values.labels}; ${result.novelties.length} benign novelties${values.novelties ? ` -> ${values.novelties}` : ''}`);
      if (result.skipped.length > 0) console.error(`simulate: no room for ${result.skipped.length} injection(s): ${result.skipped.join(', ')}`);
      return 0;
    } catch (err) {
      if (err instanceof SimulateOptionError) throw new UsageError(err.message);
      throw err;
    }
  },
};
