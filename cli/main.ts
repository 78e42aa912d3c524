// `tunnelwatch <command> [options]`.
import { TunnelwatchError } from '../common/errors.js';
import { UsageError, type Command } from './command.js';
import { COMMANDS } from './commands/index.js';

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: tunnelwatch <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `tunnelwatch <command> --help` for the options of a command.',
  ].join('\n');
}

export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(overview());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    console.log('tunnelwatch 0.1.0');
    return 0;
  }
  const command: Command | undefined = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`tunnelwatch: unknown command "${name}"\n\n${overview()}`);
    return 2;
  }
  const isHelp = (arg: string | undefined): boolean => arg === '--help' || arg === '-h';
  // A command with subcommands prints its own help only when no subcommand is named.
  const wantsHelp = command.subcommandHelp ? rest.length === 0 || isHelp(rest[0]) : rest.some(isHelp);
  if (wantsHelp) {
    console.log(command.help);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`tunnelwatch ${command.name}: ${err.message}\nRun \`tunnelwatch ${command.name} --help\` for usage.`);
      return 2;
    }
    if (err instanceof TunnelwatchError) {
      console.error(`tunnelwatch ${command.name}: ${err.code}: ${err.message}`);
      return 2;
    }
    throw err;
  }
}
