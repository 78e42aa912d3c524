// The command registry, in the order `tunnelwatch --help` lists them.
import type { Command } from '../command.js';
import { relayCommand } from './relay.js';
import { connectorCommand } from './connector.js';
import { checkCommand } from './check.js';
import { doctorCommand } from './doctor.js';
import { collectorCommand } from './collector.js';
import { dashboardCommand } from './dashboard.js';
import { demoCommand } from './demo.js';
import { tokenCommand } from './token.js';
import { userCommand } from './user.js';
import { pkiCommand } from './pki.js';
import { auditCommand } from './audit.js';
import { ingestCommand } from './ingest.js';
import { queryCommand } from './query.js';
import { replayCommand } from './replay.js';
import { simulateCommand } from './simulate.js';
import { siemCommand } from './siem.js';

export const COMMANDS: Command[] = [
  relayCommand,
  connectorCommand,
  checkCommand,
  doctorCommand,
  collectorCommand,
  dashboardCommand,
  demoCommand,
  pkiCommand,
  auditCommand,
  ingestCommand,
  queryCommand,
  simulateCommand,
  replayCommand,
  siemCommand,
  tokenCommand,
  userCommand,
];
