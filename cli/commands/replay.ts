// TODO(issue 5): filled in by the detection work.
import type { Command } from '../command.js';

export const replayCommand: Command = {
  name: 'replay',
  summary: '(not built yet)',
  help: 'Usage: tunnelwatch replay (not built yet)',
  run: async () => 2,
};
