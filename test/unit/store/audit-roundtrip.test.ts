import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AUDIT_FIELDS } from '../../../common/audit/event.js';
import { TunnelwatchError } from '../../../common/errors.js';
import type { Store } from '../../../collector/store/store.js';
import { auditEvent, freshStore } from './store-fixture.js';

describe('audit events in the store', () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  before(async () => ({ store, cleanup } = await freshStore()));
  after(() => cleanup());

  it('reads back every field exactly as it was sent', async () => {
    const tricky = auditEvent({
      principal: 'Zoë Ångström 山田太郎 🙂',
      path: '/reports/Q3/übersicht\twith tab\nand newline \\ backslash "quotes" \'single\'',
      // Long values take multi-byte length prefixes in the embedded store's Native blocks.
      query: `q=%E2%9C%93&token=REDACTED&pad=${'x'.repeat(20_000)}`,
      user_agent: `Mozilla/5.0 (${'ü山🙂'.repeat(40)})`,
      location_id: 'l'.repeat(42),
      rule_id: '',
      method: '',
      seq: Number.MAX_SAFE_INTEGER,
      bytes_out: Number.MAX_SAFE_INTEGER - 1,
      duration_us: 2 ** 40,
      virtual_port: 65535,
      internal_port: 0,
      status: 0,
      protocol: 'tcps',
    });
    const plain = auditEvent();
    const result = await store.insertAuditEvents([tricky, plain]);
    assert.deepEqual(result, { inserted: 2, duplicates: 0, archived: 0 });
    const back = await store.getAuditEvents([tricky.event_id, plain.event_id]);
    assert.equal(back.length, 2);
    assert.deepEqual(back[0], tricky);
    assert.deepEqual(back[1], plain);
    assert.deepEqual(Object.keys(back[0] ?? {}), [...AUDIT_FIELDS]);
  });

  it('keeps fields the spec does not know yet, with their JSON types', async () => {
    const event = { ...auditEvent(), mtls_subject: 'CN=conn-1', risk: { score: 7, tags: ['new', 'ünï'] }, sampled: true, weight: 0.25 };
    await store.insertAuditEvents([event]);
    const [back] = await store.getAuditEvents([event.event_id]);
    assert.deepEqual(back, event);
  });

  it('normalises a timestamp with an offset to UTC with milliseconds', async () => {
    const event = auditEvent({ ts: '2026-11-27T23:40:54.5+02:00' });
    await store.insertAuditEvents([event]);
    const [back] = await store.getAuditEvents([event.event_id]);
    assert.equal(back?.ts, '2026-11-27T21:40:54.500Z');
  });

  it('refuses a row that does not fit, failing only the call that carried it', async () => {
    const good = auditEvent();
    const bad = [auditEvent({ status: -1 }), auditEvent({ virtual_port: 70000 }), auditEvent({ ts: 'yesterday' }), { ...auditEvent(), principal: null }];
    const results = await Promise.allSettled([store.insertAuditEvents([good]), ...bad.map((e) => store.insertAuditEvents([e as never]))]);
    assert.equal(results[0]?.status, 'fulfilled');
    const reasons = results.slice(1).map((r) => (r.status === 'rejected' ? (r.reason as TunnelwatchError) : null));
    assert.deepEqual(reasons.map((r) => r?.code), Array(4).fill('TW_ERR_STORE_INVALID_ROW'));
    assert.match(reasons[0]?.message ?? '', /field "status" must be an integer from 0 to 65535/);
    assert.match(reasons[2]?.message ?? '', /field "ts" must be an RFC 3339 timestamp/);
    assert.match(reasons[3]?.message ?? '', /field "principal" must be a string/);
    assert.equal(reasons[0]?.status, 400);
    assert.equal((await store.getAuditEvents([good.event_id])).length, 1);
  });
});
