// `tunnelwatch replay --input FILE.ndjson [--json]`: detection on anyone's own audit events, offline.
import { replayEvents } from '../../collector/detect/replay.js';
import { resolveConfig } from '../../collector/detect/run.js';
import type { DetectionConfig } from '../../collector/detect/config.js';
import type { Finding } from '../../collector/detect/types.js';
import { inputFileProblem } from '../../collector/ingest/ndjson-input.js';
import { parseOptions, UsageError, type Command } from '../command.js';

const HELP = `Usage: tunnelwatch replay --input FILE.ndjson [--json] [--baseline-days N] [--warmup-days N] [--min-severity S]

Loads audit events (NDJSON, one audit-event-v1 object a line) into a fresh temporary embedded store,
keeping their timestamps, runs every detector over the whole time range as a live collector would have
(each window compared with the days before it), prints the findings and removes the store. Malformed
lines are skipped and reported; an event_id seen twice is loaded once. Progress goes to stderr.

Options:
  --input FILE          the NDJSON file of audit events, plain or gzip-compressed (required)
  --json                print the findings as NDJSON (one finding a line, the spec's fields) instead of a table
  --baseline-days N     days of history each window is compared with (default 14)
  --warmup-days N       days of history needed before baselines are trusted (default 3; see docs/detectors.md)
  --min-severity S      leave out findings below low | medium | high | critical (default low)
  -h, --help            show this text

Exit status: 0 the replay ran (whether or not it found anything), 2 usage error or unreadable input.`;

const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

function wholeNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) throw new UsageError(`--${name} must be a whole number, got "${text}"`);
  return value;
}

/** The findings as a table a person reads: one line each, most severe first within a window. */
export function formatFindingsTable(findings: readonly Finding[]): string {
  if (findings.length === 0) return 'No findings.';
  const rows = findings.map((f) => [
    f.severity.toUpperCase(),
    String(Math.round(f.score)),
    f.detector,
    f.subaccount || '-',
    `${f.entity_type}:${f.entity}`.slice(0, 48),
    `${f.window_start.slice(0, 16).replace('T', ' ')} - ${f.window_end.slice(11, 16)}`,
    f.title,
  ]);
  const head = ['SEVERITY', 'SCORE', 'DETECTOR', 'SUBACCOUNT', 'ENTITY', 'WINDOW (UTC)', 'TITLE'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ');
  const bySeverity = SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length] as const).filter(([, k]) => k > 0);
  return [line(head), ...rows.map(line), '', `${findings.length} finding${findings.length === 1 ? '' : 's'} (${bySeverity.map(([s, k]) => `${k} ${s}`).join(', ')}); --json prints explanation and evidence`].join('\n');
}

export const replayCommand: Command = {
  name: 'replay',
  summary: 'run the anomaly detectors over an NDJSON file of audit events (findings on stdout)',
  help: HELP,
  async run(args) {
    const { values } = parseOptions(args, {
      input: { type: 'string', short: 'i' },
      json: { type: 'boolean', default: false },
      'baseline-days': { type: 'string' },
      'warmup-days': { type: 'string' },
      'min-severity': { type: 'string' },
    });
    const input = values.input;
    if (!input) throw new UsageError('name the events file with --input FILE.ndjson');
    const unreadable = inputFileProblem(input);
    if (unreadable) throw new UsageError(unreadable);
    const minSeverity = values['min-severity'];
    if (minSeverity !== undefined && !(SEVERITIES as readonly string[]).includes(minSeverity)) {
      throw new UsageError(`--min-severity must be one of ${SEVERITIES.join(', ')}, got "${minSeverity}"`);
    }
    const baselineDays = wholeNumber('baseline-days', values['baseline-days']);
    const warmupDays = wholeNumber('warmup-days', values['warmup-days']);
    const config: DetectionConfig = {
      ...(baselineDays !== undefined ? { baseline_days: baselineDays } : {}),
      ...(warmupDays !== undefined ? { warmup_days: warmupDays } : {}),
      ...(minSeverity !== undefined ? { min_severity: minSeverity as (typeof SEVERITIES)[number] } : {}),
    };
    // Checked before loading anything: a bad value found after minutes of loading wastes them.
    try {
      resolveConfig(config);
    } catch (err) {
      throw new UsageError((err as Error).message.replace(/^.*?detection: /, '').replace(/\b(baseline|warmup)_days\b/g, '--$1-days'));
    }
    const findings = await replayEvents(input, { config, onProgress: (msg) => process.stderr.write(`${msg}\n`) });
    if (values.json) {
      // One write: a consumer piping into `head` must not see a finding cut in two.
      if (findings.length > 0) process.stdout.write(`${findings.map((f) => JSON.stringify(f)).join('\n')}\n`);
    } else {
      process.stdout.write(`${formatFindingsTable(findings)}\n`);
    }
    return 0;
  },
};
