// JSON schemas of the session, token and admin-event routes: they validate requests, shape responses and
// are the API's documentation (/api/v1/openapi.json).
import { Type, type Static } from '@sinclair/typebox';
import { ID_PATTERN, SUBACCOUNT_PATTERN } from '../../common/config/schema-parts.js';

export const RoleSchema = Type.Union([Type.Literal('viewer'), Type.Literal('analyst'), Type.Literal('admin')], {
  description: 'viewer < analyst < admin; each may do what the ones below it may',
});

export const ScopeSchema = Type.Union([Type.Literal('*'), Type.Array(Type.String())], {
  description: "subaccounts whose data this identity may see: '*' = all",
});

export const SessionView = Type.Object({
  name: Type.String({ description: 'user name (or API token name)' }),
  role: RoleSchema,
  via: Type.Union([Type.Literal('local'), Type.Literal('ldap'), Type.Literal('token')], { description: 'how the caller signed in' }),
  subaccounts: ScopeSchema,
  csrf_token: Type.String({ description: "send it as the x-csrf-token header on every POST, PUT, PATCH and DELETE of this session; '' for API tokens, which need none" }),
  expires_at: Type.String({ description: "when the session ends unless used again (idle expiry, or the absolute limit if sooner), RFC 3339; for an API token its expiry; '' = never" }),
}, { description: 'the signed-in caller' });

export const LoginBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\u0000-\\u001f\\u007f]+$', description: 'local user name or LDAP user name' }),
  password: Type.String({ maxLength: 1024, description: 'the password (never logged; an empty one is always refused)' }),
}, { additionalProperties: false });
export type LoginBodyT = Static<typeof LoginBody>;

export const TokenView = Type.Object({
  id: Type.String({ description: "token id (UUIDv7); 'config:<name>' for tokens of the config file" }),
  name: Type.String(),
  role: RoleSchema,
  subaccounts: ScopeSchema,
  source: Type.Union([Type.Literal('config'), Type.Literal('dashboard')], { description: 'config: dashboard.api_tokens (edit the file to revoke); dashboard: created here' }),
  created_at: Type.String({ description: "RFC 3339; '' for config tokens" }),
  created_by: Type.String({ description: 'who created it' }),
  expires_at: Type.String({ description: "RFC 3339; '' = never" }),
  revoked_at: Type.String({ description: "RFC 3339; '' = not revoked" }),
  revoked_by: Type.String(),
});

export const TokenList = Type.Object({ tokens: Type.Array(TokenView, { description: 'config tokens first, then dashboard tokens newest first, revoked ones included' }) });

export const NewTokenBody = Type.Object({
  name: Type.String({ pattern: ID_PATTERN, description: 'what the token is for, e.g. siem-export (letters, digits, ".", "_", "-"); unique among live tokens' }),
  role: RoleSchema,
  subaccounts: Type.Optional(Type.Array(Type.String({ pattern: SUBACCOUNT_PATTERN }), {
    minItems: 1, maxItems: 200, uniqueItems: true,
    description: 'limit the token to these subaccounts; absent = the scope of the admin creating it',
  })),
  expires_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650, description: 'the token stops working after this many days; absent = never' })),
}, { additionalProperties: false });
export type NewTokenBodyT = Static<typeof NewTokenBody>;

export const CreatedToken = Type.Object({
  token: Type.String({ description: 'the token (tw_ + 43 characters): shown this once and stored nowhere; send it as "Authorization: Bearer <token>"' }),
  info: TokenView,
});

export const TokenIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200, description: 'token id' }) });

export const AdminEventView = Type.Object({
  schema: Type.String({ description: 'tunnelwatch.admin/1' }),
  event_id: Type.String({ description: 'UUIDv7' }),
  ts: Type.String({ description: 'RFC 3339 with milliseconds' }),
  emitter: Type.String({ description: 'dashboard' }),
  emitter_id: Type.String({ description: 'dashboard@<hostname>: one hash chain per emitter_id' }),
  seq: Type.Integer({ description: 'position in the chain, from 1' }),
  prev_hash: Type.String({ description: "hash of the previous event of this emitter ('' for seq 1)" }),
  hash: Type.String({ description: 'SHA-256 (hex) of the RFC 8785 canonical JSON of every other field' }),
  action: Type.String({ description: 'login.success, login.failure, logout, token.create, token.revoke' }),
  outcome: Type.String({ description: 'success or failure' }),
  actor: Type.String({ description: "who did it ('' for a failed sign-in: see target)" }),
  actor_role: Type.String(),
  via: Type.String({ description: 'local, ldap or token' }),
  target: Type.String({ description: 'what it was done to: the user name tried, or the token name' }),
  client_ip: Type.String(),
  user_agent: Type.String(),
  reason: Type.String({ description: 'why it failed (unknown_user, wrong_password, no_role, empty_password, ldap_unavailable, throttled; maybe with ": detail"), or other detail' }),
  before: Type.String({ description: "JSON of the state before ('' when not applicable)" }),
  after: Type.String({ description: "JSON of the state after ('' when not applicable)" }),
});

export const AdminEventsQuery = Type.Object({
  from: Type.Optional(Type.String({ format: 'date-time', description: 'start (RFC 3339, inclusive); default: `to` minus 7 days' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'end (RFC 3339, exclusive); default: now' })),
  action: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z][a-z._]{0,63}$' }), { maxItems: 20, description: 'only these actions (repeat the parameter for several)' })),
  outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('failure')], { description: 'only successes or only failures' })),
  user: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'only events whose actor or target is this name' })),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'events per page' }),
  offset: Type.Integer({ minimum: 0, maximum: 100_000, default: 0, description: 'events to skip (newest first)' }),
}, { additionalProperties: false });
export type AdminEventsQueryT = Static<typeof AdminEventsQuery>;

export const AdminEventPage = Type.Object({
  events: Type.Array(AdminEventView, { description: 'newest first' }),
  total: Type.Integer({ description: 'events matching the filters' }),
  limit: Type.Integer(),
  offset: Type.Integer(),
  from: Type.String({ description: 'the range used, RFC 3339' }),
  to: Type.String(),
});
