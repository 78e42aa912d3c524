import { runDemo } from '../../demo/demo.js';
import { parseOptions, UsageError, type Command } from '../command.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run everything in one process: relay, connector, sample backends and traffic (npm start)',
  help: `Usage: tunnelwatch demo [options]

Starts a relay and a connector with the quickstart configs, an HTTP API and a TCP service as
backends, and a traffic generator acting as four cloud apps in three subaccounts (some calls
are denied on purpose). Prints what it started and a curl line to try. Creates a demo CA and
certificates in <config-dir>/pki on first run.

Options:
  --config-dir DIR   folder with relay.yaml and connector.yaml (default examples/quickstart)
  --duration S       stop after S seconds (default: run until Ctrl-C)
  --rate N           demo calls per second (default 5; 0 turns traffic off)
  --log-level LEVEL  log level of relay and connector (default warn)`,
  async run(args) {
    const { values } = parseOptions(args, {
      'config-dir': { type: 'string' },
      duration: { type: 'string' },
      rate: { type: 'string' },
      'log-level': { type: 'string' },
    });
    const durationS = Number(values.duration ?? 0);
    const rate = Number(values.rate ?? 5);
    if (!Number.isFinite(durationS) || durationS < 0) throw new UsageError('--duration must be a number of seconds');
    if (!Number.isFinite(rate) || rate < 0) throw new UsageError('--rate must be a number of calls per second');
    return runDemo({ configDir: values['config-dir'] ?? 'examples/quickstart', durationS, ratePerSecond: rate, logLevel: values['log-level'] ?? 'warn' });
  },
};
