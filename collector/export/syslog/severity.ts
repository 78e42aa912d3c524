// How urgent a record is, in each format's own scale (docs/siem-syslog.md, "Severity"): the syslog
// severity in PRI (RFC 5424 §6.2.1: 0 emergency .. 7 debug, lower is worse), the CEF Severity (0-10) and
// the LEEF `sev` (1-10, the CEF figure, at least 1). Denials are what a SOC looks at; a denial that is
// the tunnel's own state (no connector, rate limit) is less telling than a policy refusal.
import type { Severity as FindingSeverity } from '../../detect/types.js';
import type { ExportedAuditEvent } from '../types.js';

export interface Urgency {
  readonly syslog: number;
  readonly cef: number;
}

export const AUDIT_ALLOWED: Urgency = { syslog: 6, cef: 1 };
export const AUDIT_BACKEND_ERROR: Urgency = { syslog: 5, cef: 3 };
export const AUDIT_OPERATIONAL_DENIAL: Urgency = { syslog: 5, cef: 4 };
export const AUDIT_POLICY_DENIAL: Urgency = { syslog: 4, cef: 6 };

/** Denials that say more about the tunnel's state than about the caller. */
export const OPERATIONAL_DENY_REASONS: ReadonlySet<string> = new Set(['no_connector', 'rate_limited']);

export const FINDING_URGENCY: Readonly<Record<FindingSeverity, Urgency>> = {
  low: { syslog: 5, cef: 3 },
  medium: { syslog: 4, cef: 5 },
  high: { syslog: 3, cef: 8 },
  critical: { syslog: 2, cef: 10 },
};

export function auditUrgency(e: Pick<ExportedAuditEvent, 'decision' | 'deny_reason' | 'error_type'>): Urgency {
  if (e.decision === 'deny') return OPERATIONAL_DENY_REASONS.has(e.deny_reason) ? AUDIT_OPERATIONAL_DENIAL : AUDIT_POLICY_DENIAL;
  return e.error_type === '' ? AUDIT_ALLOWED : AUDIT_BACKEND_ERROR;
}

/** An unknown severity word (a later spec version) is treated as medium rather than dropped. */
export function findingUrgency(severity: string): Urgency {
  return FINDING_URGENCY[severity as FindingSeverity] ?? FINDING_URGENCY.medium;
}

export function leefSev(u: Urgency): number {
  return Math.max(1, u.cef);
}
