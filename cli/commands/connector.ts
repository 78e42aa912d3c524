import { ConnectorConfigSchema } from '../../connector/agent/config-schema.js';
import { startConnector } from '../../connector/agent/connector.js';
import type { Command } from '../command.js';
import { runService, SERVICE_HELP } from '../run-service.js';
import { HA_HELP, HA_SUBCOMMANDS } from './ha.js';

export const connectorCommand: Command = {
  name: 'connector',
  summary: 'run the on-premise connector (dials out to the relay, enforces access rules)',
  help: `Usage: tunnelwatch connector --config connector.yaml [options]

Runs the connector: dials out to the relay over mTLS, keeps the tunnel up (keepalive pings,
reconnect with exponential backoff and jitter), decides each call against the access rules
(deny by default) and forwards allowed calls to internal backends. Every call becomes an audit
event. See docs/configuration.md and docs/access-control.md.

${SERVICE_HELP}

${HA_HELP}`,
  run: (args) => {
    const sub = HA_SUBCOMMANDS.find((s) => s.name === args[0]);
    return sub ? sub.run(args.slice(1)) : runService('connector', ConnectorConfigSchema, args, startConnector);
  },
};
