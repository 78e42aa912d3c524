// One CLI command. Commands are entries in cli/commands/index.ts, not branches in a switch.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface Command {
  readonly name: string;
  /** One line for `tunnelwatch --help`. */
  readonly summary: string;
  /** Full text for `tunnelwatch <name> --help`. */
  readonly help: string;
  /** Set by commands with subcommands: run() answers `--help` itself, so `<name> <sub> --help` reaches the subcommand. */
  readonly subcommandHelp?: boolean;
  /** Returns the process exit code: 0 ok, 1 failure found (e.g. a broken chain), 2 usage or config error. */
  run(args: string[]): Promise<number>;
}

export class UsageError extends Error {}

/** node:util parseArgs, with errors turned into UsageError so the CLI prints them with the help hint. */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
