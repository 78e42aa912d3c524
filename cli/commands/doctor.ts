// `tunnelwatch doctor`: can this connector reach its relay, and is its own house in order?
import { loadConfigFile } from '../../common/config/load-config.js';
import { ConnectorConfigSchema, type ConnectorConfig } from '../../connector/agent/config-schema.js';
import { relayEndpoints } from '../../connector/agent/config-schema.js';
import { runDoctorAll } from '../../connector/diagnostics/doctor.js';
import { exitCodeOf, formatDoctorReport } from '../../connector/diagnostics/report-text.js';
import { parseOptions, UsageError, type Command } from '../command.js';
import { integerOption, usageOrConfigError } from './check.js';

const HELP = `Usage: tunnelwatch doctor --config connector.yaml [--json]

Checks, from this host, what the connector needs to keep its tunnel to the relay up (with
relay.addresses: to each relay, one report per relay):

  dns          the host of relay.address resolves
  tcp          a connection to the relay's tunnel port opens
  tls          the mTLS handshake with this connector's certificate (relay.tls.cert/key), ALPN
               tunnelwatch-h2/1, and that the relay accepts the certificate
  relay_cert   the relay certificate: trusted by relay.tls.ca, valid for relay.server_name (default
               the host of relay.address), not expired, not expiring within diagnostics.cert_warn_days
  hello        the tunnel hello; doctor announces no subaccounts, so the relay registers nothing and a
               running connector's tunnel is not disturbed
  client_cert  this connector's own certificate: readable, matches its key, CN equal to connector.id,
               valid, not expiring soon
  clock        this host's clock against the collector's HTTP Date header (audit.collector.url). The
               relay's clock cannot be measured: its tunnel port sends no time. Without a collector the
               step says so and is skipped.

Each failure or warning comes with what was seen and a fix; docs/troubleshooting.md lists them.

Options:
  -c, --config FILE      connector.yaml (required)
  --json                 print the report as one JSON object instead of a table (with several relays:
                         {"connector_id", "state", "reports": [one per relay]})
  --timeout-ms N         time allowed per step (default diagnostics.timeout_ms)
  --cert-warn-days N     certificates expiring sooner are a warning (default diagnostics.cert_warn_days)
  -h, --help             show this text

Exit status: 0 all good, 1 something fails (the connector cannot work, or with several relays
cannot reach one of them), 2 only warnings, 64 usage or configuration error.`;

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check that this connector can reach its relay (DNS, TCP, mTLS, certificates, clock)',
  help: HELP,
  async run(args) {
    let config: ConnectorConfig;
    let configFile: string;
    let json: boolean;
    let timeoutMs: number;
    let certWarnDays: number;
    try {
      const { values } = parseOptions(args, {
        config: { type: 'string', short: 'c' },
        json: { type: 'boolean', default: false },
        'timeout-ms': { type: 'string' },
        'cert-warn-days': { type: 'string' },
      });
      if (!values.config) throw new UsageError('--config FILE is required');
      configFile = values.config;
      config = loadConfigFile(ConnectorConfigSchema, configFile) as ConnectorConfig;
      relayEndpoints(config);
      json = values.json;
      timeoutMs = integerOption(values['timeout-ms'], '--timeout-ms', 1) ?? config.diagnostics.timeout_ms;
      certWarnDays = integerOption(values['cert-warn-days'], '--cert-warn-days', 0) ?? config.diagnostics.cert_warn_days;
    } catch (err) {
      return usageOrConfigError('doctor', err);
    }
    const reports = await runDoctorAll(config, configFile, { timeoutMs, certWarnDays });
    const states = reports.map((r) => r.state);
    if (json) {
      const state = states.includes('down') ? 'down' : states.includes('degraded') ? 'degraded' : 'up';
      console.log(JSON.stringify(reports.length === 1 ? reports[0] : { connector_id: config.connector.id, state, reports }));
    } else {
      console.log(reports.map(formatDoctorReport).join('\n\n'));
    }
    return exitCodeOf(states);
  },
};
