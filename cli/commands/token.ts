import { hashToken, newToken } from '../../connector/relay/token-store.js';
import { SUBACCOUNT_PATTERN, ID_PATTERN } from '../../common/config/schema-parts.js';
import { parseOptions, UsageError, type Command } from '../command.js';

export const tokenCommand: Command = {
  name: 'token',
  summary: 'create a cloud app token and the relay.yaml entry that stores its hash',
  help: `Usage: tunnelwatch token new --subaccount ID --cloud-app ID [--valid-days N]
       tunnelwatch token hash            (reads a token on stdin, prints its SHA-256)

"new" prints the token once (give it to the cloud app; it is not stored anywhere) on stdout,
and on stderr the YAML entry to add under "tokens:" in relay.yaml, which holds only the hash.
--valid-days N adds expires_at, N days from now: the relay refuses the token from then on
and cuts the tunnels it opened (rotate before: give the app a new token, then remove the old).`,
  async run(args) {
    const [sub, ...rest] = args;
    if (sub === 'new') {
      const { values } = parseOptions(rest, { subaccount: { type: 'string' }, 'cloud-app': { type: 'string' }, 'valid-days': { type: 'string' } });
      const subaccount = values.subaccount ?? '';
      const app = values['cloud-app'] ?? '';
      if (!new RegExp(SUBACCOUNT_PATTERN).test(subaccount)) throw new UsageError('--subaccount must be lower-case letters, digits and -, 1-64 chars');
      if (!new RegExp(ID_PATTERN).test(app)) throw new UsageError('--cloud-app must be letters, digits, ".", "_" and -, 1-128 chars');
      const days = values['valid-days'];
      if (days !== undefined && !/^[1-9][0-9]{0,4}$/.test(days)) throw new UsageError('--valid-days must be a whole number of days, 1-99999');
      const expiresAt = days === undefined ? '' : new Date(Date.now() + Number(days) * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const token = newToken();
      console.log(token);
      console.error(`# add to relay.yaml under tokens:\n  - subaccount: ${subaccount}\n    cloud_app: ${app}\n    sha256: ${hashToken(token)}${expiresAt ? `\n    expires_at: ${expiresAt}` : ''}`);
      return 0;
    }
    if (sub === 'hash') {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      console.log(hashToken(Buffer.concat(chunks).toString('utf8').trim()));
      return 0;
    }
    throw new UsageError('expected "new" or "hash"');
  },
};
