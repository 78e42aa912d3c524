// TODO(issue 5): filled in by the detection work.
import type { Command } from '../command.js';

export const simulateCommand: Command = {
  name: 'simulate',
  summary: '(not built yet)',
  help: 'Usage: tunnelwatch simulate (not built yet)',
  run: async () => 2,
};
