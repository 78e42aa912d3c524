// API tokens for automation (Authorization: Bearer <token>): those of the config file (dashboard.api_tokens,
// by SHA-256) and those admins create in the dashboard (table api_tokens, also by SHA-256: the token is
// shown once and kept nowhere). Lookups are served from memory; the table is re-read at most every
// REFRESH_MS, so a token created or revoked by another dashboard process on the same store counts there
// within that time, and one revoked here counts at once.
import { createHash, randomBytes } from 'node:crypto';
import { TunnelwatchError } from '../../common/errors.js';
import { uuidv7 } from '../../common/ids.js';
import type { Logger } from '../../common/log.js';
import type { Store } from '../../collector/store/store.js';
import { chTime } from '../api/query-kit.js';
import type { DashboardSettings } from '../config-schema.js';
import type { Principal, Role } from '../roles.js';
import { isoMillis } from './admin-events.js';

const REFRESH_MS = 10_000;

export interface TokenInfo {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly subaccounts: '*' | readonly string[];
  /** 'config': dashboard.api_tokens (change the file to revoke); 'dashboard': created by an admin. */
  readonly source: 'config' | 'dashboard';
  /** RFC 3339, '' for config tokens. */
  readonly created_at: string;
  readonly created_by: string;
  /** '' = never. */
  readonly expires_at: string;
  /** '' = not revoked. */
  readonly revoked_at: string;
  readonly revoked_by: string;
}

interface TokenRecord extends TokenInfo {
  readonly sha256: string;
  readonly version: number;
}

export interface NewToken {
  readonly name: string;
  readonly role: Role;
  readonly subaccounts: '*' | readonly string[];
  readonly expiresDays?: number;
}

export interface ApiTokens {
  /** The principal of a presented token, or undefined (unknown, revoked or expired). */
  identify(token: string): Promise<Principal | undefined>;
  /** Expiry of the token a principal signed in with ('' = none or not a token). */
  expiresAt(principal: Principal): string;
  list(): Promise<TokenInfo[]>;
  /** Stores a new token; `token` is the secret, to be shown once. */
  create(input: NewToken, createdBy: string): Promise<{ token: string; info: TokenInfo }>;
  /** Revokes a dashboard token; undefined when there is no such id. Revoking twice changes nothing. */
  revoke(id: string, revokedBy: string): Promise<{ before: TokenInfo; after: TokenInfo } | undefined>;
  get(id: string): Promise<TokenInfo | undefined>;
  /** The swap that puts the config tokens of new settings in force (a config reload); tokens of the store stay. */
  prepareConfigTokens(settings: DashboardSettings): () => void;
}

export function sha256Hex(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** `tw_` and 32 random bytes, base64url: 256 bits, recognisable in logs and secret scanners. */
export function newApiToken(): string {
  return `tw_${randomBytes(32).toString('base64url')}`;
}

const NEVER = '1970-01-01T00:00:00.000Z';

function optionalTime(value: unknown): string {
  const iso = isoMillis(value);
  return iso === NEVER ? '' : iso;
}

function info(record: TokenRecord): TokenInfo {
  const { sha256: _s, version: _v, ...rest } = record;
  return rest;
}

function isLive(record: TokenInfo, now: number): boolean {
  return record.revoked_at === '' && (record.expires_at === '' || Date.parse(record.expires_at) > now);
}

function configTokensOf(settings: DashboardSettings): Map<string, TokenRecord> {
  return new Map<string, TokenRecord>(
    settings.api_tokens.map((t) => [t.sha256, {
      id: `config:${t.name}`, name: t.name, role: t.role, subaccounts: t.subaccounts ?? '*', source: 'config' as const,
      created_at: '', created_by: 'config file', expires_at: '', revoked_at: '', revoked_by: '', sha256: t.sha256, version: 0,
    }]),
  );
}

export async function createApiTokens(settings: DashboardSettings, store: Store, log: Logger): Promise<ApiTokens> {
  let configTokens = configTokensOf(settings);
  // Every dashboard token by id (revoked ones too, for the list) and the live ones by hash.
  let byId = new Map<string, TokenRecord>();
  let byHash = new Map<string, TokenRecord>();
  // Revoked in this process: never accepted here again, even when the store missed the revocation.
  const revokedHere = new Set<string>();
  let loadedAt = 0;
  let loading: Promise<void> | undefined;

  async function load(): Promise<void> {
    const rows = await store.query<Record<string, unknown>>(
      `SELECT id, name, role, subaccounts, sha256, created_at, created_by, expires_at, revoked_at, revoked_by, version
       FROM api_tokens ORDER BY id, version DESC LIMIT 1 BY id`,
    );
    const next = new Map<string, TokenRecord>();
    for (const r of rows) {
      const subaccounts = r.subaccounts as string[];
      next.set(String(r.id), {
        id: String(r.id), name: String(r.name), role: r.role as Role,
        subaccounts: subaccounts.length === 1 && subaccounts[0] === '*' ? '*' : subaccounts,
        source: 'dashboard', created_at: optionalTime(r.created_at), created_by: String(r.created_by),
        expires_at: optionalTime(r.expires_at), revoked_at: optionalTime(r.revoked_at), revoked_by: String(r.revoked_by),
        sha256: String(r.sha256), version: Number(r.version),
      });
    }
    install(next);
    loadedAt = Date.now();
  }

  function install(next: Map<string, TokenRecord>): void {
    byId = next;
    byHash = new Map([...next.values()].filter((t) => t.revoked_at === '' && !revokedHere.has(t.sha256)).map((t) => [t.sha256, t]));
  }

  async function fresh(): Promise<void> {
    if (Date.now() - loadedAt < REFRESH_MS) return;
    loading ??= load().finally(() => (loading = undefined));
    try {
      await loading;
    } catch (err) {
      // Keep answering from what is known; revocations made here are already in it.
      log.warn({ err }, 'API tokens could not be re-read from the store; using the last known set');
      loadedAt = Date.now();
    }
  }

  async function insert(record: TokenRecord): Promise<void> {
    const time = (iso: string): string => chTime(new Date(iso === '' ? 0 : iso));
    try {
      await store.client.insert({
        table: 'api_tokens',
        values: [{
          id: record.id, name: record.name, role: record.role,
          subaccounts: record.subaccounts === '*' ? ['*'] : [...record.subaccounts],
          sha256: record.sha256, created_at: time(record.created_at), created_by: record.created_by,
          expires_at: time(record.expires_at), revoked_at: time(record.revoked_at), revoked_by: record.revoked_by,
          version: record.version,
        }],
        format: 'JSONEachRow',
      });
    } catch (err) {
      throw new TunnelwatchError('TW_ERR_DASH_STORE_UNAVAILABLE', `API token not stored: ${(err as Error).message.split('\n')[0]?.slice(0, 300)}`, { cause: err });
    }
  }

  await load();

  return {
    prepareConfigTokens(next) {
      const table = configTokensOf(next);
      return () => {
        configTokens = table;
      };
    },
    async identify(token) {
      const hash = sha256Hex(token);
      const fromConfig = configTokens.get(hash);
      const record = fromConfig ?? (await fresh(), byHash.get(hash));
      if (!record || !isLive(record, Date.now())) return undefined;
      return { name: record.name, role: record.role, via: 'token', subaccounts: record.subaccounts };
    },
    expiresAt(principal) {
      if (principal.via !== 'token') return '';
      const record = [...byHash.values()].find((t) => t.name === principal.name);
      return record?.expires_at ?? '';
    },
    async list() {
      await fresh();
      const dashboard = [...byId.values()].sort((a, b) => b.created_at.localeCompare(a.created_at));
      return [...configTokens.values(), ...dashboard].map(info);
    },
    async get(id) {
      await fresh();
      const record = byId.get(id) ?? [...configTokens.values()].find((t) => t.id === id);
      return record && info(record);
    },
    async create(input, createdBy) {
      await fresh();
      const now = Date.now();
      const taken = [...configTokens.values(), ...byHash.values()].some((t) => t.name === input.name && isLive(t, now));
      if (taken) throw new TunnelwatchError('TW_ERR_DASH_BAD_REQUEST', `a live API token named ${input.name} exists already: revoke it first or pick another name`);
      const token = newApiToken();
      const record: TokenRecord = {
        id: uuidv7(now), name: input.name, role: input.role, subaccounts: input.subaccounts, source: 'dashboard',
        created_at: new Date(now).toISOString(), created_by: createdBy,
        expires_at: input.expiresDays ? new Date(now + input.expiresDays * 86_400_000).toISOString() : '',
        revoked_at: '', revoked_by: '', sha256: sha256Hex(token), version: now,
      };
      await insert(record);
      byId.set(record.id, record);
      byHash.set(record.sha256, record);
      return { token, info: info(record) };
    },
    async revoke(id, revokedBy) {
      await fresh();
      const current = byId.get(id);
      if (!current) return undefined;
      if (current.revoked_at !== '') return { before: info(current), after: info(current) };
      const now = Date.now();
      const revoked: TokenRecord = { ...current, revoked_at: new Date(now).toISOString(), revoked_by: revokedBy, version: Math.max(now, current.version + 1) };
      // Out of the lookup table before the store is asked: a failed write must not leave it usable here.
      revokedHere.add(current.sha256);
      byHash.delete(current.sha256);
      await insert(revoked);
      byId.set(id, revoked);
      return { before: info(current), after: info(revoked) };
    },
  };
}
