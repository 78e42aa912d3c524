// The access-control decision: deny by default, one subaccount's rules only, the most specific resource
// decides. Runs once per call on the connector, so it only looks up what compilePolicy() precomputed.
// The order of the checks is part of the contract (docs/access-control.md).
import type { DenyReason } from '../../common/audit/event.js';
import { normalizeAuthority, normalizePath } from './normalize-path.js';
import { covers, isLoose, looseCovers, mappingKey, type CompiledMapping, type CompiledPolicy, type CompiledResource, type MappingIndex } from './policy.js';

export interface AccessRequest {
  subaccount: string;
  cloudApp: string;
  kind: 'http' | 'connect';
  /** As received ('CONNECT' for connect). */
  method: string;
  /** host:port the cloud app asked for (absolute-URI authority or CONNECT target), untrusted. */
  authority: string;
  /** Origin-form path with optional ?query as received (untrusted); '' for connect. */
  target: string;
  /** The request asks for an HTTP Upgrade (websocket). */
  upgrade: boolean;
}

export interface AccessDecision {
  decision: 'allow' | 'deny';
  denyReason: DenyReason | '';
  /** One line for logs and the 403 body. */
  detail: string;
  /** '' when denied. */
  ruleId: string;
  /** Normalised lower case ('' if unparseable). */
  virtualHost: string;
  /** 0 if unparseable. */
  virtualPort: number;
  /** Set whenever a mapping was found (also for later denials). */
  mapping?: CompiledMapping;
  /** The normalised path decided on ('' for connect or unparseable). */
  path: string;
  /** Raw query without '?', '' if none. */
  query: string;
}

/** RFC 9110 token, bounded. */
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;
const HTTP_PORT = 80;

export function decide(policy: CompiledPolicy, req: AccessRequest): AccessDecision {
  // Everything readable is parsed first so that every denial, whatever its reason, is audited with it.
  const t: Target = { virtualHost: '', virtualPort: 0, path: '', query: '', malformed: '' };
  parseRequest(req, t);

  const sub = policy.subaccounts.get(req.subaccount);
  if (sub !== undefined && sub.trustedApps.size > 0 && !sub.trustedApps.has(req.cloudApp)) {
    return deny(t, 'app_not_trusted', `cloud app ${quote(req.cloudApp)} is not in trusted_apps of subaccount ${sub.name}`);
  }
  if (t.malformed !== '') return deny(t, 'malformed_request', t.malformed);
  if (sub === undefined) return deny(t, 'no_mapping', `subaccount ${quote(req.subaccount)} has no access rules`);

  const hostPort = mappingKey(t.virtualHost, t.virtualPort);
  const entry = sub.mappings.get(hostPort);
  if (entry === undefined) return deny(t, 'no_mapping', `no mapping for ${hostPort} in subaccount ${sub.name}`);
  const mapping = entry.mapping;
  const tcp = mapping.protocol === 'tcp' || mapping.protocol === 'tcps';

  if (req.kind === 'connect') {
    if (!tcp) return deny(t, 'protocol_not_allowed', `CONNECT needs a tcp or tcps mapping; ${hostPort} is ${mapping.protocol}`, mapping);
    return allow(t, mapping.id, mapping);
  }
  if (tcp) return deny(t, 'protocol_not_allowed', `HTTP requests need an http or https mapping; ${hostPort} is ${mapping.protocol}`, mapping);

  const resource = mostSpecific(entry, t.path);
  if (resource === undefined) return deny(t, 'path_not_allowed', `no resource of ${hostPort} covers ${t.path}`, mapping);
  const other = looseConflict(entry, t.path, resource);
  if (other !== undefined) {
    return deny(t, 'malformed_request', `${t.path} is ambiguous: backends that ignore case, path parameters or trailing dots would apply ${other.id} instead of ${resource.id}`, mapping);
  }
  if (!resource.active) return deny(t, 'resource_suspended', `resource ${resource.id} is suspended`, mapping);
  if (resource.methods.size > 0 && !resource.methods.has(req.method)) {
    return deny(t, 'method_not_allowed', `resource ${resource.id} does not allow ${req.method}`, mapping);
  }
  if (req.upgrade && !resource.websocket) {
    return deny(t, 'protocol_not_allowed', `websocket upgrade is not allowed by resource ${resource.id}`, mapping);
  }
  return allow(t, resource.id, mapping);
}

interface Target {
  virtualHost: string;
  virtualPort: number;
  path: string;
  query: string;
  /** Why the request cannot be decided safely; '' when it can. */
  malformed: string;
}

function parseRequest(req: AccessRequest, t: Target): void {
  const connect = req.kind === 'connect';
  if (!connect && req.kind !== 'http') t.malformed = 'unknown request kind';
  else if (typeof req.method !== 'string' || !METHOD.test(req.method)) t.malformed = 'the method is not an HTTP token';
  else if (connect !== (req.method === 'CONNECT')) t.malformed = connect ? 'a connect request must use CONNECT' : 'CONNECT is only valid as a connect request';

  const authority = typeof req.authority === 'string' ? normalizeAuthority(req.authority, connect ? undefined : HTTP_PORT) : { ok: false as const, reason: 'authority is missing' };
  if (authority.ok) {
    t.virtualHost = authority.host;
    t.virtualPort = authority.port;
  } else if (t.malformed === '') {
    t.malformed = authority.reason;
  }

  const target = typeof req.target === 'string' ? req.target : '';
  if (connect) {
    if (target !== '' && t.malformed === '') t.malformed = 'a CONNECT request carries no path';
    return;
  }
  const q = target.indexOf('?');
  const rawQuery = q < 0 ? '' : target.slice(q + 1);
  const queryProblem = checkQuery(rawQuery);
  const path = normalizePath(q < 0 ? target : target.slice(0, q));
  if (path.ok && queryProblem === '') {
    t.path = path.path;
    t.query = rawQuery;
  } else if (t.malformed === '') {
    t.malformed = path.ok ? queryProblem : path.reason;
  }
}

/** The query goes to the backend as received: printable ASCII only, and no fragment. */
function checkQuery(query: string): string {
  for (let i = 0; i < query.length; i++) {
    const c = query.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return 'query contains a space, control or raw non-ASCII character (send it percent-encoded)';
    if (c === 0x23) return 'query contains "#"';
  }
  return '';
}

/** The most specific resource covering path: an exact hit, else the longest covering prefix. */
function mostSpecific(entry: MappingIndex, path: string): CompiledResource | undefined {
  const exact = entry.exact.get(path);
  if (exact !== undefined) return exact;
  for (const p of entry.prefixes) if (covers(p, path)) return p.resource;
  return undefined;
}

/**
 * Reads the path the way the most lenient backends do (see loosePath) and returns the resource that
 * reading would pick when it is not the one chosen, e.g. /api/ADMIN;x/ or /api/admin./ against a
 * suspended /api/admin under an allowed /api. Skipped when it cannot differ, which is the common case.
 */
function looseConflict(entry: MappingIndex, path: string, chosen: CompiledResource): CompiledResource | undefined {
  const rivals = entry.rivals.get(chosen);
  if (rivals === undefined) return undefined;
  // Literal and loose readings agree when neither the path nor any rule changes under loosePath().
  if (!entry.looseRulesDiffer && isLoose(path)) return undefined;
  for (const rule of rivals) if (looseCovers(rule, path)) return rule.resource;
  return undefined;
}

function deny(t: Target, reason: DenyReason, detail: string, mapping?: CompiledMapping): AccessDecision {
  const d: AccessDecision = { decision: 'deny', denyReason: reason, detail, ruleId: '', virtualHost: t.virtualHost, virtualPort: t.virtualPort, path: t.path, query: t.query };
  if (mapping !== undefined) d.mapping = mapping;
  return d;
}

function allow(t: Target, ruleId: string, mapping: CompiledMapping): AccessDecision {
  return { decision: 'allow', denyReason: '', detail: `allowed by ${ruleId}`, ruleId, virtualHost: t.virtualHost, virtualPort: t.virtualPort, mapping, path: t.path, query: t.query };
}

/** Untrusted names in details: quoted and escaped so that a detail stays one line. */
function quote(s: string): string {
  return JSON.stringify(s.length > 128 ? `${s.slice(0, 128)}...` : s);
}
