// The command registry, in the order `tunnelwatch --help` lists them.
import type { Command } from '../command.js';

export const COMMANDS: Command[] = [];
