import { RelayConfigSchema } from '../../connector/relay/config-schema.js';
import { startRelay } from '../../connector/relay/relay.js';
import type { Command } from '../command.js';
import { runService, SERVICE_HELP } from '../run-service.js';

export const relayCommand: Command = {
  name: 'relay',
  summary: 'run the cloud-side relay (proxy port for cloud apps, tunnel port for connectors)',
  help: `Usage: tunnelwatch relay --config relay.yaml [options]

Runs the relay: an authenticating HTTP forward proxy for cloud apps (absolute-form requests and
CONNECT), and the mTLS tunnel endpoint connectors dial out to. See docs/configuration.md.

${SERVICE_HELP}`,
  run: (args) => runService('relay', RelayConfigSchema, args, startRelay),
};
