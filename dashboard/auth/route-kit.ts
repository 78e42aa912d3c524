// What the sign-in, token and admin-event routes share: request metadata for admin events, the subaccount
// scope rules for tokens, and the shape of a principal in answers.
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../roles.js';

/** Address and user agent of a request, as admin events record them. */
export function requestMeta(request: FastifyRequest): { clientIp: string; userAgent: string } {
  return { clientIp: request.ip, userAgent: request.headers['user-agent'] ?? '' };
}

/** True when `outer` includes every subaccount of `inner` ('*' includes everything, and only '*' includes '*'). */
export function scopeCovers(outer: '*' | readonly string[], inner: '*' | readonly string[]): boolean {
  if (outer === '*') return true;
  if (inner === '*') return false;
  return inner.every((s) => outer.includes(s));
}

export function scopeText(scope: '*' | readonly string[]): string {
  return scope === '*' ? 'all subaccounts' : scope.join(', ');
}

export function principalView(principal: Principal): { name: string; role: Principal['role']; via: Principal['via']; subaccounts: '*' | string[] } {
  return { name: principal.name, role: principal.role, via: principal.via, subaccounts: principal.subaccounts === '*' ? '*' : [...principal.subaccounts] };
}
