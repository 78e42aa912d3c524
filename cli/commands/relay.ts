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

Reload (SIGHUP, or POST /admin/v1/reload on the admin listener with an admin token): cloud app tokens,
admin tokens and the tunnel and admin TLS certificate, key and CA change live, all or nothing; each
change is reported to the collector and recorded there as an admin event (docs/operations.md).

${SERVICE_HELP}`,
  run: (args) => runService('relay', RelayConfigSchema, args, startRelay),
};
