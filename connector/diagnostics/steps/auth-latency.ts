// Steps 5 and 6: what the probe's answer says about authentication, and whether the backend is fast enough.
// Both only read what earlier steps measured; neither talks to the backend again.
import type { IncomingHttpHeaders } from 'node:http';
import { ok, skipped, warn, type StepResult } from './step-kit.js';

export interface AuthInput {
  readonly protocol: 'http' | 'https' | 'tcp' | 'tcps';
  readonly at: string;
  /** "HEAD /" for http(s). */
  readonly request: string;
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** tcp/tcps with probe.ldap: the DN a bind succeeded as. */
  readonly boundAs: string;
}

export function authStep(a: AuthInput): StepResult {
  if (a.protocol === 'tcp' || a.protocol === 'tcps') {
    if (a.boundAs) return ok(`${a.at} accepted credentials: simple bind as ${a.boundAs}`, { bind_dn: a.boundAs });
    return skipped('no authentication to check for a tcp mapping without probe.ldap');
  }
  const challenge = a.headers['www-authenticate'];
  const scheme = typeof challenge === 'string' ? challenge.split(/[\s,]/)[0] ?? '' : '';
  if (a.status === 401) {
    return warn(
      'auth_required',
      `${a.at} is reachable but answered 401 to ${a.request}${scheme ? ` (WWW-Authenticate: ${scheme})` : ''}: it wants credentials the cloud app must send; check principal propagation or the credentials the cloud app uses`,
      { status: 401, scheme },
    );
  }
  if (a.status === 403) {
    return warn('auth_forbidden', `${a.at} is reachable but answered 403 to ${a.request}: it refuses anonymous requests (or the connector host's address)`, { status: 403 });
  }
  return ok(`${a.at} answered ${a.status} to ${a.request} without asking for credentials`, { status: a.status });
}

export interface LatencyInput {
  readonly dnsMs: number;
  readonly connectMs: number;
  readonly tlsMs: number;
  readonly responseMs: number;
  readonly warnMs: number;
}

export function latencyStep(l: LatencyInput): StepResult {
  const total = l.dnsMs + l.connectMs + l.tlsMs + l.responseMs;
  const parts = [`dns ${l.dnsMs}`, `connect ${l.connectMs}`, ...(l.tlsMs > 0 ? [`tls ${l.tlsMs}`] : []), ...(l.responseMs > 0 ? [`response ${l.responseMs}`] : [])].join(', ');
  const detail = { total_ms: total, dns_ms: l.dnsMs, connect_ms: l.connectMs, tls_ms: l.tlsMs, response_ms: l.responseMs, warn_ms: l.warnMs };
  if (total > l.warnMs) {
    return warn('latency_high', `the backend took ${total} ms to answer (${parts} ms), more than the ${l.warnMs} ms warning threshold (diagnostics.latency_warn_ms)`, detail);
  }
  return ok(`reachable in ${total} ms (${parts} ms)`, detail);
}
