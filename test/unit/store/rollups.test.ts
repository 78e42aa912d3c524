import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Store } from '../../../collector/store/store.js';
import { auditEvent, freshStore } from './store-fixture.js';

describe('per-minute rollups', () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ store, cleanup } = await freshStore());
  });
  after(() => cleanup());

  it('reflect the inserted events: calls, status classes, errors, bytes, backends, refusals and latency', async () => {
    const base = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000; // a whole minute an hour ago
    const ts = (s: number): string => new Date(base + s * 1000).toISOString();
    const events = [
      ...Array.from({ length: 90 }, (_, i) => auditEvent({ ts: ts(i % 60), duration_us: (i + 1) * 1000, bytes_in: 10, bytes_out: 100 })),
      ...Array.from({ length: 6 }, (_, i) => auditEvent({ ts: ts(i), status: 502, error_type: 'connect_refused', backend_ttfb_us: 0 })),
      ...Array.from({ length: 4 }, (_, i) =>
        auditEvent({ ts: ts(i), decision: 'deny', status: 403, deny_reason: 'path_not_allowed', rule_id: '', internal_host: '', internal_port: 0, path: '/admin/users', cloud_app: 'scanner', backend_connect_us: 0, backend_ttfb_us: 0 }),
      ),
      auditEvent({ ts: ts(30), subaccount: 'other-tenant' }),
    ];
    await store.insertAuditEvents(events);
    await store.insertAuditEvents(events.slice(0, 20)); // duplicates must not count twice

    const byClass = await store.query<{ decision: string; status_class: number; error_type: string; calls: string; bytes_out: string }>(
      `SELECT decision, status_class, error_type, sum(calls) AS calls, sum(bytes_out) AS bytes_out
       FROM audit_minute WHERE subaccount = {s:String} AND minute = toDateTime({m:String}, 'UTC')
       GROUP BY decision, status_class, error_type ORDER BY decision, status_class`,
      { s: 'acme-prod', m: new Date(base).toISOString().slice(0, 19).replace('T', ' ') },
    );
    assert.deepEqual(
      byClass.map((r) => [r.decision, Number(r.status_class), r.error_type, Number(r.calls)]),
      [
        ['allow', 2, '', 90],
        ['allow', 5, 'connect_refused', 6],
        ['deny', 4, '', 4],
      ],
    );
    assert.equal(Number(byClass[0]?.bytes_out), 9000);

    const [latency] = await store.query<{ q: number[] }>(
      `SELECT quantilesTDigestMerge(0.5, 0.9, 0.95, 0.99)(duration_us_digest) AS q FROM audit_minute WHERE subaccount = 'acme-prod' AND decision = 'allow' AND status_class = 2`,
    );
    const [p50, p90] = latency?.q ?? [];
    assert.ok(p50 !== undefined && Math.abs(p50 - 45_500) < 3000, `p50 ${p50}`);
    assert.ok(p90 !== undefined && Math.abs(p90 - 81_500) < 4000, `p90 ${p90}`);

    // Aliases must not reuse a column name that another aggregate of the same SELECT reads (docs/store.md).
    const backends = await store.query<{ internal_host: string; total: string; errors: string }>(
      `SELECT internal_host, sum(calls) AS total, sumIf(calls, error_type != '') AS errors FROM audit_minute WHERE subaccount = 'acme-prod' GROUP BY internal_host ORDER BY total DESC`,
    );
    assert.deepEqual(backends.map((b) => [b.internal_host, Number(b.total), Number(b.errors)]), [['erp01.corp.local', 96, 6], ['', 4, 0]]);

    const denied = await store.query<{ cloud_app: string; path: string; calls: string }>('SELECT cloud_app, path, sum(calls) AS calls FROM audit_denied_1m GROUP BY cloud_app, path');
    assert.deepEqual(denied.map((d) => [d.cloud_app, d.path, Number(d.calls)]), [['scanner', '/admin/users', 4]]);

    const [other] = await store.query<{ calls: string }>("SELECT sum(calls) AS calls FROM audit_minute WHERE subaccount = 'other-tenant'");
    assert.equal(Number(other?.calls), 1);
  });
});
