// What kind of event a record is, as the CEF "Device Event Class ID" and LEEF "EventID" (stable ids a
// SIEM maps to its own categories) and the CEF "Name" (one line for a person).
import type { StoredFinding } from '../../detect/findings-store.js';
import type { ExportedAuditEvent } from '../types.js';

/** Device vendor, product and version of the CEF and LEEF headers. */
export const VENDOR = 'Tunnelwatch';
export const PRODUCT = 'Tunnelwatch';
export const PRODUCT_VERSION = '0.1.0';

/** audit.allow, audit.error.<error_type> or audit.deny.<deny_reason>. */
export function auditEventClass(e: ExportedAuditEvent): string {
  if (e.decision === 'deny') return e.deny_reason === '' ? 'audit.deny' : `audit.deny.${e.deny_reason}`;
  return e.error_type === '' ? 'audit.allow' : `audit.error.${e.error_type}`;
}

export function auditName(e: ExportedAuditEvent): string {
  if (e.decision === 'deny') return `call denied: ${e.deny_reason || 'unknown reason'}`;
  return e.error_type === '' ? 'call allowed' : `call failed: ${e.error_type}`;
}

/** finding.<detector>. */
export function findingEventClass(f: StoredFinding): string {
  return `finding.${f.detector}`;
}
