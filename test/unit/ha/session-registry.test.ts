// The relay's routing with master/shadow sessions (docs/ha.md): only the active session gets calls; of two
// active claims on a route the later wins, and the earlier is told and counted; a ready standby is promoted
// the moment the active session goes, and a standby that is not ready never is.
import assert from 'node:assert/strict';
import type { ClientHttp2Session } from 'node:http2';
import { test } from 'node:test';
import { SessionRegistry, type SessionHa, type TunnelSession } from '../../../connector/relay/session-registry.js';
import type { RoutingNotice } from '../../../connector/tunnel/protocol.js';

interface FakeSession extends TunnelSession {
  notices: RoutingNotice[];
  kill(): void;
}

function session(connectorId: string, ha?: Omit<SessionHa, 'notify'>, subaccounts: string[] = ['acme'], locationId = ''): FakeSession {
  const h2 = { closed: false, destroyed: false };
  const notices: RoutingNotice[] = [];
  const s: FakeSession = {
    connectorId,
    locationId,
    subaccounts,
    connectedAt: new Date(),
    remoteAddress: '127.0.0.1:1',
    h2: h2 as unknown as ClientHttp2Session,
    rttMs: -1,
    notices,
    kill: () => {
      h2.destroyed = true;
      h2.closed = true;
    },
  };
  if (ha) s.ha = { ...ha, notify: (n) => notices.push(n) };
  return s;
}

const master = () => session('conn-a', { role: 'master', active: true, ready: true });
const shadow = (ready = true) => session('conn-b', { role: 'shadow', active: false, ready });

test('only the active session gets calls; a standby gets none', () => {
  const r = new SessionRegistry();
  const m = master();
  const s = shadow();
  r.add(m);
  r.add(s);
  assert.equal(r.pick('acme', ''), m);
  assert.equal(s.ha?.active, false);
  assert.deepEqual(s.notices, [], 'the standby was not promoted or told anything');
  assert.equal(r.pick('acme', 'other-location'), undefined);
  assert.equal(r.pick('globex', ''), undefined);
});

test('a standby that registers first is not routed while an active session exists, whatever the order', () => {
  const r = new SessionRegistry();
  const s = shadow();
  const m = master();
  r.add(s);
  r.add(m);
  assert.equal(r.pick('acme', ''), m);
});

test('two actives: the later claim wins, the earlier is demoted, told who superseded it, and the conflict is counted', () => {
  const r = new SessionRegistry();
  const m = master();
  const s = shadow();
  r.add(m);
  r.add(s);
  const superseded = r.claim(s, { active: true, ready: true, planned: false });
  assert.deepEqual(superseded, [m]);
  assert.equal(r.pick('acme', ''), s);
  assert.equal(m.ha?.active, false);
  assert.deepEqual(m.notices.at(-1), { type: 'routing', routed: false, reason: 'superseded', by: 'conn-b', planned: false });
  assert.deepEqual(s.notices.at(-1), { type: 'routing', routed: true, reason: 'claim' });
  assert.equal(r.conflicts, 1);
  // The master claims back: it wins again, being the later claim.
  r.claim(m, { active: true, ready: true, planned: false });
  assert.equal(r.pick('acme', ''), m);
  assert.equal(r.conflicts, 2);
});

test('a planned claim (switch-over) moves the route without counting a conflict', () => {
  const r = new SessionRegistry();
  const m = master();
  const s = shadow();
  r.add(m);
  r.add(s);
  r.claim(s, { active: true, ready: true, planned: true });
  assert.equal(r.pick('acme', ''), s);
  assert.equal(r.conflicts, 0);
  assert.equal(m.notices.at(-1)?.planned, true);
});

test('a hello that claims active supersedes the active session at registration', () => {
  const r = new SessionRegistry();
  const s = session('conn-b', { role: 'shadow', active: true, ready: true });
  r.add(s);
  const m = master();
  r.add(m);
  assert.equal(r.pick('acme', ''), m);
  assert.equal(s.ha?.active, false);
  assert.equal(s.notices.at(-1)?.reason, 'superseded');
});

test('the active session closes: a ready standby is promoted at once and told', () => {
  const r = new SessionRegistry();
  const m = master();
  const s = shadow();
  r.add(m);
  r.add(s);
  m.kill();
  r.remove(m);
  assert.equal(s.ha?.active, true);
  assert.deepEqual(s.notices, [{ type: 'routing', routed: true, reason: 'promoted' }]);
  assert.equal(r.pick('acme', ''), s);
  assert.equal(r.conflicts, 0);
  assert.equal(r.promotions, 1);
});

test('an active session that died before its close was handled: the first pick promotes the standby', () => {
  const r = new SessionRegistry();
  const m = master();
  const s = shadow();
  r.add(m);
  r.add(s);
  m.kill();
  assert.equal(r.pick('acme', ''), s);
  assert.equal(s.notices.at(-1)?.reason, 'promoted');
  // Its close, handled later, changes nothing.
  r.remove(m);
  assert.equal(r.pick('acme', ''), s);
  assert.equal(s.notices.length, 1);
});

test('a standby that is not ready (no rules from its master) is never promoted: calls get no connector', () => {
  const r = new SessionRegistry();
  const m = master();
  const s = shadow(false);
  r.add(m);
  r.add(s);
  m.kill();
  r.remove(m);
  assert.equal(r.pick('acme', ''), undefined);
  assert.equal(s.ha?.active, false);
  // Once it reports ready, the next pick promotes it.
  r.claim(s, { active: false, ready: true, planned: false });
  assert.equal(r.pick('acme', ''), s);
});

test('a session that releases its routes hands them to a ready standby, not back to itself', () => {
  const r = new SessionRegistry();
  const m = master();
  const s = shadow();
  r.add(m);
  r.add(s);
  r.claim(m, { active: false, ready: true, planned: false });
  assert.equal(r.pick('acme', ''), s);
  assert.equal(m.notices.at(-1)?.reason, 'released');
});

test('a reconnect of the active connector replaces its session without promoting the standby', () => {
  const r = new SessionRegistry();
  const m = master();
  const s = shadow();
  r.add(m);
  r.add(s);
  const again = master();
  const previous = r.add(again);
  assert.equal(previous, m);
  assert.equal(r.pick('acme', ''), again);
  assert.deepEqual(s.notices, []);
  // Claims over the replaced session's channel no longer count.
  assert.deepEqual(r.claim(m, { active: true, ready: true, planned: false }), []);
  assert.equal(r.pick('acme', ''), again);
});

test('standalone connectors (no ha) keep the old rule: the newest session of a route is routed', () => {
  const r = new SessionRegistry();
  const a = session('plain-a');
  const b = session('plain-b');
  r.add(a);
  r.add(b);
  assert.equal(r.pick('acme', ''), b);
  b.kill();
  assert.equal(r.pick('acme', ''), a);
  assert.equal(r.conflicts, 0);
});

test('routes are per subaccount and location: a claim moves only the routes the session serves', () => {
  const r = new SessionRegistry();
  const berlin = session('berlin', { role: 'master', active: true, ready: true }, ['acme'], 'berlin');
  const munich = session('munich', { role: 'master', active: true, ready: true }, ['acme'], 'munich');
  const berlinShadow = session('berlin-2', { role: 'shadow', active: false, ready: true }, ['acme'], 'berlin');
  r.add(berlin);
  r.add(munich);
  r.add(berlinShadow);
  r.claim(berlinShadow, { active: true, ready: true, planned: false });
  assert.equal(r.pick('acme', 'berlin'), berlinShadow);
  assert.equal(r.pick('acme', 'munich'), munich);
  assert.equal(munich.ha?.active, true);
});

test('a promotion fills a gap but never takes a route from a live active session', () => {
  const r = new SessionRegistry();
  // The active shadow serves acme; the restarted master, standby, already announces acme and globex.
  const activeShadow = session('conn-b', { role: 'shadow', active: true, ready: true }, ['acme']);
  const standbyMaster = session('conn-a', { role: 'master', active: false, ready: true }, ['acme', 'globex']);
  r.add(activeShadow);
  r.add(standbyMaster);
  activeShadow.notices.length = 0;
  assert.equal(r.pick('globex', ''), undefined, 'globex waits for the active connector to announce it');
  assert.equal(r.pick('acme', ''), activeShadow);
  assert.equal(activeShadow.ha?.active, true);
  assert.deepEqual(activeShadow.notices, []);
  // Once the active one is gone, the standby is promoted for all its routes.
  activeShadow.kill();
  r.remove(activeShadow);
  assert.equal(r.pick('globex', ''), standbyMaster);
  assert.equal(r.pick('acme', ''), standbyMaster);
});
