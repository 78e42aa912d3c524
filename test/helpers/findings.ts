// Crafted findings for the dashboard's findings tests: every field the spec has, in two tenants and one
// across them, at several severities and times.
import type { Store } from '../../collector/store/store.js';
import type { Finding } from '../../collector/detect/types.js';

export function craftedFindings(now: number): Finding[] {
  const iso = (msAgo: number): string => new Date(now - msAgo).toISOString();
  const MIN = 60_000;
  return [
    {
      finding_id: 'f-acme-deny-burst', detector: 'deny_burst', severity: 'high', score: 82, subaccount: 'acme',
      entity_type: 'cloud_app', entity: 'erp-portal', window_start: iso(40 * MIN), window_end: iso(30 * MIN),
      title: 'Burst of denied calls from erp-portal in acme',
      explanation: '212 denied calls in 10 minutes; baseline median 3 (MAD 2) per 10 minutes; threshold 25.',
      evidence: { denied: 212, baseline_median: 3, baseline_mad: 2, threshold: 25, sample_event_ids: ['01a2-aaaa', '01a2-bbbb'] },
    },
    {
      finding_id: 'f-acme-first-seen', detector: 'first_seen_resource', severity: 'low', score: 30, subaccount: 'acme',
      entity_type: 'principal', entity: 'alice@acme.example', window_start: iso(20 * MIN), window_end: iso(19 * MIN),
      title: 'alice@acme.example reached /api/invoices for the first time',
      explanation: 'first call to prefix /api/invoices in 14 days of baseline.',
      evidence: { prefix: '/api/invoices', baseline_days: 14 },
    },
    {
      finding_id: 'f-globex-exfil', detector: 'exfiltration', severity: 'critical', score: 97, subaccount: 'globex',
      entity_type: 'cloud_app', entity: 'shop', window_start: iso(50 * MIN), window_end: iso(45 * MIN),
      title: 'shop in globex downloaded 40x its usual volume',
      explanation: '2.1 GiB out in 5 minutes; baseline p95 52 MiB; threshold 10x.',
      evidence: { bytes_out: 2254857830, baseline_p95: 54525952 },
    },
    {
      finding_id: 'f-cross-ip', detector: 'cross_subaccount', severity: 'medium', score: 60, subaccount: '',
      entity_type: 'client_ip', entity: '203.0.113.66', window_start: iso(15 * MIN), window_end: iso(5 * MIN),
      title: '203.0.113.66 called three subaccounts',
      explanation: 'one client IP in 3 subaccounts within 10 minutes; baseline at most 1; threshold 3.',
      evidence: { subaccounts: ['acme', 'globex', 'initech'] },
    },
    {
      finding_id: 'f-old', detector: 'off_hours', severity: 'medium', score: 55, subaccount: 'acme',
      entity_type: 'subaccount', entity: 'acme', window_start: iso(3 * 24 * 60 * MIN), window_end: iso(3 * 24 * 60 * MIN - 30 * MIN),
      title: 'acme active at 03:00, when it never is',
      explanation: '40 calls between 03:00 and 03:30; baseline 0 in 28 days; threshold 10.',
      evidence: { calls: 40 },
    },
  ];
}

const ch = (iso: string): string => iso.replace('T', ' ').replace('Z', '');

/** Stores findings as the detectors' writer does (one row per finding; FINAL keeps the highest version). */
export async function storeFindings(store: Store, findings: readonly Finding[], now = Date.now()): Promise<void> {
  await store.client.insert({
    table: 'findings',
    format: 'JSONEachRow',
    values: findings.map((f) => ({
      ...f,
      window_start: ch(f.window_start),
      window_end: ch(f.window_end),
      evidence: JSON.stringify(f.evidence),
      first_detected_at: ch(new Date(now).toISOString()),
      detected_at: ch(new Date(now).toISOString()),
      version: now,
    })),
  });
}
