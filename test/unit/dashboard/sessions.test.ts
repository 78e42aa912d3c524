// In-memory browser sessions: idle and absolute expiry, cookie values, CSRF token comparison.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { safeEqual, SessionStore, sessionKey } from '../../../dashboard/auth/sessions.js';

const MIN = 60_000;
const ALICE = { name: 'alice', role: 'analyst', via: 'local', subaccounts: ['acme'] } as const;

function clock(start = 1_800_000_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('sessions', () => {
  it('give each sign-in a random 32-byte cookie and CSRF token, and key the table by the cookie hash', () => {
    const store = new SessionStore({ idleMs: 30 * MIN, maxAgeMs: 12 * 60 * MIN });
    const a = store.create(ALICE);
    const b = store.create(ALICE);
    assert.match(a.cookie, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(a.cookie, 'base64url').length, 32);
    assert.notEqual(a.cookie, b.cookie);
    assert.notEqual(a.session.csrfToken, b.session.csrfToken);
    assert.equal(a.session.key, sessionKey(a.cookie));
    assert.notEqual(a.session.key, a.cookie);
    assert.equal(store.use(a.cookie)?.name, 'alice');
    assert.equal(store.use(a.session.key), undefined, 'the key is not a cookie');
  });

  it('end after the idle time without use, and live on while used', () => {
    const c = clock();
    const store = new SessionStore({ idleMs: 30 * MIN, maxAgeMs: 12 * 60 * MIN, now: c.now });
    const { cookie, session } = store.create(ALICE);
    c.advance(29 * MIN);
    assert.ok(store.use(cookie));
    assert.equal(store.expiresAt(session), c.now() + 30 * MIN);
    c.advance(29 * MIN);
    assert.ok(store.use(cookie), 'used in time: the idle timer restarted');
    c.advance(30 * MIN);
    assert.equal(store.use(cookie), undefined);
    assert.equal(store.size, 0, 'an expired session is dropped');
  });

  it('end at the absolute limit however busy they are', () => {
    const c = clock();
    const store = new SessionStore({ idleMs: 30 * MIN, maxAgeMs: 60 * MIN, now: c.now });
    const { cookie, session } = store.create(ALICE);
    for (let i = 0; i < 5; i++) {
      c.advance(10 * MIN);
      assert.ok(store.use(cookie), `use ${i}`);
    }
    assert.equal(store.expiresAt(session), session.createdAt + 60 * MIN, 'the absolute limit comes before the idle one now');
    c.advance(10 * MIN);
    assert.equal(store.use(cookie), undefined);
  });

  it('end on sign-out, and get() does not extend a session', () => {
    const c = clock();
    const store = new SessionStore({ idleMs: 10 * MIN, maxAgeMs: 60 * MIN, now: c.now });
    const { cookie, session } = store.create(ALICE);
    c.advance(9 * MIN);
    assert.ok(store.get(session.key));
    c.advance(2 * MIN);
    assert.equal(store.get(session.key), undefined);
    const other = store.create(ALICE);
    assert.equal(store.end(other.session.key)?.name, 'alice');
    assert.equal(store.use(other.cookie), undefined);
    assert.equal(store.use(cookie), undefined);
  });

  it('keep at most maxSessions, ending the oldest first', () => {
    const store = new SessionStore({ idleMs: 30 * MIN, maxAgeMs: 60 * MIN, maxSessions: 3 });
    const made = [1, 2, 3, 4].map((i) => store.create({ ...ALICE, name: `u${i}` }));
    assert.equal(store.size, 3);
    assert.equal(store.use(made[0]!.cookie), undefined);
    assert.deepEqual(made.slice(1).map((m) => store.use(m.cookie)?.name), ['u2', 'u3', 'u4']);
  });
});

describe('CSRF token comparison', () => {
  it('accepts only the exact token, whatever the length of the guess', () => {
    const token = 'kq3V0nO8j6vXlH2m1pYw7bTtZc9sQe4aRfUgDiLoNxA';
    assert.equal(safeEqual(token, token), true);
    for (const guess of ['', token.slice(0, -1), `${token}A`, token.toLowerCase(), `${token.slice(0, -1)}B`]) assert.equal(safeEqual(guess, token), false, guess);
  });
});
