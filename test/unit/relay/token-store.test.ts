// Cloud app tokens at the relay: lookup by digest, expiry, and what a reload's new list still holds of the
// identities admitted under the old one.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hashToken, tokenListProblems, TokenStore } from '../../../connector/relay/token-store.js';

const A = 'tw_unit_token_a_0123456789';
const B = 'tw_unit_token_b_0123456789';
const AT = Date.parse('2027-03-31T00:00:00Z');

describe('TokenStore', () => {
  const store = (): TokenStore => new TokenStore([
    { subaccount: 'acme', cloud_app: 'portal', sha256: hashToken(A), expires_at: '2027-03-31T02:00:00+02:00' },
    { subaccount: 'acme', cloud_app: 'batch', sha256: hashToken(B) },
  ]);

  it('accepts a token until its expiry, then refuses it naming the time and the identity', () => {
    const s = store();
    const before = s.authenticate(`Bearer ${A}`, AT - 1);
    assert.equal(before.identity?.cloudApp, 'portal');
    const after = s.authenticate(`Bearer ${A}`, AT);
    assert.equal(after.identity, undefined);
    assert.equal(!after.identity && after.refused, 'the token expired at 2027-03-31T00:00:00.000Z');
    assert.equal(!after.identity && after.expired?.cloudApp, 'portal');
    assert.equal(s.authenticate(`Basic ${Buffer.from(`x:${B}`).toString('base64')}`, AT + 1e12).identity?.cloudApp, 'batch', 'no expiry: never');
  });

  it('says why a token is refused without telling which tokens exist', () => {
    const s = store();
    assert.deepEqual(s.authenticate(undefined), { refused: 'no Proxy-Authorization header' });
    assert.deepEqual(s.authenticate('Bearer tw_nobody'), { refused: 'the token is not known' });
    assert.deepEqual(s.authenticate('Negotiate abc'), { refused: 'the token is not known' });
  });

  it('holds an admitted identity while its token is in force, for the same tenant and app, and unexpired', () => {
    const s = store();
    const a = s.authenticate(`Bearer ${A}`, AT - 10).identity;
    const b = s.authenticate(`Bearer ${B}`).identity;
    assert.ok(a && b);
    assert.equal(s.holds(a, AT - 1), true);
    assert.equal(s.holds(a, AT), false, 'expired');
    s.replace([{ subaccount: 'acme', cloud_app: 'reports', sha256: hashToken(B) }]);
    assert.equal(s.holds(b), false, 'moved to another cloud app');
    assert.equal(s.holds(a, AT - 1), false, 'removed');
    s.replace([{ subaccount: 'acme', cloud_app: 'portal', sha256: hashToken(A) }]);
    assert.equal(s.holds(a, AT + 1), true, 'the same token again, now without expiry');
  });

  it('judges expiry by the entry in force now, which a reload may have moved', () => {
    const s = store();
    const a = s.authenticate(`Bearer ${A}`, AT - 10).identity;
    assert.ok(a);
    s.replace([{ subaccount: 'acme', cloud_app: 'portal', sha256: hashToken(A), expires_at: '2027-01-01T00:00:00Z' }]);
    assert.deepEqual(s.standing(a, Date.parse('2027-01-01T00:00:00Z')), { held: false, expiredAtMs: Date.parse('2027-01-01T00:00:00Z') });
    assert.deepEqual(s.standing(a, Date.parse('2026-12-31T23:59:59Z')), { held: true });
    s.replace([]);
    assert.deepEqual(s.standing(a, 0), { held: false }, 'removed, not expired');
  });

  it('finds the next expiry and the tokens expiring before a time', () => {
    const s = store();
    assert.equal(s.nextExpiry(0), AT);
    assert.equal(s.nextExpiry(AT), Infinity);
    assert.deepEqual(s.expiring(AT + 1).map((t) => t.cloudApp), ['portal']);
    assert.deepEqual(s.expiring(AT), []);
  });
});

describe('tokenListProblems', () => {
  it('names a token listed twice and an expiry that does not exist', () => {
    const problems = tokenListProblems([
      { subaccount: 'acme', cloud_app: 'portal', sha256: hashToken(A), expires_at: '2027-02-30T00:00:00Z' },
      { subaccount: 'globex', cloud_app: 'portal', sha256: hashToken(A) },
      { subaccount: 'acme', cloud_app: 'batch', sha256: hashToken(B), expires_at: '2028-02-29T23:59:59.5-01:00' },
    ]);
    assert.deepEqual(problems, [
      'tokens[0].expires_at: 2027-02-30T00:00:00Z is not a time that exists',
      'tokens[1].sha256: the same token as tokens[0] (a token belongs to one subaccount and cloud app; remove one entry)',
    ]);
    assert.throws(() => new TokenStore([{ subaccount: 'acme', cloud_app: 'portal', sha256: hashToken(A), expires_at: '2027-13-01T00:00:00Z' }]), /is not a time that exists/);
  });
});
