// `tunnelwatch check`: checks the backends of connector.yaml's mappings step by step, from this host.
import { loadConfigFile, resolveFrom } from '../../common/config/load-config.js';
import { createLogger } from '../../common/log.js';
import { ConnectorConfigSchema, type ConnectorConfig, type MappingConfig } from '../../connector/agent/config-schema.js';
import { mappingKey } from '../../connector/acl/policy.js';
import { normalizeAuthority } from '../../connector/acl/normalize-path.js';
import { checkShipperOf } from '../../connector/diagnostics/check-shipper.js';
import { exitCodeOf, formatCheckReport, formatTotals } from '../../connector/diagnostics/report-text.js';
import { runCheck, type CheckOptions } from '../../connector/diagnostics/run-check.js';
import type { CheckReport } from '../../connector/diagnostics/types.js';
import { parseOptions, UsageError, type Command } from '../command.js';
import { TunnelwatchError } from '../../common/errors.js';

const HELP = `Usage: tunnelwatch check --config connector.yaml [--subaccount S] [--virtual HOST:PORT] [--json]

Checks the backend of every mapping in connector.yaml (or only the chosen ones) from this host, step by
step, as a call through the tunnel would reach it:

  dns      the internal host resolves (IP addresses skip this)
  tcp      a connection to the internal port opens
  tls      https/tcps: the handshake, the certificate chain against the mapping's ca (or the system
           trust store), expiry, the host name, and whether a client certificate is required
  probe    http/https: HEAD / (or the mapping's probe.method and probe.path) with the mapping's Host
           header; tcp/tcps: the banner (probe.expect_banner) or an LDAP bind (probe.ldap)
  auth     401 or 403 from the backend (a warning: reachable, but it wants credentials)
  latency  the whole check against diagnostics.latency_warn_ms

The first step that fails stops the check (the later ones are "skipped"). Each failure or warning
comes with what was seen and a fix; docs/troubleshooting.md lists every classification.

Options:
  -c, --config FILE        connector.yaml (required)
  --subaccount S           only mappings of this subaccount
  --virtual HOST:PORT      only the mapping with this virtual host:port
  --json                   print one CheckReport per line (NDJSON) instead of tables
  --timeout-ms N           time allowed per step (default diagnostics.timeout_ms)
  --latency-warn-ms N      slower than this is degraded (default diagnostics.latency_warn_ms)
  --cert-warn-days N       certificates expiring sooner are degraded (default diagnostics.cert_warn_days)
  --no-ship                do not send the reports to the collector (they are sent when
                           audit.collector is configured)
  -h, --help               show this text

Progress goes to stderr when several mappings are checked.

Exit status: 0 every backend up, 1 at least one down, 2 none down but at least one degraded,
64 usage or configuration error (unknown option, unreadable or invalid config, no such mapping).`;

interface Target {
  readonly subaccount: string;
  readonly mapping: MappingConfig;
}

/** Waits at most this long for the collector to take the reports before giving up on them. */
const SHIP_WAIT_MS = 5000;

export const checkCommand: Command = {
  name: 'check',
  summary: 'check the backends of connector.yaml step by step (DNS, TCP, TLS, probe, auth, latency)',
  help: HELP,
  async run(args) {
    let config: ConnectorConfig;
    let configFile: string;
    let targets: Target[];
    let options: CheckOptions;
    let values;
    try {
      ({ values } = parseOptions(args, {
        config: { type: 'string', short: 'c' },
        subaccount: { type: 'string' },
        virtual: { type: 'string' },
        json: { type: 'boolean', default: false },
        'timeout-ms': { type: 'string' },
        'latency-warn-ms': { type: 'string' },
        'cert-warn-days': { type: 'string' },
        'no-ship': { type: 'boolean', default: false },
      }));
      if (!values.config) throw new UsageError('--config FILE is required');
      configFile = values.config;
      config = loadConfigFile(ConnectorConfigSchema, configFile) as ConnectorConfig;
      targets = selectTargets(config, values.subaccount, values.virtual);
      options = {
        timeoutMs: integerOption(values['timeout-ms'], '--timeout-ms', 1) ?? config.diagnostics.timeout_ms,
        latencyWarnMs: integerOption(values['latency-warn-ms'], '--latency-warn-ms', 1) ?? config.diagnostics.latency_warn_ms,
        certWarnDays: integerOption(values['cert-warn-days'], '--cert-warn-days', 0) ?? config.diagnostics.cert_warn_days,
        resolvePath: (p) => resolveFrom(configFile, p),
      };
    } catch (err) {
      return usageOrConfigError('check', err);
    }

    const progress = progressLine(targets.length);
    const reports = await checkAll(targets, config.diagnostics.concurrency, (t) =>
      runCheck({ connectorId: config.connector.id, locationId: config.connector.location_id, subaccount: t.subaccount, mapping: t.mapping, trigger: 'cli' }, options), (report, done) => {
      progress.update(done);
      progress.clear();
      console.log(values.json ? JSON.stringify(report) : `${formatCheckReport(report)}\n`);
    });
    progress.clear();
    if (!values.json) console.log(formatTotals(reports));
    if (!values['no-ship']) await ship(config, configFile, reports);
    return exitCodeOf(reports.map((r) => r.state));
  },
};

function selectTargets(config: ConnectorConfig, subaccount: string | undefined, virtual: string | undefined): Target[] {
  if (subaccount !== undefined && !(subaccount in config.subaccounts)) {
    throw new UsageError(`no subaccount "${subaccount}" in the config (it has: ${Object.keys(config.subaccounts).join(', ') || 'none'})`);
  }
  const wanted = virtual === undefined ? undefined : keyOf(virtual);
  const targets: Target[] = [];
  for (const [name, rules] of Object.entries(config.subaccounts)) {
    if (subaccount !== undefined && name !== subaccount) continue;
    for (const mapping of rules.mappings) {
      if (wanted === undefined || keyOf(mapping.virtual) === wanted) targets.push({ subaccount: name, mapping });
    }
  }
  if (targets.length === 0) {
    const where = subaccount ? `subaccount "${subaccount}"` : 'the config';
    if (virtual !== undefined) throw new UsageError(`no mapping with virtual ${virtual} in ${where}`);
    throw new UsageError(`${where} has no mappings to check`);
  }
  return targets;
}

/** The form policy.ts keys mappings by, so ERP.virtual:443 finds erp.virtual:443. */
function keyOf(authority: string): string {
  const a = normalizeAuthority(authority);
  return a.ok ? mappingKey(a.host, a.port) : authority.toLowerCase();
}

/** Runs the checks a few at a time and hands each report over in config order as soon as it can. */
async function checkAll(targets: Target[], concurrency: number, check: (t: Target) => Promise<CheckReport>, onReport: (r: CheckReport, done: number) => void): Promise<CheckReport[]> {
  const results: (CheckReport | undefined)[] = new Array<CheckReport | undefined>(targets.length);
  let next = 0;
  let emitted = 0;
  let finished = 0;
  const worker = async (): Promise<void> => {
    while (next < targets.length) {
      const i = next++;
      results[i] = await check(targets[i] as Target);
      finished++;
      while (emitted < targets.length && results[emitted]) onReport(results[emitted++] as CheckReport, finished);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, targets.length) }, worker));
  return results as CheckReport[];
}

/** A status line on a terminal; a line per check elsewhere, only for long runs. */
function progressLine(total: number) {
  const stream = process.stderr;
  const tty = stream.isTTY === true;
  let shown = false;
  return {
    update(done: number): void {
      if (total < 2) return;
      if (tty) {
        stream.write(`\r\x1b[Kcheck: ${done}/${total} mappings checked`);
        shown = true;
      } else if (total >= 10) {
        stream.write(`check: ${done}/${total} mappings checked\n`);
      }
    },
    clear(): void {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}

/** With audit.collector, the reports go to the collector like the prober's (trigger "cli"). */
async function ship(config: ConnectorConfig, configFile: string, reports: CheckReport[]): Promise<void> {
  const log = createLogger({ name: 'check', level: 'warn' });
  let shipper;
  try {
    shipper = checkShipperOf(config, configFile, log);
  } catch (err) {
    console.error(`tunnelwatch check: the reports were not sent to the collector: ${(err as Error).message}`);
    return;
  }
  if (!shipper) return;
  for (const r of reports) shipper.enqueue(r);
  const deadline = Date.now() + SHIP_WAIT_MS;
  while (shipper.shipped + shipper.rejected + shipper.dropped < reports.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const missing = reports.length - shipper.shipped;
  shipper.close();
  if (missing > 0) console.error(`tunnelwatch check: ${missing} of ${reports.length} reports did not reach the collector at ${config.audit.collector?.url ?? ''}`);
}

/** sysexits EX_USAGE: 1 and 2 already mean "down" and "degraded" for check and doctor. */
export const EXIT_USAGE = 64;

/** Prints a usage or config problem the way cli/main.ts does, but exits 64. Other errors propagate. */
export function usageOrConfigError(command: string, err: unknown): number {
  if (err instanceof UsageError) {
    console.error(`tunnelwatch ${command}: ${err.message}\nRun \`tunnelwatch ${command} --help\` for usage.`);
    return EXIT_USAGE;
  }
  if (err instanceof TunnelwatchError) {
    console.error(`tunnelwatch ${command}: ${err.code}: ${err.message}`);
    return EXIT_USAGE;
  }
  throw err;
}

export function integerOption(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min) throw new UsageError(`${name} expects a whole number of at least ${min}, got "${value}"`);
  return Number(value);
}
