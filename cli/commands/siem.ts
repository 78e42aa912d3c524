// `tunnelwatch siem <subcommand>`: set-up and upkeep of the SIEM exporters (docs/siem.md). Each
// subcommand is its own module in cli/commands/siem/.
import { UsageError, type Command } from '../command.js';
import { deadLettersSubcommand } from './siem/dead-letters.js';
import { setupSubcommand } from './siem/setup.js';

export interface SiemSubcommand {
  readonly name: string;
  readonly summary: string;
  run(args: string[]): Promise<number>;
}

const SUBCOMMANDS: readonly SiemSubcommand[] = [setupSubcommand, deadLettersSubcommand];

export const siemCommand: Command = {
  name: 'siem',
  subcommandHelp: true,
  summary: 'set up SIEM receivers and replay dead letters of the exporters',
  help: [
    'usage: tunnelwatch siem <subcommand> [options]',
    '',
    ...SUBCOMMANDS.map((s) => `  ${s.name.padEnd(14)} ${s.summary}`),
    '',
    'Run `tunnelwatch siem <subcommand> --help` for its options. See docs/siem.md.',
  ].join('\n'),
  async run(args) {
    const [name, ...rest] = args;
    const sub = SUBCOMMANDS.find((s) => s.name === name);
    if (!sub) throw new UsageError(name ? `unknown siem subcommand ${name}` : 'siem needs a subcommand');
    return sub.run(rest);
  },
};
