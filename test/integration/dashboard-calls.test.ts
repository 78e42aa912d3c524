// The calls explorer API over a real embedded store: filters against what the same events say in JS,
// keyset paging, cursors, limits, scope, and the CSV / NDJSON exports of the whole filtered set.
// Scope choice: a scoped analyst who names a subaccount outside the scope gets 403 (not an empty page),
// so an empty result always means "no calls", never "not allowed".
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AUDIT_FIELDS, type AuditEvent } from '../../common/audit/event.js';
import { uuidv7 } from '../../common/ids.js';
import { trafficEvents } from '../helpers/audit-traffic.js';
import { bearer, openTestStore, testDashboard, type TestDashboard, type TestStore } from '../helpers/dashboard.js';

type Event = AuditEvent & Record<string, unknown>;
type Query = Record<string, string | number | readonly string[] | undefined>;

const NOW = Date.now();
const FROM = new Date(NOW - 3 * 3_600_000).toISOString();
const TO = new Date(NOW).toISOString();

let ts: TestStore;
let dash: TestDashboard;
let events: Event[] = [];

function qs(params: Query): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v as readonly string[]) q.append(k, x);
    else q.append(k, String(v));
  }
  return q.toString();
}

async function get(path: string, params: Query = {}, token = 'analyst') {
  const s = qs(params);
  return dash.app.inject({ method: 'GET', url: s ? `${path}?${s}` : path, headers: bearer(token) });
}

interface Page { calls: Event[]; next: string | null; total: number | null }

/**
 * Every page of a filter, following `next`. `total` is the first page's, or, where the first page leaves
 * it to GET /api/v1/calls/count (counting would read the events), that route's (`counted` then says so).
 */
async function walk(params: Query, limit: number, token = 'analyst'): Promise<{ calls: Event[]; total: number | null; pages: number; counted: boolean }> {
  const calls: Event[] = [];
  let cursor: string | undefined;
  let total: number | null = null;
  let counted = false;
  let pages = 0;
  do {
    const r = await get('/api/v1/calls', { ...params, limit, cursor }, token);
    assert.equal(r.statusCode, 200, r.body);
    const page = r.json<Page>();
    if (pages === 0) {
      total = page.total;
      if (total === null) {
        assert.ok(page.next !== null, 'a first page that holds the whole set is its own count');
        const c = await get('/api/v1/calls/count', { ...params }, token);
        assert.equal(c.statusCode, 200, c.body);
        total = c.json<{ total: number }>().total;
        counted = true;
      }
    } else assert.equal(page.total, null, 'total only on the first page');
    assert.ok(page.calls.length <= limit);
    if (page.next) assert.equal(page.calls.length, limit, 'a page with a next cursor is full');
    calls.push(...page.calls);
    cursor = page.next ?? undefined;
    pages++;
  } while (cursor);
  return { calls, total, pages, counted };
}

const newestFirst = (a: Event, b: Event): number => (a.ts < b.ts ? 1 : a.ts > b.ts ? -1 : a.event_id < b.event_id ? 1 : a.event_id > b.event_id ? -1 : 0);

interface Filter {
  from?: string; to?: string; subaccount?: string; cloud_app?: string; principal?: string; virtual_host?: string;
  path_prefix?: string; status?: string[]; decision?: string; error_type?: string; deny_reason?: string; emitter?: string;
}

/** The filter's meaning, written independently of the SQL. */
function expected(f: Filter, scope?: readonly string[]): Event[] {
  const from = f.from ?? FROM;
  const to = f.to ?? TO;
  const statusOk = (s: number): boolean => !f.status || f.status.some((x) => (x.endsWith('xx') ? Math.floor(s / 100) === Number(x[0]) : s === Number(x)));
  const reason = (want: string | undefined, have: string): boolean => want === undefined || (want === 'any' ? have !== '' : have === want);
  return events.filter((e) =>
    e.ts >= from && e.ts < to
    && (!scope || scope.includes(e.subaccount))
    && (f.subaccount === undefined || e.subaccount === f.subaccount)
    && (f.cloud_app === undefined || e.cloud_app === f.cloud_app)
    && (f.principal === undefined || e.principal === f.principal)
    && (f.virtual_host === undefined || e.virtual_host === f.virtual_host.toLowerCase())
    && (f.path_prefix === undefined || e.path.startsWith(f.path_prefix))
    && statusOk(e.status)
    && (f.decision === undefined || e.decision === f.decision)
    && reason(f.error_type, e.error_type)
    && reason(f.deny_reason, e.deny_reason)
    && (f.emitter === undefined || e.emitter === f.emitter),
  ).sort(newestFirst);
}

const ids = (list: readonly Event[]): string[] => list.map((e) => e.event_id);

/** RFC 4180: quoted fields with doubled quotes, CRLF between records, line breaks inside quotes. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let cell = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      cell += c; i++; continue;
    }
    if (c === '"') {
      assert.equal(cell, '', 'a quote only opens a field');
      quoted = true; i++; continue;
    }
    if (c === ',') { record.push(cell); cell = ''; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { record.push(cell); records.push(record); record = []; cell = ''; i += 2; continue; }
    assert.ok(c !== '\n' && c !== '\r', `bare line break outside quotes at ${i}`);
    cell += c; i++;
  }
  assert.equal(quoted, false, 'unterminated quote');
  assert.equal(cell, '', 'the last record ends with CRLF');
  assert.equal(record.length, 0);
  return records;
}

function neutralised(value: unknown): string {
  const s = String(value);
  return /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
}

function special(base: AuditEvent, changes: Partial<AuditEvent> & Record<string, unknown>): Event {
  return { ...base, ...changes, event_id: uuidv7(Date.parse(changes.ts ?? base.ts)) } as Event;
}

describe('calls explorer API', () => {
  before(async () => {
    ts = await openTestStore();
    dash = await testDashboard(ts.store);
    // A dense burst (more than one export page in one time window) and steady traffic after it.
    const traffic = [
      ...trafficEvents({ count: 10_200, from: new Date(NOW - 170 * 60_000), to: new Date(NOW - 130 * 60_000), seed: 42 }),
      ...trafficEvents({ count: 1500, from: new Date(NOW - 130 * 60_000), to: new Date(NOW - 60_000), seed: 43, emitterId: 'connector-b' }),
    ] as Event[];
    const base = traffic[100] as AuditEvent;
    const tieTs = new Date(NOW - 90 * 60_000).toISOString();
    const extras: Event[] = [
      special(base, { subaccount: 'acme', status: 200, decision: 'allow', error_type: '', deny_reason: '', path: '=HYPERLINK("http://evil.example","x")', user_agent: 'quote " comma , newline\r\nend', query: '+1', principal: '@mallory' }),
      special(base, { subaccount: 'acme', status: 404, decision: 'allow', error_type: '', deny_reason: '', path: '/api/orders/-1', user_agent: '\tTabbed', client_ip: '-2+3', x_custom: { nested: [1, 'two'] }, x_flag: true }),
      // Several events in the same millisecond: paging must order them by event_id and never skip one.
      ...Array.from({ length: 5 }, () => special(base, { subaccount: 'acme', ts: tieTs, principal: 'tie@acme.example' })),
      // A relay refusal of an unauthenticated caller: no subaccount.
      special(base, { emitter: 'relay', emitter_id: 'relay-1', subaccount: '', cloud_app: '', principal: '', decision: 'deny', deny_reason: 'unauthenticated', status: 407, rule_id: '', error_type: '' }),
      // A TCP call: status 0.
      special(base, { subaccount: 'initech', protocol: 'tcp', method: '', path: '', status: 0, decision: 'allow' }),
    ];
    events = [...traffic, ...extras];
    const result = await ts.store.insertAuditEvents(events);
    assert.equal(result.inserted, events.length);
  });
  after(async () => {
    await dash?.app.close();
    await ts?.close();
  });

  test('each filter combination returns exactly the matching calls, newest first, with their total', async () => {
    const cases: Filter[] = [
      {},
      { subaccount: 'acme' },
      { subaccount: 'acme', decision: 'deny', deny_reason: 'path_not_allowed' },
      { status: ['5xx'] },
      { status: ['404', '5xx'] },
      { status: ['0'] },
      { status: ['4xx'], decision: 'allow' },
      { virtual_host: 'ERP.Virtual', path_prefix: '/api/orders' },
      { cloud_app: 'shop', principal: 'dave@globex.example' },
      { error_type: 'any' },
      { error_type: 'backend_timeout', subaccount: 'globex' },
      { deny_reason: 'any', emitter: 'connector' },
      { emitter: 'relay' },
      { from: new Date(NOW - 100 * 60_000).toISOString(), to: new Date(NOW - 70 * 60_000).toISOString(), subaccount: 'initech' },
    ];
    for (const f of cases) {
      const want = expected(f);
      assert.ok(want.length > 0 || f.emitter === 'relay', `case ${JSON.stringify(f)} has data`);
      const got = await walk({ from: FROM, to: TO, ...f }, 500);
      assert.equal(got.total, want.length, `total of ${JSON.stringify(f)}`);
      // Only a filter the rollups cannot count, over more than one page, leaves its total to /calls/count.
      const rollupOnly = f.cloud_app === undefined && f.principal === undefined && f.path_prefix === undefined && f.emitter === undefined
        && (f.status ?? []).every((st) => st.endsWith('xx'));
      assert.equal(got.counted, !rollupOnly && want.length > 500, `who counted ${JSON.stringify(f)}`);
      assert.deepEqual(ids(got.calls), ids(want), `calls of ${JSON.stringify(f)}`);
    }
  });

  test('rows carry every field of the spec, as inserted (and fields of later versions)', async () => {
    const r = await get('/api/v1/calls', { from: FROM, to: TO, subaccount: 'acme', path_prefix: '/api/orders/-1' });
    const [row] = r.json<Page>().calls;
    const sent = events.find((e) => e.path === '/api/orders/-1');
    assert.deepEqual(row, sent);
    for (const field of AUDIT_FIELDS) assert.ok(field in (row as object), field);
  });

  test('paging in small pages walks the whole set without a gap or a duplicate, ties included', async () => {
    const want = expected({ subaccount: 'acme', decision: 'deny' });
    const got = await walk({ from: FROM, to: TO, subaccount: 'acme', decision: 'deny' }, 37);
    assert.equal(got.pages, Math.ceil(want.length / 37));
    assert.equal(new Set(ids(got.calls)).size, got.calls.length);
    assert.deepEqual(ids(got.calls), ids(want));

    const ties = await walk({ from: FROM, to: TO, principal: 'tie@acme.example' }, 2);
    assert.equal(ties.pages, 3);
    assert.deepEqual(ids(ties.calls), ids(expected({ principal: 'tie@acme.example' })));
    assert.equal(new Set(ties.calls.map((e) => e.ts)).size, 1, 'the five share one timestamp');
  });

  test('a garbage, altered or replayed cursor is a 400', async () => {
    const first = (await get('/api/v1/calls', { from: FROM, to: TO, subaccount: 'acme', limit: 10 })).json<Page>();
    assert.ok(first.next);
    const next = first.next;
    const [payload = '', mac = ''] = next.split('.');
    const payloadJson = JSON.parse(Buffer.from(payload, 'base64url').toString()) as unknown[];
    const forgedPayload = Buffer.from(JSON.stringify([1, '2000-01-01 00:00:00.000', 'x'])).toString('base64url');
    const bad: Query[] = [
      { cursor: 'garbage' },
      { cursor: 'a.b.c' },
      { cursor: `${forgedPayload}.${mac}` },
      { cursor: `${Buffer.from(JSON.stringify([1, payloadJson[1], 'zzzz'])).toString('base64url')}.${mac}` },
      { cursor: `${payload}.${mac.slice(0, -2)}AA` },
      { cursor: payload },
      // A real cursor with other filters: not the query it came from.
      { cursor: next, subaccount: 'globex' },
      { cursor: next, decision: 'deny' },
    ];
    for (const b of bad) {
      const r = await get('/api/v1/calls', { from: FROM, to: TO, subaccount: 'acme', limit: 10, ...b });
      assert.equal(r.statusCode, 400, `${JSON.stringify(b)}: ${r.body}`);
      assert.equal(r.json<{ error: { code: string } }>().error.code, 'TW_ERR_DASH_BAD_REQUEST');
    }
    const ok = await get('/api/v1/calls', { from: FROM, to: TO, subaccount: 'acme', limit: 10, cursor: next });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ids(ok.json<Page>().calls), ids(expected({ subaccount: 'acme' }).slice(10, 20)));

    // Without from/to (the last hour, moving with the clock) the next page still belongs to the query.
    const lastHour = await walk({ subaccount: 'acme' }, 50);
    assert.ok(lastHour.pages > 1);
    assert.equal(new Set(ids(lastHour.calls)).size, lastHour.calls.length);
    assert.ok(lastHour.calls.every((e) => e.subaccount === 'acme' && Date.parse(e.ts) >= NOW - 3_600_000));
  });

  test('limit is 1 to 500, 100 by default; unknown parameters are refused', async () => {
    for (const limit of [0, 501, -1, 'x']) {
      const r = await get('/api/v1/calls', { from: FROM, to: TO, limit });
      assert.equal(r.statusCode, 400, String(limit));
    }
    assert.equal((await get('/api/v1/calls', { from: FROM, to: TO, limit: 500 })).json<Page>().calls.length, 500);
    assert.equal((await get('/api/v1/calls', { from: FROM, to: TO, limit: 1 })).json<Page>().calls.length, 1);
    assert.equal((await get('/api/v1/calls', { from: FROM, to: TO })).json<Page>().calls.length, 100);
    assert.equal((await get('/api/v1/calls', { from: FROM, to: TO, subacount: 'acme' })).statusCode, 400, 'a typo must not widen the set');
    assert.equal((await get('/api/v1/calls', { from: FROM, to: TO, status: 'abc' })).statusCode, 400);
    assert.equal((await get('/api/v1/calls', { from: FROM, to: TO, status: '6xx' })).statusCode, 400);
    assert.equal((await get('/api/v1/calls', { from: TO, to: FROM })).statusCode, 400);
  });

  test('a scoped analyst sees only its subaccounts; naming another one is a 403; viewers may not search calls', async () => {
    const acme = await walk({ from: FROM, to: TO }, 500, 'analyst@acme');
    assert.equal(acme.total, expected({}, ['acme']).length);
    assert.deepEqual(ids(acme.calls), ids(expected({}, ['acme'])));
    assert.equal((await get('/api/v1/calls', { from: FROM, to: TO, subaccount: 'globex' }, 'analyst@acme')).statusCode, 403);
    assert.equal((await get('/api/v1/calls', { from: FROM, to: TO }, 'viewer')).statusCode, 403);
    assert.equal((await get('/api/v1/calls/export', { format: 'csv' }, 'viewer')).statusCode, 403);
    assert.equal((await dash.app.inject({ method: 'GET', url: '/api/v1/calls' })).statusCode, 401);
  });

  test('GET /api/v1/calls/count counts exactly, from the rollups or the events, within the caller\'s scope', async () => {
    const count = async (q: Query, token = 'analyst') => {
      const r = await get('/api/v1/calls/count', { from: FROM, to: TO, ...q }, token);
      assert.equal(r.statusCode, 200, r.body);
      return r.json<{ total: number; from: string; to: string }>();
    };
    // From the rollups (whole hours and minutes, partial minutes at both ends) and from the events.
    assert.equal((await count({})).total, expected({}).length);
    assert.equal((await count({ subaccount: 'globex', status: ['5xx'] })).total, expected({ subaccount: 'globex', status: ['5xx'] }).length);
    assert.equal((await count({ path_prefix: '/api/orders' })).total, expected({ path_prefix: '/api/orders' }).length);
    const c = await count({ principal: 'dave@globex.example' });
    assert.deepEqual(c, { total: expected({ principal: 'dave@globex.example' }).length, from: FROM, to: TO });
    // A scoped analyst counts only its subaccounts, and may not name another one.
    assert.equal((await count({ decision: 'deny' }, 'analyst@acme')).total, expected({ decision: 'deny' }, ['acme']).length);
    assert.equal((await count({ path_prefix: '/api/orders' }, 'analyst@acme')).total, expected({ path_prefix: '/api/orders' }, ['acme']).length);
    assert.equal((await get('/api/v1/calls/count', { subaccount: 'globex' }, 'analyst@acme')).statusCode, 403);
    assert.equal((await get('/api/v1/calls/count', {}, 'viewer')).statusCode, 403);
    assert.equal((await get('/api/v1/calls/count', { limit: 10 })).statusCode, 400, 'the count takes filters only');
  });

  test('one call by id; unknown and out-of-scope ids are both 404', async () => {
    const globex = events.find((e) => e.subaccount === 'globex') as Event;
    const r = await get(`/api/v1/calls/${globex.event_id}`);
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), globex);
    assert.equal((await get(`/api/v1/calls/${globex.event_id}`, {}, 'analyst@acme')).statusCode, 404);
    assert.equal((await get(`/api/v1/calls/${uuidv7()}`)).statusCode, 404);
    assert.equal((await get(`/api/v1/calls/${globex.event_id}`, {}, 'viewer')).statusCode, 403);
  });

  test('CSV export holds exactly the filtered set, oldest first, RFC 4180, formulas neutralised, and is recorded', async () => {
    const before = dash.adminEvents.length;
    const f: Filter = { subaccount: 'acme', status: ['2xx', '4xx'] };
    const r = await get('/api/v1/calls/export', { from: FROM, to: TO, ...f, format: 'csv' });
    assert.equal(r.statusCode, 200, r.body);
    assert.match(String(r.headers['content-type']), /^text\/csv/);
    assert.match(String(r.headers['content-disposition']), /^attachment; filename="tunnelwatch-calls-acme-\d{8}T\d{6}Z-\d{8}T\d{6}Z\.csv"$/);
    const [header, ...records] = parseCsv(r.body);
    assert.deepEqual(header, [...AUDIT_FIELDS, 'extra']);
    const want = expected(f).reverse();
    assert.equal(records.length, want.length);
    records.forEach((cells, i) => {
      const event = want[i] as Event;
      AUDIT_FIELDS.forEach((field, j) => assert.equal(cells[j], neutralised(event[field]), `${event.event_id}.${field}`));
    });
    const evil = records.find((c) => c[AUDIT_FIELDS.indexOf('path')]?.startsWith("'=HYPERLINK"));
    assert.ok(evil, 'the formula path is there, neutralised');
    assert.equal(evil[AUDIT_FIELDS.indexOf('user_agent')], 'quote " comma , newline\r\nend');
    assert.equal(evil[AUDIT_FIELDS.indexOf('principal')], "'@mallory");
    assert.equal(evil[AUDIT_FIELDS.indexOf('query')], "'+1");
    const tab = records.find((c) => c[AUDIT_FIELDS.indexOf('user_agent')] === "'\tTabbed");
    assert.ok(tab);
    assert.equal(tab[AUDIT_FIELDS.indexOf('client_ip')], "'-2+3");
    assert.deepEqual(JSON.parse(tab[AUDIT_FIELDS.length] ?? ''), { x_custom: { nested: [1, 'two'] }, x_flag: true });

    const recorded = dash.adminEvents.slice(before);
    assert.equal(recorded.length, 1);
    const [admin] = recorded;
    assert.equal(admin?.action, 'calls.export');
    assert.equal(admin?.outcome, 'success');
    assert.equal(admin?.actor, 'test-analyst');
    const detail = JSON.parse(admin?.after ?? '{}') as { format: string; rows: number; filters: Record<string, unknown> };
    assert.deepEqual(detail, { format: 'csv', rows: want.length, filters: { from: FROM, to: TO, subaccount: 'acme', status: ['2xx', '4xx'] } });
  });

  test('NDJSON export of the whole set (several store pages) equals the events inserted', async () => {
    const r = await get('/api/v1/calls/export', { from: FROM, to: TO, format: 'ndjson' });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^application\/x-ndjson/);
    assert.match(String(r.headers['content-disposition']), /^attachment; filename="tunnelwatch-calls-\d{8}T\d{6}Z-\d{8}T\d{6}Z\.ndjson"$/);
    const lines = r.body.split('\n');
    assert.equal(lines.pop(), '', 'ends with a newline');
    const want = expected({}).reverse();
    assert.ok(want.length > 10_000, 'more than one page of the export');
    assert.equal(lines.length, want.length);
    assert.deepEqual(lines.map((l) => JSON.parse(l) as Event), want);
    const last = dash.adminEvents.at(-1);
    assert.equal(JSON.parse(last?.after ?? '{}').rows, want.length);
  });

  test('a scoped analyst exports only its subaccounts', async () => {
    const r = await get('/api/v1/calls/export', { from: FROM, to: TO, decision: 'deny', format: 'ndjson' }, 'analyst@acme');
    const got = r.body.trim().split('\n').map((l) => JSON.parse(l) as Event);
    assert.deepEqual(ids(got), ids(expected({ decision: 'deny' }, ['acme']).reverse()));
    assert.equal((await get('/api/v1/calls/export', { from: FROM, to: TO, subaccount: 'initech', format: 'csv' }, 'analyst@acme')).statusCode, 403);
    assert.equal((await get('/api/v1/calls/export', { from: FROM, to: TO, format: 'xml' })).statusCode, 400);
  });
});
