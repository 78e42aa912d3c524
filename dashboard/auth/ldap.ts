// Sign-in against an LDAP directory: the service account (or an anonymous bind) finds the user's entry,
// a bind as that entry with the password proves it, and the groups that list the entry map to a role.
// The directory's answers are told apart from the directory being unreachable: the first refuses the
// sign-in, the second is reported as such (TW_ERR_DASH_LDAP_UNAVAILABLE), and neither lets anyone in.
import { Client, InvalidCredentialsError, ResultCodeError, SizeLimitExceededError, type Entry } from 'ldapts';
import { readConfiguredFile } from '../../common/config/load-config.js';
import { TunnelwatchError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { DashboardSettings } from '../config-schema.js';
import { fillFilter, mapGroups, type DirectoryGroup, type MappedRole } from './ldap-mapping.js';

export type LdapSettings = NonNullable<DashboardSettings['ldap']>;

/** Why an LDAP sign-in failed; the admin event's `reason` (the HTTP answer does not tell them apart). */
export type LdapFailure = 'empty_password' | 'unknown_user' | 'wrong_password' | 'no_role' | 'ldap_unavailable';

export type LdapResult =
  | ({ readonly ok: true } & MappedRole)
  | { readonly ok: false; readonly reason: LdapFailure; readonly detail: string };

export interface LdapAuthenticator {
  authenticate(username: string, password: string): Promise<LdapResult>;
}

function values(entry: Entry, attribute: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute);
  const raw = key === undefined ? [] : entry[key];
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return list.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v));
}

/** A short, secret-free description of a failure for logs and admin events. */
function describe(err: unknown): string {
  if (err instanceof ResultCodeError) return `LDAP result ${err.code} (${err.constructor.name})`;
  const e = err as NodeJS.ErrnoException;
  return (e.code ?? e.message ?? String(err)).slice(0, 200);
}

export function createLdapAuthenticator(settings: LdapSettings, configFile: string, log: Logger): LdapAuthenticator {
  // Read once at start: a missing file is a start-up error, not a surprise at the first sign-in.
  const servicePassword = settings.bind_password_file
    ? readConfiguredFile(configFile, 'dashboard.ldap.bind_password_file', settings.bind_password_file).toString('utf8').replace(/\r?\n$/, '')
    : '';
  if (settings.bind_dn && !settings.bind_password_file) {
    throw new TunnelwatchError('TW_ERR_CONFIG_INVALID', 'dashboard.ldap.bind_dn needs bind_password_file (an empty password would be an anonymous bind)');
  }
  const ca = settings.ca_file ? readConfiguredFile(configFile, 'dashboard.ldap.ca_file', settings.ca_file) : undefined;
  const clientOptions = {
    url: settings.url,
    timeout: settings.timeout_ms,
    connectTimeout: settings.timeout_ms,
    strictDN: true,
    ...(settings.url.startsWith('ldaps:') ? { tlsOptions: { minVersion: 'TLSv1.2' as const, ...(ca ? { ca } : {}) } } : {}),
  };
  const unavailable = (step: string, err: unknown): LdapResult => {
    const detail = `${step}: ${describe(err)}`;
    log.error({ url: settings.url, step, error: describe(err) }, 'LDAP sign-in not possible: directory unavailable or misconfigured');
    return { ok: false, reason: 'ldap_unavailable', detail };
  };

  async function closeQuietly(client: Client): Promise<void> {
    try {
      await client.unbind();
    } catch {
      // The connection may be gone already (that is often why we are here).
    }
  }

  async function findUser(service: Client, username: string): Promise<{ dn: string } | LdapResult> {
    try {
      if (settings.bind_dn) await service.bind(settings.bind_dn, servicePassword);
    } catch (err) {
      return unavailable('service bind', err);
    }
    try {
      const { searchEntries } = await service.search(settings.user_base, {
        scope: 'sub',
        filter: fillFilter(settings.user_filter, 'username', username),
        attributes: ['1.1'],
        sizeLimit: 2,
      });
      if (searchEntries.length === 0) return { ok: false, reason: 'unknown_user', detail: 'no entry matches the user filter' };
      if (searchEntries.length > 1) return { ok: false, reason: 'unknown_user', detail: 'several entries match the user filter' };
      return { dn: (searchEntries[0] as Entry).dn };
    } catch (err) {
      if (err instanceof SizeLimitExceededError) return { ok: false, reason: 'unknown_user', detail: 'several entries match the user filter' };
      return unavailable('user search', err);
    }
  }

  async function checkPassword(dn: string, password: string): Promise<LdapResult | undefined> {
    // Its own connection: the service connection keeps the service identity for the group search.
    const user = new Client(clientOptions);
    try {
      await user.bind(dn, password);
      return undefined;
    } catch (err) {
      if (err instanceof InvalidCredentialsError) return { ok: false, reason: 'wrong_password', detail: 'the directory refused the password' };
      // Any other answer of the directory (locked account, password expired...) also refuses the sign-in.
      if (err instanceof ResultCodeError) return { ok: false, reason: 'wrong_password', detail: `the directory refused the bind: ${describe(err)}` };
      return unavailable('user bind', err);
    } finally {
      await closeQuietly(user);
    }
  }

  async function groupsOf(service: Client, dn: string): Promise<DirectoryGroup[] | LdapResult> {
    try {
      const { searchEntries } = await service.search(settings.group_base, {
        scope: 'sub',
        filter: fillFilter(settings.group_filter, 'dn', dn),
        attributes: ['cn'],
      });
      return searchEntries.map((e) => ({ dn: e.dn, cn: values(e, 'cn') }));
    } catch (err) {
      return unavailable('group search', err);
    }
  }

  return {
    async authenticate(username, password) {
      // An empty password makes a simple bind "unauthenticated" (RFC 4513 5.1.2), which many servers accept.
      if (password === '') return { ok: false, reason: 'empty_password', detail: 'empty password refused before any bind' };
      const service = new Client(clientOptions);
      try {
        const found = await findUser(service, username);
        if ('ok' in found) return found;
        const refused = await checkPassword(found.dn, password);
        if (refused) return refused;
        const groups = await groupsOf(service, found.dn);
        if (!Array.isArray(groups)) return groups;
        const mapped = mapGroups(groups, settings.group_roles);
        if (!mapped) return { ok: false, reason: 'no_role', detail: `in no mapped group (member of ${groups.length} group(s))` };
        return { ok: true, ...mapped };
      } finally {
        await closeQuietly(service);
      }
    },
  };
}
