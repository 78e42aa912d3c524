// POST /v1/checks on a collector app over a real embedded store: a batch of backend check reports is
// stored once (a resend changes nothing), a malformed one is refused whole with the reason, and state
// changes (down, recovered, certificate expiring) become backend_health findings and admin events in the
// collector's own hash-chained admin trail, once each.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../collector/app.js';
import { readFindings } from '../../collector/detect/findings-store.js';
import { collectorCheckIngest } from '../../collector/diagnostics/state-changes.js';
import { IngestTokens } from '../../collector/ingest-auth.js';
import { IngestQueue } from '../../collector/ingest-queue.js';
import { ingestStoreOf } from '../../collector/store-adapter.js';
import { createLogger } from '../../common/log.js';
import type { CheckReport } from '../../connector/diagnostics/types.js';
import { hashToken } from '../../connector/relay/token-store.js';
import { eventFromRow, verifyAdminChain } from '../../dashboard/auth/admin-events.js';
import { checkBatch, checkReport } from '../helpers/backend-checks.js';
import { openTestStore, type TestStore } from '../helpers/dashboard.js';

const TOKEN = 'tw_checks-test-token';
const HEADERS = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const MIN = 60_000;

interface Answer { connector_id: string; accepted: number; duplicates: number; expired: number; state_changes: number }
interface AdminRow { seq: string; action: string; actor: string; target: string; reason: string; before: string; after: string; emitter_id: string }

describe('POST /v1/checks', () => {
  let ts: TestStore;
  let app: FastifyInstance;
  const t0 = Date.now() - 30 * MIN;

  before(async () => {
    ts = await openTestStore();
    const log = createLogger({ name: 'collector', level: 'silent' });
    const store = ingestStoreOf(ts.store);
    const queue = new IngestQueue({ maxRows: 10_000, maxBytes: 16_777_216, retryAfterS: 2, storeRetryAfterS: 7 }, store, log);
    app = await buildApp({ store, queue, tokens: new IngestTokens([{ name: 'conn', sha256: hashToken(TOKEN) }]), maxBodyBytes: 1_048_576, log, checks: collectorCheckIngest(ts.store, log) });
  });
  after(async () => {
    await app?.close();
    await ts?.close();
  });

  const post = async (reports: readonly CheckReport[] | unknown, raw = false) =>
    app.inject({ method: 'POST', url: '/v1/checks', headers: HEADERS, payload: raw ? (reports as string) : JSON.stringify(checkBatch(reports as CheckReport[])) });
  const send = async (reports: readonly CheckReport[]): Promise<Answer> => {
    const r = await post(reports);
    assert.equal(r.statusCode, 200, r.body);
    return r.json<Answer>();
  };
  const stored = async (ids: readonly string[]) => ts.store.query<{ check_id: string; state: string; steps: string; started_at: string; virtual_host: string; summary: string }>(
    'SELECT check_id, state, steps, started_at, virtual_host, summary FROM backend_checks WHERE check_id IN {ids:Array(String)} ORDER BY started_at', { ids });
  const adminEvents = async (): Promise<AdminRow[]> => ts.store.query<AdminRow>(
    "SELECT seq, action, actor, target, reason, before, after, emitter_id FROM admin_events FINAL WHERE emitter_id LIKE 'collector@%' ORDER BY seq");
  const findingsOf = async (entity: string) => (await readFindings(ts.store, { detectors: ['backend_health'] })).filter((f) => f.entity === entity)
    .sort((a, b) => a.window_start.localeCompare(b.window_start));

  it('stores a valid batch, one row per report with its steps, and answers the counts after the commit', async () => {
    const reports = [
      checkReport({ subaccount: 'globex', virtual_host: 'Shop.Virtual:443', at: t0 }),
      checkReport({ subaccount: 'globex', virtual_host: 'db.virtual:5432', state: 'degraded', duration_ms: 1800, at: t0 + 1000 }),
    ];
    assert.deepEqual(await send(reports), { connector_id: 'conn-dc1', accepted: 2, duplicates: 0, expired: 0, state_changes: 0 });
    const rows = await stored(reports.map((r) => r.check_id));
    assert.deepEqual(rows.map((r) => [r.check_id, r.state, r.virtual_host]), [[reports[0]?.check_id, 'up', 'shop.virtual:443'], [reports[1]?.check_id, 'degraded', 'db.virtual:5432']]);
    assert.deepEqual(JSON.parse(rows[1]?.steps ?? ''), reports[1]?.steps);
    assert.equal(rows[1]?.summary, 'slow: 1800 ms');
  });

  it('refuses a malformed batch whole with 400 and the reason, storing nothing of it', async () => {
    const good = checkReport({ subaccount: 'initech', at: t0 });
    const extra = { ...good, steps: good.steps.map((s, i) => (i === 1 ? { ...s, extra: 1 } : s)) };
    const cases: [unknown, RegExp][] = [
      [[good, extra], /reports\[1\]\.steps\[1\]: unknown field "extra"/],
      [[good, { ...good, check_id: 'x', state: 'sideways' }], /reports\[1\]\.(check_id|state)/],
      [[good, { ...good, connector_id: 'someone-else' }], /reports\[1\]\.connector_id: someone-else is not the batch's connector conn-dc1/],
      [[good, { ...good, started_at: '2026-02-30T25:00:00Z' }], /reports\[1\]\.started_at/],
    ];
    for (const [reports, reason] of cases) {
      const r = await post(reports);
      assert.equal(r.statusCode, 400, r.body);
      assert.equal(r.headers['x-tunnel-error'], 'TW_ERR_INGEST_MALFORMED');
      assert.match(r.json<{ error: { reason: string } }>().error.reason, reason);
    }
    const notJson = await post('{"schema":', true);
    assert.equal(notJson.statusCode, 400);
    assert.match(notJson.json<{ error: { reason: string } }>().error.reason, /not JSON/);
    const wrongSchema = await post(JSON.stringify({ ...checkBatch([good]), schema: 'tunnelwatch.checks/2' }), true);
    assert.match(wrongSchema.json<{ error: { reason: string } }>().error.reason, /schema: must be "tunnelwatch.checks\/1"/);
    assert.deepEqual(await stored([good.check_id]), []);
    const anonymous = await app.inject({ method: 'POST', url: '/v1/checks', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(checkBatch([good])) });
    assert.equal(anonymous.statusCode, 401);
  });

  it('does not store a re-sent batch twice', async () => {
    const reports = [checkReport({ subaccount: 'initech', virtual_host: 'hr.virtual:80', at: t0 }), checkReport({ subaccount: 'initech', virtual_host: 'hr.virtual:80', at: t0 + MIN })];
    assert.equal((await send(reports)).accepted, 2);
    assert.deepEqual(await send([...reports, reports[0] as CheckReport]), { connector_id: 'conn-dc1', accepted: 0, duplicates: 3, expired: 0, state_changes: 0 });
    const [row] = await ts.store.query<{ n: string; d: string }>("SELECT count() AS n, uniqExact(check_id) AS d FROM backend_checks WHERE subaccount = 'initech'");
    assert.deepEqual([Number(row?.n), Number(row?.d)], [2, 2]);
  });

  it('turns up -> down -> up into a high finding and a low one, with admin events in a valid chain, once each', async () => {
    const at = (m: number): number => t0 + m * MIN;
    const up1 = checkReport({ at: at(0) });
    const down1 = checkReport({ state: 'down', at: at(1) });
    const down2 = checkReport({ state: 'down', at: at(2) });
    const up2 = checkReport({ at: at(3) });
    assert.equal((await send([up1, down1])).state_changes, 1);
    assert.equal((await send([down2, up2])).state_changes, 1);

    const [down, recovered] = await findingsOf('acme/erp.virtual:8000');
    assert.ok(down && recovered);
    // The down finding, closed by the recovery: its window spans the outage, from the last good check.
    assert.deepEqual([down.severity, down.detector, down.entity_type, down.subaccount], ['high', 'backend_health', 'backend', 'acme']);
    assert.deepEqual([down.window_start, down.window_end], [up1.started_at, new Date(at(3) + 42).toISOString()]);
    assert.match(down.title, /erp\.virtual:8000 in acme was down for 2 min: tcp_refused/);
    assert.match(down.explanation, new RegExp(`It recovered at ${up2.started_at} \\(check ${up2.check_id}\\) after 2 min\\.$`));
    assert.equal(down.evidence.down_ms, 2 * MIN);
    assert.match(down.explanation, /connection refused at 10\.0\.0\.5:8443/);
    assert.match(down.explanation, new RegExp(`Down since ${down1.started_at}`));
    assert.match(down.explanation, /found it up/);
    assert.deepEqual(down.evidence.check_ids, [up1.check_id, down1.check_id]);
    assert.deepEqual([recovered.severity, recovered.window_start, recovered.window_end], ['low', down1.started_at, new Date(at(3) + 42).toISOString()]);
    assert.match(recovered.explanation, new RegExp(`down from ${down1.started_at} for 2 min`));
    assert.deepEqual(recovered.evidence.check_ids, [down2.check_id, up2.check_id]);

    let events = await adminEvents();
    assert.deepEqual(events.map((e) => [e.action, e.target, e.actor]), [['backend.state_change', 'acme/erp.virtual:8000', 'conn-dc1'], ['backend.state_change', 'acme/erp.virtual:8000', 'conn-dc1']]);
    assert.deepEqual(events.map((e) => (JSON.parse(e.after) as { change: string; finding_id: string }).finding_id), [down.finding_id, recovered.finding_id]);
    assert.equal((JSON.parse(events[0]?.before ?? '') as { state: string }).state, 'up');

    // Everything again, in one batch: stored already, so no new finding versions and no new events.
    const versions = async (): Promise<number> => Number((await ts.store.query<{ n: string }>("SELECT count() AS n FROM findings WHERE detector = 'backend_health' AND entity = 'acme/erp.virtual:8000'"))[0]?.n);
    const before = await versions();
    assert.deepEqual(await send([up1, down1, down2, up2]), { connector_id: 'conn-dc1', accepted: 0, duplicates: 4, expired: 0, state_changes: 0 });
    assert.equal(await versions(), before);
    events = await adminEvents();
    assert.equal(events.length, 2);
    const chain = await ts.store.query<Record<string, unknown>>("SELECT * FROM admin_events FINAL WHERE emitter_id LIKE 'collector@%' ORDER BY seq");
    const check = verifyAdminChain(chain.map(eventFromRow));
    assert.deepEqual([check.ok, check.events, check.problem], [true, 2, undefined]);
  });

  it('treats degraded -> down as down, and a first check that is down too', async () => {
    const at = (m: number): number => t0 + m * MIN;
    await send([checkReport({ virtual_host: 'crm.virtual:443', state: 'degraded', at: at(0) }), checkReport({ virtual_host: 'crm.virtual:443', state: 'down', failure: 'probe_server_error', at: at(1) })]);
    await send([checkReport({ virtual_host: 'new.virtual:80', state: 'down', failure: 'dns_not_found', at: at(0) })]);
    const [crm] = await findingsOf('acme/crm.virtual:443');
    assert.equal(crm?.severity, 'high');
    assert.match(crm?.explanation ?? '', /could not reach 10\.0\.0\.5:8443: the probe step failed \(probe_server_error\): HEAD \/ answered 503 Service Unavailable\./);
    assert.match(crm?.explanation ?? '', /found it degraded/);
    const [fresh] = await findingsOf('acme/new.virtual:80');
    assert.match(fresh?.explanation ?? '', /first check of this backend/);
    // Down and up again within one batch: the down finding is written closed already.
    const flap = [checkReport({ virtual_host: 'flap.virtual:80', at: at(0) }), checkReport({ virtual_host: 'flap.virtual:80', state: 'down', at: at(5) }), checkReport({ virtual_host: 'flap.virtual:80', at: at(6) })];
    assert.equal((await send(flap)).state_changes, 2);
    const [down, up] = await findingsOf('acme/flap.virtual:80');
    assert.deepEqual([down?.severity, down?.window_start, down?.window_end, down?.evidence.recovered_check_id], ['high', new Date(at(0)).toISOString(), new Date(at(6) + 42).toISOString(), flap[2]?.check_id]);
    assert.deepEqual([up?.severity, up?.window_start], ['low', flap[1]?.started_at]);
  });

  it('raises a medium finding when a certificate starts to expire soon, once per certificate', async () => {
    const at = (m: number): number => t0 + m * MIN;
    const cert = { days_left: 12, valid_to: '2030-01-12T00:00:00.000Z' };
    const before = (await adminEvents()).length;
    await send([checkReport({ subaccount: 'globex', virtual_host: 'pay.virtual:443', at: at(0) }), checkReport({ subaccount: 'globex', virtual_host: 'pay.virtual:443', state: 'degraded', expiring: cert, at: at(1) })]);
    await send([checkReport({ subaccount: 'globex', virtual_host: 'pay.virtual:443', state: 'degraded', expiring: cert, at: at(2) })]);
    const found = await findingsOf('globex/pay.virtual:443');
    assert.equal(found.length, 1);
    assert.deepEqual([found[0]?.severity, found[0]?.evidence.valid_to, found[0]?.evidence.days_left], ['medium', cert.valid_to, 12]);
    assert.match(found[0]?.title ?? '', /TLS certificate of 10\.0\.0\.5:8443 \(pay\.virtual:443 in globex\) expires in 12 days/);
    const events = (await adminEvents()).slice(before);
    assert.deepEqual(events.map((e) => [e.action, e.target]), [['backend.cert_expiring', 'globex/pay.virtual:443']]);
  });

  it('counts reports older than the checks retention as expired instead of losing them to the TTL', async () => {
    const old = checkReport({ subaccount: 'initech', at: Date.now() - 200 * 86_400_000 });
    assert.deepEqual(await send([old]), { connector_id: 'conn-dc1', accepted: 0, duplicates: 0, expired: 1, state_changes: 0 });
    assert.deepEqual(await stored([old.check_id]), []);
  });
});
