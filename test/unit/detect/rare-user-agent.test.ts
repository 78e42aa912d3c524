import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { classifyAgent } from '../../../collector/detect/detectors/rare_user_agent.js';
import { detectRange } from '../../../collector/detect/run.js';
import { at, background, call, emit, iso, load, onlyDetectors, range, spread, useStore } from './fixtures.js';

const only = onlyDetectors(['rare_user_agent']);
const SQLMAP = 'sqlmap/1.7.2#stable (https://sqlmap.org)';

describe('rare_user_agent', () => {
  const s = useStore();
  before(async () => {
    await load(s.store, background(9));
    await load(s.store, emit(spread(15, at(8, 10, 20), at(8, 10, 30), (ts) => call(ts, { cloud_app: 'analytics', user_agent: SQLMAP }))));
    await load(s.store, emit(spread(3, at(8, 18, 0), at(8, 18, 5), (ts) => call(ts, {
      subaccount: 'globex', cloud_app: 'shop', user_agent: 'curl/8.5.0', virtual_host: 'shop-erp.virtual', internal_host: '10.1.0.7', internal_port: 8080,
    })), 'connector-inject-2'));
    // Internet scanners trying the relay as an open proxy without a token, a call or two a day, and on day 8
    // a scripting client among them: background of an internet-facing relay, not a tenant's client.
    const unauthenticated = (ts: number, agent: string) => call(ts, {
      subaccount: '', cloud_app: '', principal: '', client_ip: '185.220.101.4', user_agent: agent, decision: 'deny', deny_reason: 'unauthenticated',
      status: 407, rule_id: '', internal_host: '', internal_port: 0, bytes_out: 0, backend_connect_us: 0, backend_ttfb_us: 0,
    });
    await load(s.store, emit([
      ...Array.from({ length: 8 }, (_, day) => unauthenticated(at(day, 4 + day), 'Mozilla/5.0 (compatible)')),
      ...spread(2, at(8, 21, 0), at(8, 21, 1), (ts) => unauthenticated(ts, 'Go-http-client/1.1')),
    ], 'relay-inject'));
    // A new version of a family globex uses every day is not new.
    await load(s.store, emit(spread(3, at(8, 19, 0), at(8, 19, 5), (ts) => call(ts, { subaccount: 'globex', cloud_app: 'shop', user_agent: 'python-requests/2.33.0' })), 'connector-inject-3'));
  });

  it('flags an attack tool and a scripting client new to their subaccounts, not a new version of a known family nor an unauthenticated scanner', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.equal(findings.length, 2, JSON.stringify(findings, null, 2));
    const [tool, curl] = findings;
    assert.deepEqual([tool?.subaccount, tool?.entity_type, tool?.entity, tool?.window_start, tool?.window_end], ['acme', 'user_agent', SQLMAP, iso(at(8, 10)), iso(at(8, 11))]);
    assert.equal(tool?.evidence.agent_class, 'scanner');
    assert.ok(tool?.severity === 'high' || tool?.severity === 'critical', tool?.severity);
    assert.equal(tool?.evidence.observed, 15);
    assert.deepEqual([curl?.subaccount, curl?.entity, curl?.severity], ['globex', 'curl/8.5.0', 'medium']);
    assert.equal(curl?.evidence.family, 'curl');
  });

  it('classifies agents', () => {
    assert.equal(classifyAgent('Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:Port Check)'), 'scanner');
    assert.equal(classifyAgent('Go-http-client/1.1'), 'tool');
    assert.equal(classifyAgent('SAP-BTP-Destination/1.0'), 'other');
  });

  it('stays quiet for the agents each subaccount uses every day', async () => {
    assert.deepEqual(await detectRange(s.store, range(at(3, 0), at(8, 0)), only), []);
  });
});

describe('rare_user_agent: one earlier day does not make a tool normal', () => {
  const s = useStore();
  const by = (day: number, agent: string) => spread(30, at(day, 5, 30), at(day, 5, 50), (ts) => call(ts, { subaccount: 'initech', cloud_app: 'procurement', user_agent: agent }));
  before(async () => {
    await load(s.store, background(9));
    // curl with the app's token on day 2 and again on day 8; wget on days 2 and 5 (a job), and on day 8;
    // a weekly aiohttp job on days 1 and 8, both Tuesdays.
    await load(s.store, emit([
      ...by(2, 'curl/8.5.0'), ...by(8, 'curl/8.5.0'), ...by(2, 'Wget/1.21.4'), ...by(5, 'Wget/1.21.4'), ...by(8, 'Wget/1.21.4'),
      ...by(1, 'aiohttp/3.9.5'), ...by(8, 'aiohttp/3.9.5'),
    ]));
  });

  it('flags the scripting client seen on one earlier day of the baseline, not the one seen on two nor the weekly one', async () => {
    const findings = await detectRange(s.store, range(at(8, 0), at(9, 0)), only);
    assert.deepEqual(findings.map((f) => [f.subaccount, f.entity, f.window_start]), [['initech', 'curl/8.5.0', iso(at(8, 5))]], JSON.stringify(findings, null, 2));
    assert.match(findings[0]!.explanation, /cloud app "procurement" used this agent on 1 of the 14 days before \(7 days of history; an agent is the app's own from 2 days, or from the same weekday a week or two before\)/);
    assert.equal(findings[0]!.evidence.agent_days_in_baseline, 1);
  });
});

describe('rare_user_agent per cloud app', () => {
  const s = useStore();
  const umbrella = (app: string, agent: string, ip = '198.18.0.10') => (ts: number) => call(ts, { subaccount: 'umbrella', cloud_app: app, user_agent: agent, client_ip: ip, principal: '' });
  before(async () => {
    await load(s.store, background(9));
    // Every day: umbrella's nightly batch job with python-requests, its web shop with its own client.
    await load(s.store, emit(Array.from({ length: 9 }, (_, day) => [
      ...spread(30, at(day, 2, 0), at(day, 2, 30), umbrella('nightly-batch', 'python-requests/2.32.3')),
      ...spread(40, at(day, 9, 0), at(day, 17, 0), umbrella('web-shop', 'web-shop/1.4.0 (node/20.17.0)')),
    ]).flat(), 'connector-umbrella'));
    await load(s.store, emit([
      // Day 8: python-requests with the web shop's token (the family the batch job uses), aiohttp's default
      // agent, calls without any agent; and the batch job's own client in a new version (not new).
      ...spread(20, at(8, 11, 0), at(8, 11, 20), umbrella('web-shop', 'python-requests/2.31.0', '198.51.100.5')),
      ...spread(20, at(8, 13, 0), at(8, 13, 20), umbrella('web-shop', 'Python/3.11 aiohttp/3.9.1', '198.51.100.5')),
      ...spread(20, at(8, 15, 0), at(8, 15, 20), umbrella('web-shop', '', '198.51.100.5')),
      ...spread(30, at(8, 2, 40), at(8, 2, 50), umbrella('nightly-batch', 'python-requests/2.32.4')),
      // TCP sessions through a mapping carry no user agent at all: nothing to judge.
      ...spread(10, at(8, 18, 0), at(8, 18, 20), (ts) => call(ts, { ...umbrella('web-shop', '')(ts), protocol: 'tcp', method: '', path: '', status: 0, virtual_port: 5432 })),
    ], 'connector-umbrella-2'));
  });

  it('flags a library new to the app even when another app of the tenant uses its family (lower), a tool by any product token, and a missing agent (not on TCP)', async () => {
    const findings = (await detectRange(s.store, range(at(8, 0), at(9, 0)), only)).filter((f) => f.subaccount === 'umbrella');
    assert.deepEqual(findings.map((f) => [f.entity, f.window_start, f.evidence.agent_class, f.evidence.cloud_apps]), [
      ['python-requests/2.31.0', iso(at(8, 11)), 'tool', ['web-shop']],
      ['Python/3.11 aiohttp/3.9.1', iso(at(8, 13)), 'tool', ['web-shop']],
      ['', iso(at(8, 15)), 'empty', ['web-shop']],
    ], JSON.stringify(findings, null, 2));
    const [requests, aiohttp, none] = findings;
    assert.equal(requests!.evidence.family_known_in_subaccount, true);
    assert.ok(requests!.score < aiohttp!.score, `${requests!.score} < ${aiohttp!.score}`);
    assert.match(requests!.explanation, /new to cloud app "web-shop" \(another app of the subaccount uses that family, so scored lower\)/);
    assert.equal(aiohttp!.severity, 'medium');
    assert.equal(none!.evidence.observed, 20);
    assert.match(none!.title, /Calls without a user agent with the token of web-shop/);
  });

  it('classifies agents by any product token', () => {
    assert.equal(classifyAgent('Python/3.11 aiohttp/3.9.1'), 'tool');
    assert.equal(classifyAgent('okhttp/4.9.0'), 'tool');
    assert.equal(classifyAgent('Java-http-client/21.0.2'), 'tool');
    assert.equal(classifyAgent('crm-cockpit/1.19.2 (Java/21.0.4)'), 'tool');
    assert.equal(classifyAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64) PowerShell/7.4.1'), 'tool');
    assert.equal(classifyAgent('Fuzz Faster U Fool v2.1.0-dev'), 'scanner');
    assert.equal(classifyAgent('Nuclei - Open-source project (github.com/projectdiscovery/nuclei)'), 'scanner');
    assert.equal(classifyAgent(''), 'empty');
    assert.equal(classifyAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36'), 'other');
    assert.equal(classifyAgent('Javelin/2.0'), 'other');
  });
});
