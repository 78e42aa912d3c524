// The `dashboard:` section (in collector.yaml when the dashboard shares the collector's process, or in
// dashboard.yaml for `tunnelwatch dashboard` against a ClickHouse server). Descriptions here are the
// configuration reference: docs/configuration.md is generated from them (scripts/config-doc.mjs).
import { Type, type Static } from '@sinclair/typebox';
import { HostPort, ID_PATTERN, Subaccount } from '../common/config/schema-parts.js';

const NAME_EXPECTED = 'letters, digits, ".", "_" and -, 1-128 chars';

const RoleName = Type.Union([Type.Literal('viewer'), Type.Literal('analyst'), Type.Literal('admin')], {
  description: 'viewer (overview, subaccounts, rules, integrity), analyst (+ calls, exports, traces), admin (+ tokens, sign-in log)',
});

const SubaccountScope = Type.Array(Subaccount, {
  minItems: 1,
  description: 'subaccounts whose data this identity may see; absent = all',
});

export const DashboardSection = Type.Object(
  {
    listen: Type.String({ ...HostPort, description: 'host:port of the dashboard (pages and /api/v1)' }),
    tls: Type.Optional(Type.Object(
      {
        cert: Type.String({ minLength: 1, description: 'PEM certificate file' }),
        key: Type.String({ minLength: 1, description: 'PEM private key file' }),
      },
      { additionalProperties: false, description: 'serve HTTPS; absent = plain HTTP (then session cookies are not marked Secure: keep it on loopback or behind a TLS proxy)' },
    )),
    session: Type.Object(
      {
        idle_minutes: Type.Integer({ minimum: 1, maximum: 1440, default: 30, description: 'a session unused this long ends' }),
        max_hours: Type.Integer({ minimum: 1, maximum: 168, default: 12, description: 'a session ends this long after sign-in, used or not' }),
      },
      { additionalProperties: false, default: {}, description: 'browser sessions (kept in memory: a restart signs everyone out)' },
    ),
    login_rate_limit: Type.Object(
      {
        max_attempts: Type.Integer({ minimum: 1, default: 10, description: 'sign-in attempts allowed per client IP and per user name within the window' }),
        window_s: Type.Integer({ minimum: 1, default: 300, description: 'the window, in seconds' }),
      },
      { additionalProperties: false, default: {}, description: 'throttles sign-in attempts; past it: 429 with Retry-After' },
    ),
    users: Type.Array(
      Type.Object(
        {
          name: Type.String({ pattern: ID_PATTERN, expected: NAME_EXPECTED, description: 'the user name to sign in with (case-sensitive)' }),
          role: RoleName,
          password_hash: Type.String({ pattern: '^scrypt\\$[0-9]+\\$[0-9]+\\$[0-9]+\\$[A-Za-z0-9_-]+\\$[A-Za-z0-9_-]+$', expected: 'a hash from `tunnelwatch user hash-password` (scrypt$N$r$p$salt$hash)', description: 'scrypt hash of the password (`tunnelwatch user hash-password`); the password itself is never stored' }),
          subaccounts: Type.Optional(SubaccountScope),
        },
        { additionalProperties: false },
      ),
      { default: [], description: 'local users; tried before LDAP, and a local name is never looked up in LDAP' },
    ),
    ldap: Type.Optional(Type.Object(
      {
        url: Type.String({ pattern: '^ldaps?://[^\\s/?#]+/?$', expected: 'ldap://host:port or ldaps://host:port', description: 'LDAP server, e.g. ldaps://ldap.example.com:636' }),
        bind_dn: Type.Optional(Type.String({ minLength: 1, description: 'service account that searches for the user (absent = anonymous search)' })),
        bind_password_file: Type.Optional(Type.String({ minLength: 1, description: 'file holding the service account password (relative to the config file); never logged' })),
        user_base: Type.String({ minLength: 1, description: 'where users are searched, e.g. ou=people,dc=example,dc=com' }),
        user_filter: Type.String({ default: '(uid={username})', description: 'search filter; {username} is replaced by the user name, escaped per RFC 4515 (so * ( ) \\ match only themselves); must match exactly one entry' }),
        group_base: Type.String({ minLength: 1, description: 'where groups are searched, e.g. ou=groups,dc=example,dc=com' }),
        group_filter: Type.String({ default: '(|(member={dn})(uniqueMember={dn}))', description: 'filter for the groups of a user; {dn} is the escaped user DN' }),
        group_roles: Type.Array(
          Type.Object(
            {
              group: Type.String({ minLength: 1, description: 'group cn (or full DN)' }),
              role: RoleName,
              subaccounts: Type.Optional(SubaccountScope),
            },
            { additionalProperties: false },
          ),
          { minItems: 1, description: 'group to role; a user in no listed group cannot sign in; in several, gets the highest role and the union of their subaccounts (all, if one of them names none)' },
        ),
        ca_file: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA for ldaps:// (relative to the config file)' })),
        timeout_ms: Type.Integer({ minimum: 100, default: 5000, description: 'connect and operation timeout' }),
      },
      { additionalProperties: false, description: 'sign-in against an LDAP directory (bind as the user, groups map to roles)' },
    )),
    api_tokens: Type.Array(
      Type.Object(
        {
          name: Type.String({ pattern: ID_PATTERN, expected: NAME_EXPECTED, description: 'what the token is for; the name requests made with it act under' }),
          role: RoleName,
          sha256: Type.String({ pattern: '^[0-9a-f]{64}$', expected: '64 lower-case hex digits', description: 'SHA-256 of the token (`tunnelwatch token hash`)' }),
          subaccounts: Type.Optional(SubaccountScope),
        },
        { additionalProperties: false },
      ),
      { default: [], description: 'API tokens for automation (Authorization: Bearer <token>); admins can also create tokens in the dashboard' },
    ),
    relay_admin: Type.Optional(Type.Object(
      {
        url: Type.String({ pattern: '^https?://[^\\s/?#]+/?$', expected: 'http(s)://host:port', description: 'the relay\'s admin listener (relay.yaml admin.listen), e.g. https://relay.internal:9443' }),
        token_file: Type.String({ minLength: 1, description: 'file holding the admin bearer token whose SHA-256 is in the relay\'s admin.tokens (relative to the config file); never logged' }),
        ca: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA that signed the admin listener\'s certificate, for https:// (relative to the config file); absent = the system CAs' })),
        timeout_ms: Type.Integer({ minimum: 1000, maximum: 300_000, default: 60_000, description: 'how long to wait for the relay (ms); a check waits for the connector\'s whole check, so keep this above the relay\'s admin.check_timeout_ms, which answers 504 first' }),
      },
      { additionalProperties: false, description: 'the relay\'s admin API, for the Backends page\'s tunnel view and "Run check now" (absent = both answer 503)' },
    )),
  },
  { additionalProperties: false, description: 'the dashboard (absent = not served)' },
);

export type DashboardSettings = Static<typeof DashboardSection>;
