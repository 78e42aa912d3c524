// Roles, ordered: each includes what the ones below it may do. Every dashboard route declares the least
// role it needs (config.access); a route without one does not start (deny by default, dashboard/app.ts).
export const ROLES = ['viewer', 'analyst', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What a route needs: 'public' (login page, assets, health) or at least this role. */
export type Access = 'public' | Role;

const RANK: Record<Role, number> = { viewer: 1, analyst: 2, admin: 3 };

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** True when `role` may use a route that needs `needed`. */
export function roleAllows(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

/** The higher of two roles (a user in several mapped LDAP groups gets the highest). */
export function higherRole(a: Role, b: Role): Role {
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * Who is calling, once authenticated. `subaccounts` scopes every data query: '*' = all, else only
 * these (a tenant's own viewer sees its own calls and nothing else).
 */
export interface Principal {
  readonly name: string;
  readonly role: Role;
  /** How they proved it: a local password, an LDAP bind, or an API token. */
  readonly via: 'local' | 'ldap' | 'token';
  readonly subaccounts: '*' | readonly string[];
  /** Session id (cookie sessions only); API tokens have none and need no CSRF token. */
  readonly sessionId?: string;
}

/** Whether a principal may see data of this subaccount. */
export function canSeeSubaccount(principal: Principal, subaccount: string): boolean {
  return principal.subaccounts === '*' || principal.subaccounts.includes(subaccount);
}
