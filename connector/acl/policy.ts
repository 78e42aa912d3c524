// Compiles the subaccounts section of connector.yaml into lookup structures for decide(), once at start-up,
// after checking what the JSON schema cannot (duplicates, normalised paths, resources on TCP mappings).
import { ConfigError } from '../../common/config/load-config.js';
import type { ConnectorConfig } from '../agent/config-schema.js';
import { normalizeAuthority, normalizePath, segmentName, segmentNameEnd } from './normalize-path.js';

export interface CompiledMapping {
  /** Rule id for tcp/tcps mappings (config `id` or "<vhost>:<vport>"). */
  readonly id: string;
  /** Lower case; IPv6 without brackets. */
  readonly virtualHost: string;
  readonly virtualPort: number;
  /** As configured; IPv6 without brackets. */
  readonly internalHost: string;
  readonly internalPort: number;
  readonly protocol: 'http' | 'https' | 'tcp' | 'tcps';
  /** The exact Host header value to send the backend. */
  readonly hostHeader: string;
  /** CA file path as configured (resolution is the caller's job). */
  readonly ca?: string;
  readonly resources: readonly CompiledResource[];
}

export interface CompiledResource {
  readonly id: string;
  readonly path: string;
  readonly match: 'exact' | 'prefix';
  /** Empty means every method. */
  readonly methods: ReadonlySet<string>;
  readonly active: boolean;
  readonly websocket: boolean;
}

/** Opaque to callers: build it with compilePolicy(), use it with decide() and describePolicy(). */
export interface CompiledPolicy {
  /** @internal */ readonly subaccounts: ReadonlyMap<string, CompiledSubaccount>;
}

/** @internal */
export interface CompiledSubaccount {
  readonly name: string;
  /** Empty means every cloud app of the subaccount. */
  readonly trustedApps: ReadonlySet<string>;
  /** Keyed by mappingKey(host, port); in config order. */
  readonly mappings: ReadonlyMap<string, MappingIndex>;
  /** Concurrent call limits (limits.ts); 0 = none. */
  readonly limits: CallLimits;
}

/** A subaccount's `limits:`, compiled. */
export interface CallLimits {
  /** All cloud apps of the subaccount together. */
  readonly subaccount: number;
  /** Each cloud app, unless `apps` names it. */
  readonly perApp: number;
  readonly apps: ReadonlyMap<string, number>;
}

/** @internal What decide() needs about one mapping, precomputed so the hot path only looks things up. */
export interface MappingIndex {
  readonly mapping: CompiledMapping;
  /** Exact resources by path: an exact hit is always the most specific match. */
  readonly exact: ReadonlyMap<string, CompiledResource>;
  /** Prefix resources, longest path first. */
  readonly prefixes: readonly PrefixRule[];
  /**
   * For each prefix resource, the resources that are more specific under the loose reading (loosePath)
   * and nested below it, most specific first. If one of them covers a request the literal reading gave
   * to that prefix, a lenient backend would serve another resource than the one decided on. Resources
   * without such rivals have no entry, so most calls skip the check.
   */
  readonly rivals: ReadonlyMap<CompiledResource, readonly LooseRule[]>;
  /** Some resource path changes under loosePath(): every request needs the loose check. */
  readonly looseRulesDiffer: boolean;
}

/** @internal */
export interface PrefixRule {
  readonly resource: CompiledResource;
  readonly path: string;
  /** The path ends in '/', so any continuation is below it. */
  readonly endsWithSlash: boolean;
}

/** @internal */
export interface LooseRule extends PrefixRule {
  readonly exact: boolean;
  /** The segments of the loose path; '' last when a prefix ends in '/' (exact rules drop it). */
  readonly segments: readonly string[];
}

/** The Map key of a virtual host and port, also how it is shown: "host:port", IPv6 in brackets. */
export function mappingKey(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function compilePolicy(subaccounts: ConnectorConfig['subaccounts']): CompiledPolicy {
  const problems: string[] = [];
  const compiled = new Map<string, CompiledSubaccount>();
  for (const [name, rules] of Object.entries(subaccounts)) {
    const mappings = new Map<string, MappingIndex>();
    const ruleIds = new Map<string, string>(); // id -> config key that defined it first
    const firstKeyOf = new Map<string, number>();
    rules.mappings.forEach((m, i) => {
      const at = `subaccounts.${name}.mappings[${i}]`;
      const virtual = normalizeAuthority(m.virtual);
      const internal = normalizeAuthority(m.internal);
      if (!virtual.ok) problems.push(`${at}.virtual: ${m.virtual} ${virtual.reason}`);
      if (!internal.ok) problems.push(`${at}.internal: ${m.internal} ${internal.reason}`);
      if (!virtual.ok || !internal.ok) return;
      const key = mappingKey(virtual.host, virtual.port);
      if (firstKeyOf.has(key)) {
        problems.push(`${at}.virtual: ${key} is mapped twice in subaccount ${name}`);
        return;
      }
      firstKeyOf.set(key, i);
      const isTcp = m.protocol === 'tcp' || m.protocol === 'tcps';
      if (isTcp && m.resources.length > 0) {
        problems.push(`${at}.resources: ${m.protocol} mappings carry no HTTP resources; remove them or use protocol http/https`);
      }
      const id = m.id ?? key;
      claimId(ruleIds, id, `${at}${m.id === undefined ? '.virtual' : '.id'}`, name, problems);
      const resources: CompiledResource[] = [];
      const seen = new Map<string, number>();
      m.resources.forEach((r, j) => {
        const rat = `${at}.resources[${j}]`;
        const norm = normalizePath(r.path);
        if (!norm.ok) {
          problems.push(`${rat}.path: ${r.path} is not a valid path: ${norm.reason}`);
          return;
        }
        if (norm.path !== r.path) {
          problems.push(`${rat}.path: ${r.path} is not normalised; write ${norm.path}`);
          return;
        }
        const dupKey = `${r.match} ${r.path}`;
        const first = seen.get(dupKey);
        if (first !== undefined) {
          problems.push(`${rat}.path: ${r.path} (${r.match}) is listed twice for ${key} (first at resources[${first}])`);
          return;
        }
        seen.set(dupKey, j);
        if (r.methods.includes('CONNECT')) problems.push(`${rat}.methods: CONNECT is not an HTTP resource method; use a tcp or tcps mapping`);
        const rid = r.id ?? `${key}${r.path}${r.match === 'prefix' ? '*' : ''}`;
        claimId(ruleIds, rid, `${rat}${r.id === undefined ? '.path' : '.id'}`, name, problems);
        resources.push(Object.freeze({ id: rid, path: r.path, match: r.match, methods: new Set(r.methods), active: r.active, websocket: r.websocket }));
      });
      const mapping: CompiledMapping = Object.freeze({
        id,
        virtualHost: virtual.host,
        virtualPort: virtual.port,
        internalHost: unbracket(m.internal),
        internalPort: internal.port,
        protocol: m.protocol,
        hostHeader: m.host_header === 'internal' ? m.internal : key,
        ...(m.ca === undefined ? {} : { ca: m.ca }),
        resources: Object.freeze(resources),
      });
      mappings.set(key, indexMapping(mapping));
    });
    const apps = new Map(Object.entries(rules.limits?.apps ?? {}));
    if (rules.trusted_apps.length > 0) {
      for (const app of apps.keys()) {
        if (!rules.trusted_apps.includes(app)) problems.push(`subaccounts.${name}.limits.apps.${app}: not in trusted_apps of subaccount ${name}, so it has no calls to limit`);
      }
    }
    const limits: CallLimits = Object.freeze({ subaccount: rules.limits?.max_calls_in_flight ?? 0, perApp: rules.limits?.app_max_calls_in_flight ?? 0, apps });
    compiled.set(name, Object.freeze({ name, trustedApps: new Set(rules.trusted_apps), mappings, limits }));
  }
  if (problems.length > 0) throw new ConfigError('access rules (connector.yaml subaccounts)', problems);
  return Object.freeze({ subaccounts: compiled });
}

function claimId(ids: Map<string, string>, id: string, at: string, subaccount: string, problems: string[]): void {
  const first = ids.get(id);
  if (first === undefined) ids.set(id, at);
  else problems.push(`${at}: rule id ${id} is used twice in subaccount ${subaccount} (first at ${first})`);
}

function indexMapping(mapping: CompiledMapping): MappingIndex {
  const exact = new Map<string, CompiledResource>();
  const prefixes: PrefixRule[] = [];
  for (const r of mapping.resources) {
    if (r.match === 'exact') exact.set(r.path, r);
    else prefixes.push({ resource: r, path: r.path, endsWithSlash: r.path.endsWith('/') });
  }
  prefixes.sort((a, b) => b.path.length - a.path.length);
  const loose: LooseRule[] = mapping.resources.map((r) => {
    const path = loosePath(r.path);
    const exact = r.match === 'exact';
    const segments = path.split('/').slice(1);
    // Spring MVC (before 6) also serves /a for /a/, so the loose reading of an exact rule ignores a trailing slash.
    if (exact && segments[segments.length - 1] === '') segments.pop();
    return { resource: r, path, endsWithSlash: path.endsWith('/'), exact, segments };
  });
  loose.sort((a, b) => b.path.length - a.path.length || Number(b.exact) - Number(a.exact));
  const rivals = new Map<CompiledResource, readonly LooseRule[]>();
  // An exact resource has no rivals: nothing is more specific than the whole path.
  for (const mine of loose) {
    if (mine.exact) continue;
    const more = loose.filter((o) => o !== mine && covers(mine, o.path) && (o.path !== mine.path || o.exact));
    if (more.length > 0) rivals.set(mine.resource, more);
  }
  return { mapping, exact, prefixes, rivals, looseRulesDiffer: loose.some((l) => l.path !== l.resource.path) };
}

/** Whether a prefix rule covers a path: segment-wise, so /api/orders does not cover /api/orders-admin. */
export function covers(rule: PrefixRule, path: string): boolean {
  const p = rule.path;
  if (!path.startsWith(p)) return false;
  return path.length === p.length || rule.endsWithSlash || path.charCodeAt(p.length) === 0x2f;
}

/**
 * A path as the most lenient backends read it: each segment cut at a path parameter or stream suffix,
 * trailing dots and spaces removed, lower case (IIS, Windows file systems, Tomcat, Spring).
 */
export function loosePath(path: string): string {
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) parts[i] = segmentName(parts[i]!).toLowerCase();
  return parts.join('/');
}

/**
 * Whether a loose rule covers loosePath(path), compared segment by segment without building that string
 * (decide() runs this per call).
 */
export function looseCovers(rule: LooseRule, path: string): boolean {
  const segs = rule.segments;
  const m = segs.length;
  // Segments that must be equal: all of them, except the '' that a trailing '/' of a prefix leaves.
  const need = !rule.exact && rule.endsWithSlash ? m - 1 : m;
  let n = 0;
  let start = 1;
  for (;;) {
    let end = path.indexOf('/', start);
    const last = end < 0;
    if (last) end = path.length;
    // An exact rule ignores a trailing slash (exact rules keep no trailing '' segment).
    if (rule.exact && last && start === end && n === m) return true;
    if (n >= need) {
      if (!rule.exact) return true;
      return false;
    }
    if (!sameLooseSegment(path, start, end, segs[n]!)) return false;
    n += 1;
    if (last) break;
    start = end + 1;
  }
  return n >= m;
}

function sameLooseSegment(path: string, start: number, end: number, seg: string): boolean {
  const stop = segmentNameEnd(path, start, end);
  if (stop - start !== seg.length) return false;
  for (let i = 0; i < seg.length; i++) {
    let c = path.charCodeAt(start + i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== seg.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Whether the loose reading of path is the literal one: loosePath(path) === path, and no trailing slash
 * (which the loose reading ignores against exact rules). Checked without allocating.
 */
export function isLoose(path: string): boolean {
  if (path.length > 1 && path.charCodeAt(path.length - 1) === 0x2f) return false;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a) || c === 0x3b || c === 0x3a || c === 0x25) return false;
    if (c === 0x2e && (i + 1 === path.length || path.charCodeAt(i + 1) === 0x2f)) return false;
  }
  return true;
}

function unbracket(authority: string): string {
  const host = authority.slice(0, authority.lastIndexOf(':'));
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

function hasLimits(l: CallLimits): boolean {
  return l.subaccount > 0 || l.perApp > 0 || l.apps.size > 0;
}

/** A JSON-able snapshot of every rule, in config order, for the relay and the dashboard. */
export function describePolicy(policy: CompiledPolicy): unknown {
  return {
    subaccounts: [...policy.subaccounts.values()].map((s) => ({
      subaccount: s.name,
      trusted_apps: [...s.trustedApps],
      // Only when set, so that the snapshots of connectors without limits stay as they were.
      ...(hasLimits(s.limits) ? { limits: { max_calls_in_flight: s.limits.subaccount, app_max_calls_in_flight: s.limits.perApp, apps: Object.fromEntries(s.limits.apps) } } : {}),
      mappings: [...s.mappings.values()].map(({ mapping: m }) => ({
        id: m.id,
        virtual: mappingKey(m.virtualHost, m.virtualPort),
        internal: mappingKey(m.internalHost, m.internalPort),
        protocol: m.protocol,
        host_header: m.hostHeader,
        ca: m.ca ?? null,
        resources: m.resources.map((r) => ({
          id: r.id,
          path: r.path,
          match: r.match,
          methods: [...r.methods],
          active: r.active,
          websocket: r.websocket,
        })),
      })),
    })),
  };
}
