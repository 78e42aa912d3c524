// Ops events -> findings and admin events, over a real embedded store and through POST /v1/ops: stable
// ids per episode (a re-send changes nothing), a resolution updates the same finding with recovered_at and
// duration, a severity rise is one more version, a new episode closes an older open one, a clear closes
// what is open and is a no-op otherwise, a failover is a one-off; one admin event per (finding, state,
// severity) in the collector's chain, which verifies; the route refuses malformed batches with the reason.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../collector/app.js';
import { readFindings, type StoredFinding } from '../../../collector/detect/findings-store.js';
import { collectorOpsIngest, opsFindingId, type OpsEvidence, type OpsIngest } from '../../../collector/diagnostics/ops-findings.js';
import { IngestTokens } from '../../../collector/ingest-auth.js';
import { IngestQueue } from '../../../collector/ingest-queue.js';
import { ingestStoreOf } from '../../../collector/store-adapter.js';
import { createLogger } from '../../../common/log.js';
import { OPS_SCHEMA, type OpsBatch, type OpsEvent } from '../../../common/ops/ops-events.js';
import { hashToken } from '../../../connector/relay/token-store.js';
import { eventFromRow, verifyAdminChain } from '../../../dashboard/auth/admin-events.js';
import { openTestStore, type TestStore } from '../../helpers/dashboard.js';

const TOKEN = 'tw_ops-test-token';
const HEADERS = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
/** Bound to relay-1 (collector.ingest_tokens[].emitters). */
const BOUND_TOKEN = 'tw_ops-bound-token';
const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const iso = (s: number): string => new Date(T0 + s * 1000).toISOString();

interface AdminRow { action: string; actor: string; target: string; reason: string; after: string }

describe('ops alerts in the collector', () => {
  let ts: TestStore;
  let app: FastifyInstance;
  let ops: OpsIngest;

  before(async () => {
    ts = await openTestStore();
    const log = createLogger({ name: 'collector', level: 'silent' });
    const store = ingestStoreOf(ts.store);
    const queue = new IngestQueue({ maxRows: 10_000, maxBytes: 16_777_216, retryAfterS: 2, storeRetryAfterS: 7 }, store, log);
    ops = collectorOpsIngest(ts.store, log);
    const tokens = new IngestTokens([{ name: 'relay', sha256: hashToken(TOKEN) }, { name: 'relay-1-only', sha256: hashToken(BOUND_TOKEN), emitters: ['relay-1'] }]);
    app = await buildApp({ store, queue, tokens, maxBodyBytes: 1_048_576, log, ops });
  });
  after(async () => {
    await app?.close();
    await ts?.close();
  });

  const batch = (events: OpsEvent[], emitter: 'relay' | 'connector' = 'relay', emitterId = 'relay-1'): OpsBatch => ({ schema: OPS_SCHEMA, emitter, emitter_id: emitterId, events });
  const post = (body: unknown) => app.inject({ method: 'POST', url: '/v1/ops', headers: HEADERS, payload: typeof body === 'string' ? body : JSON.stringify(body) });
  const send = async (b: OpsBatch): Promise<{ accepted: number; findings: number; admin_events: number }> => {
    const r = await post(b);
    assert.equal(r.statusCode, 200, r.body);
    return r.json();
  };
  const findings = async (detector: string, entity: string): Promise<StoredFinding[]> =>
    (await readFindings(ts.store, { detectors: [detector] })).filter((f) => f.entity === entity).sort((a, b) => a.window_start.localeCompare(b.window_start));
  const ev = (f: StoredFinding | undefined): OpsEvidence => f?.evidence as unknown as OpsEvidence;
  const admin = async (target: string): Promise<AdminRow[]> => ts.store.query<AdminRow>(
    'SELECT action, actor, target, reason, after FROM admin_events FINAL WHERE target = {t:String} ORDER BY seq', { t: target });

  const down = (s: number, extra: Partial<OpsEvent> = {}): OpsEvent => ({
    type: 'tunnel_down', state: 'firing', at: iso(s + 30), since: iso(s), episode: iso(s), subject: 'conn-1',
    detail: { relay_id: 'relay-1', location_id: '', subaccounts: ['acme', 'globex'], remote_address: '10.0.0.7:40000', grace_ms: 30_000, last_error: 'missed two keepalive pings', unserved_subaccounts: ['acme', 'globex'], served_by: [] },
    ...extra,
  });

  it('tunnel down: one finding per episode, a re-send changes nothing, the resolution updates it', async () => {
    const first = await send(batch([down(0)]));
    assert.deepEqual(first, { emitter_id: 'relay-1', accepted: 1, findings: 1, admin_events: 1 });
    const id = opsFindingId('tunnel_down', 'relay-1', 'conn-1', iso(0));
    let [f] = await findings('ops_tunnel_down', 'conn-1');
    assert.deepEqual([f?.finding_id, f?.severity, f?.score, f?.subaccount, f?.entity_type, f?.window_start, f?.window_end], [id, 'high', 80, '', 'connector', iso(0), iso(30)]);
    assert.deepEqual([ev(f).state, ev(f).emitter_id, ev(f).detail.last_error], ['firing', 'relay-1', 'missed two keepalive pings']);
    assert.equal(f?.title, 'Tunnel of connector conn-1 is down');
    assert.match(f?.explanation ?? '', /Calls for acme, globex get 503 TW_ERR_PROXY_NO_CONNECTOR/);

    assert.deepEqual(await send(batch([down(0)])), { emitter_id: 'relay-1', accepted: 1, findings: 0, admin_events: 0 }, 'a re-send');

    const up: OpsEvent = { type: 'tunnel_down', state: 'resolved', at: iso(200), since: iso(0), episode: iso(0), subject: 'conn-1', detail: { remote_address: '10.0.0.7:40100', down_ms: 200_000 } };
    assert.deepEqual(await send(batch([up])), { emitter_id: 'relay-1', accepted: 1, findings: 1, admin_events: 1 });
    const all = await findings('ops_tunnel_down', 'conn-1');
    assert.equal(all.length, 1, 'the same finding, resolved');
    f = all[0];
    assert.deepEqual([f?.finding_id, f?.severity, ev(f).state, ev(f).resolution, ev(f).recovered_at, ev(f).duration_ms, f?.window_end], [id, 'high', 'resolved', 'recovered', iso(200), 200_000, iso(200)]);
    assert.equal(f?.title, 'Tunnel of connector conn-1 was down for 3 min');
    assert.deepEqual(await send(batch([up, down(0)])), { emitter_id: 'relay-1', accepted: 2, findings: 0, admin_events: 0 }, 'a late re-send of the firing does not reopen it');

    const rows = await admin('conn-1');
    assert.deepEqual(rows.map((r) => [r.action, r.actor, (JSON.parse(r.after) as { state: string }).state]), [['ops.tunnel_down', 'relay-1', 'firing'], ['ops.tunnel_down', 'relay-1', 'resolved']]);
    assert.equal(rows[1]?.reason, 'Tunnel of connector conn-1 was down for 3 min');
  });

  it('spool: a higher severity is a new version of the same episode; a clear closes it; a clear with nothing open is a no-op', async () => {
    const fill = (s: number, ratio: number, severity: 'medium' | 'high'): OpsEvent => ({
      type: 'spool_filling', state: 'firing', at: iso(s), since: iso(0), episode: iso(0), subject: 'conn-9', severity, detail: { fill_ratio: ratio, spool_bytes: ratio * 1e6, spool_max_bytes: 1e6, refusing: severity === 'high' },
    });
    await send(batch([fill(0, 0.82, 'medium')], 'connector', 'conn-9'));
    await send(batch([fill(60, 1, 'high'), fill(30, 0.9, 'medium')], 'connector', 'conn-9'));
    let [f] = await findings('ops_spool_filling', 'conn-9');
    assert.deepEqual([f?.severity, ev(f).state, ev(f).detail.fill_ratio, f?.entity_type], ['high', 'firing', 1, 'emitter'], 'the newest detail, the highest severity');
    assert.equal(f?.title, 'Audit spool of connector conn-9 is full: calls are refused');
    const clear: OpsEvent = { type: 'spool_filling', state: 'resolved', at: iso(600), subject: 'conn-9', detail: { fill_ratio: 0.1 } };
    assert.equal((await send(batch([clear], 'connector', 'conn-9'))).findings, 1);
    [f] = await findings('ops_spool_filling', 'conn-9');
    assert.deepEqual([ev(f).state, ev(f).resolution, ev(f).duration_ms], ['resolved', 'cleared', 600_000]);
    assert.deepEqual(await send(batch([{ ...clear, at: iso(700) }], 'connector', 'conn-9')), { emitter_id: 'conn-9', accepted: 1, findings: 0, admin_events: 0 });
    assert.deepEqual((await admin('conn-9')).map((r) => (JSON.parse(r.after) as { transition: string }).transition.split('|').slice(1)), [['firing', 'medium'], ['firing', 'high'], ['resolved', 'high']]);
  });

  it('a new episode of a subject closes the older one still open (the emitter restarted in between)', async () => {
    const cert = (s: number, episode: string, days: number): OpsEvent => ({
      type: 'cert_expiring', state: 'firing', at: iso(s), subject: 'conn-2/relay.tls.cert', episode, severity: 'medium',
      detail: { config_key: 'relay.tls.cert', file: '/etc/tw/conn-2.crt', subject_cn: 'conn-2', issuer_cn: 'Tunnelwatch CA', days_left: days, expired: false, valid_to: iso(s + days * 86400) },
    });
    await send(batch([cert(0, 'AA:01', 20)], 'connector', 'conn-2'));
    await send(batch([cert(3600, 'BB:02', 12)], 'connector', 'conn-2'));
    const [old, current] = await findings('ops_cert_expiring', 'conn-2/relay.tls.cert');
    assert.deepEqual([ev(old).episode, ev(old).state, ev(old).resolution], ['AA:01', 'resolved', 'superseded']);
    assert.deepEqual([ev(current).episode, ev(current).state, current?.title], ['BB:02', 'firing', 'Certificate relay.tls.cert of conn-2 (CN conn-2) expires in 12 days']);
  });

  it('failovers are one-offs: each its own finding, never resolved', async () => {
    const fo = (s: number): OpsEvent => ({
      type: 'failover', state: 'firing', at: iso(s), since: iso(s), subject: 'conn-b', episode: `${iso(s)}/conn-b`, severity: s === 0 ? 'medium' : 'low',
      detail: { relay_id: 'relay-1', location_id: 'dc1', subaccounts: ['acme'], from: ['conn-a'], reason: 'promoted', planned: s !== 0, why: 'the relay promoted the standby because the active session was gone', ha_role: 'shadow' },
    });
    await send(batch([fo(0), fo(900)]));
    const list = await findings('ops_failover', 'conn-b');
    assert.deepEqual(list.map((f) => [f.severity, ev(f).state]), [['medium', 'occurred'], ['low', 'occurred']]);
    assert.equal(list[0]?.title, 'Failover: connector conn-b took over acme from conn-a');
    assert.equal(list[1]?.title, 'Planned switch-over: connector conn-b now serves acme in place of conn-a');
  });

  it('writes every admin event into the collector\'s one chain, which verifies', async () => {
    const chain = await ts.store.query<Record<string, unknown>>("SELECT * FROM admin_events FINAL WHERE emitter_id LIKE 'collector@%' ORDER BY seq");
    assert.ok(chain.length >= 9);
    assert.deepEqual(verifyAdminChain(chain.map(eventFromRow)).ok, true);
  });

  it('refuses what is not tunnelwatch.ops/1, with the reason, storing nothing', async () => {
    const before = (await readFindings(ts.store)).length;
    const cases: [unknown, RegExp][] = [
      [{ ...batch([down(5000)]), extra: 1 }, /body: unknown field "extra"/],
      [batch([{ ...down(5000), episode: undefined } as unknown as OpsEvent]), /events\[0\]: a firing event needs an episode/],
      [batch([{ ...down(5000), at: 'yesterday' }]), /events\[0\]\.at: not an RFC 3339 time/],
      [batch([{ ...down(5000), type: 'exporter_stuck' } as unknown as OpsEvent]), /events\[0\]\.type: not one of the allowed values/],
      [batch([{ ...down(5000), since: iso(9000) }]), /events\[0\]\.since: after at/],
      [batch([{ ...down(5000), detail: { Bad: 1 } }]), /events\[0\]\.detail: unknown field "Bad"/],
      [batch([{ ...down(5000), detail: { nested: { a: 1 } } } as unknown as OpsEvent]), /events\[0\]\.detail\.nested: not one of the allowed values/],
      [{ ...batch([down(5000)]), schema: 'tunnelwatch.ops/2' }, /^schema: must be "tunnelwatch\.ops\/1"/],
      ['{not json', /the body is not JSON/],
    ];
    for (const [body, reason] of cases) {
      const r = await post(body);
      assert.equal(r.statusCode, 400, r.body);
      assert.equal(r.headers['x-tunnel-error'], 'TW_ERR_INGEST_MALFORMED');
      assert.match((r.json() as { error: { reason: string } }).error.reason, reason);
    }
    assert.equal((await app.inject({ method: 'POST', url: '/v1/ops', headers: { ...HEADERS, authorization: 'Bearer nope' }, payload: JSON.stringify(batch([down(5000)])) })).statusCode, 401);
    assert.equal((await app.inject({ method: 'POST', url: '/v1/ops', headers: { ...HEADERS, 'content-type': 'text/plain' }, payload: JSON.stringify(batch([down(5000)])) })).statusCode, 415);
    // A token bound to relay-1 cannot report for relay-2.
    const forged = await app.inject({ method: 'POST', url: '/v1/ops', headers: { ...HEADERS, authorization: `Bearer ${BOUND_TOKEN}` }, payload: JSON.stringify(batch([down(5000)], 'relay', 'relay-2')) });
    assert.equal(forged.statusCode, 403, forged.body);
    assert.match((forged.json() as { error: { reason: string } }).error.reason, /^the batch: emitter "relay-2" is not one the token "relay-1-only" may send for/);
    assert.equal((await readFindings(ts.store)).length, before);
  });

  it('the ingest takes the collector\'s own events directly (exporter_stuck)', async () => {
    const r = await ops.ingest({ emitter: 'collector', emitter_id: 'collector@test', events: [{ type: 'exporter_stuck', state: 'firing', at: iso(400), since: iso(0), episode: iso(0), subject: 'soc-elastic', severity: 'high', detail: { type: 'elasticsearch', lag_records: 1200, lag_seconds: 400, stuck_after_s: 300, exporter_state: 'failing', last_error: 'HTTP 401', last_error_kind: 'failure' } }] });
    assert.deepEqual(r, { accepted: 1, findings: 1, admin_events: 1 });
    const [f] = await findings('ops_exporter_stuck', 'soc-elastic');
    assert.equal(f?.title, `Exporter soc-elastic is stuck: 1200 records waiting, nothing delivered since ${iso(0)}`);
  });
});
