// The pure parts of LDAP sign-in: putting a user name or DN into a search filter safely, and turning the
// groups a user is in into a dashboard role and subaccount scope.
import { higherRole, type Role } from '../roles.js';

/**
 * RFC 4515 escaping of a value inside a filter: `*`, `(`, `)`, `\` and NUL become \2a \28 \29 \5c \00, so
 * a user name like `*)(uid=*` matches itself and nothing else.
 */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The filter template with every `{name}` replaced by the escaped value (no `$&` surprises of replace()). */
export function fillFilter(template: string, name: string, value: string): string {
  return template.split(`{${name}}`).join(escapeFilterValue(value));
}

/** A DN compared without regard to case or the spaces around `,` and `=` (enough for configured group DNs). */
export function normaliseDn(dn: string): string {
  return dn.trim().replace(/\s*([,=+])\s*/g, '$1').toLowerCase();
}

export interface GroupRoleMapping {
  readonly group: string;
  readonly role: Role;
  readonly subaccounts?: readonly string[];
}

export interface DirectoryGroup {
  readonly dn: string;
  readonly cn: readonly string[];
}

export interface MappedRole {
  readonly role: Role;
  readonly subaccounts: '*' | readonly string[];
  /** The configured groups that matched, in config order (for the admin event). */
  readonly groups: readonly string[];
}

/**
 * Role and scope from group membership: the highest role of any mapped group; the scope is the union of
 * the matched mappings' subaccounts, or all when one of them names none. undefined = no mapped group.
 */
export function mapGroups(groups: readonly DirectoryGroup[], mappings: readonly GroupRoleMapping[]): MappedRole | undefined {
  const dns = new Set(groups.map((g) => normaliseDn(g.dn)));
  const cns = new Set(groups.flatMap((g) => g.cn.map((cn) => cn.toLowerCase())));
  const matched = mappings.filter((m) => (m.group.includes('=') ? dns.has(normaliseDn(m.group)) : cns.has(m.group.toLowerCase())));
  if (matched.length === 0) return undefined;
  const role = matched.map((m) => m.role).reduce(higherRole);
  const scope = new Set<string>();
  let all = false;
  for (const m of matched) {
    if (!m.subaccounts) all = true;
    else for (const s of m.subaccounts) scope.add(s);
  }
  return { role, subaccounts: all ? '*' : [...scope].sort(), groups: matched.map((m) => m.group) };
}
