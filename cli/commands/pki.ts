// `tunnelwatch pki init|issue`: the certificates for the mTLS tunnel between relay and connectors.
import { resolve } from 'node:path';
import { parseOptions, UsageError, type Command } from '../command.js';
import { DEFAULT_CONNECTOR_NAME, initPki, issueConnectorFiles, PkiError } from '../../connector/pki/pki.js';

const HELP = `Usage:
  tunnelwatch pki init  --out DIR [--relay-host HOST]... [--connector NAME]... [--force]
  tunnelwatch pki issue --out DIR --connector NAME [--force]

Creates the private PKI of the tunnel: the connector dials the relay over mutual TLS, the relay presents
relay.crt and accepts only client certificates signed by ca.crt, and identifies each connector by the
common name (CN) of its certificate. All keys are ECDSA P-256, written as PEM (keys as PKCS#8, mode 0600).

Subcommands:
  init    Create a new CA (valid 10 years) and, signed by it, the relay's server certificate and one
          client certificate per connector (valid 825 days). Writes into DIR:
            ca.crt, ca.key          the CA; keep ca.key offline, it signs new connectors
            relay.crt, relay.key    the relay's TLS server certificate (extended key usage serverAuth)
            NAME.crt, NAME.key      one per connector (clientAuth, CN = NAME)
  issue   Issue one more connector certificate from the CA already in DIR (ca.crt and ca.key).

Options:
  --out DIR           directory for the files (created if missing)
  --relay-host HOST   DNS name or IP address the connectors use to reach the relay; repeat for several.
                      Each becomes a subject alternative name. Default: localhost and 127.0.0.1
  --connector NAME    connector name: letters, digits, ".", "_", "-" (at most 63). Repeatable for init;
                      default for init: ${DEFAULT_CONNECTOR_NAME}. Required for issue.
  --force             overwrite existing files. Without it nothing is written if any target exists;
                      replacing ca.key invalidates every certificate issued before.
  -h, --help          show this help

Examples:
  tunnelwatch pki init --out ./pki --relay-host relay.example.com --connector plant-berlin
  tunnelwatch pki issue --out ./pki --connector plant-munich

Exit codes: 0 files written, 2 usage error, existing files without --force, or an unreadable CA.`;

const OPTIONS = {
  out: { type: 'string' },
  'relay-host': { type: 'string', multiple: true },
  connector: { type: 'string', multiple: true },
  force: { type: 'boolean', default: false },
} as const;

async function runPki(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'init' && sub !== 'issue') {
    throw new UsageError(sub === undefined ? 'missing subcommand: init or issue' : `unknown subcommand "${sub}": use init or issue`);
  }
  const { values } = parseOptions(rest, OPTIONS);
  if (!values.out) throw new UsageError('--out DIR is required');
  const out = resolve(values.out);
  const connectors = values.connector ?? [];
  let written: string[];
  try {
    if (sub === 'init') {
      written = await initPki(out, { relayHosts: values['relay-host'] ?? [], connectors, force: values.force });
    } else {
      if (values['relay-host']) throw new UsageError('--relay-host only applies to pki init');
      const [name, ...more] = connectors;
      if (name === undefined || more.length > 0) throw new UsageError('pki issue needs exactly one --connector NAME');
      written = await issueConnectorFiles(out, name, { force: values.force });
    }
  } catch (err) {
    if (err instanceof PkiError) {
      console.error(`tunnelwatch pki ${sub}: ${err.message}`);
      return 2;
    }
    throw err;
  }
  for (const path of written) console.log(`wrote ${path}`);
  return 0;
}

export const pkiCommand: Command = {
  name: 'pki',
  summary: 'Create the CA, relay and connector certificates for the mTLS tunnel',
  help: HELP,
  run: runPki,
};
