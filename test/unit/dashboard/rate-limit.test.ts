// Sign-in throttling per client address and per user name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressKey, LoginLimiter } from '../../../dashboard/auth/rate-limit.js';

function clock(): { now: () => number; advance(ms: number): void } {
  let t = 1_800_000_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('login rate limit', () => {
  it('refuses the attempt after max_attempts failures until the window ends, and says how long to wait', () => {
    const c = clock();
    const limiter = new LoginLimiter({ maxAttempts: 3, windowMs: 60_000, now: c.now });
    for (let i = 0; i < 3; i++) assert.equal(limiter.attempt(['ip:1.2.3.4', 'user:ada']).ok, true);
    c.advance(20_000);
    const refused = limiter.attempt(['ip:1.2.3.4', 'user:ada']);
    assert.equal(refused.ok, false);
    assert.ok(!refused.ok && refused.retryAfterS === 40 && refused.firstRefusal);
    const again = limiter.attempt(['ip:1.2.3.4', 'user:bob']);
    assert.ok(!again.ok && again.key === 'ip:1.2.3.4' && !again.firstRefusal, 'the address is full whatever the name; reported once');
    c.advance(40_000);
    assert.equal(limiter.attempt(['ip:1.2.3.4', 'user:ada']).ok, true, 'a new window');
  });

  it('counts per name across addresses', () => {
    const limiter = new LoginLimiter({ maxAttempts: 2, windowMs: 60_000 });
    assert.equal(limiter.attempt(['ip:a', 'user:ada']).ok, true);
    assert.equal(limiter.attempt(['ip:b', 'user:ada']).ok, true);
    const refused = limiter.attempt(['ip:c', 'user:ada']);
    assert.ok(!refused.ok && refused.key === 'user:ada');
    assert.equal(limiter.attempt(['ip:c', 'user:bob']).ok, true, 'another name from that address is fine');
  });

  it('gives the slot back on success, so signing in often is never throttled', () => {
    const limiter = new LoginLimiter({ maxAttempts: 2, windowMs: 60_000 });
    for (let i = 0; i < 10; i++) {
      const a = limiter.attempt(['ip:a', 'user:ada']);
      assert.ok(a.ok, `sign-in ${i}`);
      a.release();
      a.release(); // twice changes nothing
    }
    assert.equal(limiter.attempt(['ip:a', 'user:ada']).ok, true);
    assert.equal(limiter.attempt(['ip:a', 'user:ada']).ok, true);
    assert.equal(limiter.attempt(['ip:a', 'user:ada']).ok, false);
  });

  it('reserves before the check, so parallel attempts cannot overshoot the limit', () => {
    const limiter = new LoginLimiter({ maxAttempts: 5, windowMs: 60_000 });
    const results = Array.from({ length: 50 }, () => limiter.attempt(['ip:a', 'user:ada']));
    assert.equal(results.filter((r) => r.ok).length, 5);
  });

  it('keeps its memory bounded, dropping expired buckets first and then the oldest', () => {
    const c = clock();
    const limiter = new LoginLimiter({ maxAttempts: 1, windowMs: 1000, maxKeys: 100, now: c.now });
    for (let i = 0; i < 100; i++) limiter.attempt([`user:old${i}`]);
    c.advance(2000);
    for (let i = 0; i < 100; i++) limiter.attempt([`user:new${i}`]);
    assert.equal(limiter.size, 100);
    assert.equal(limiter.attempt(['user:new99']).ok, false, 'the newest buckets survive');
    for (let i = 0; i < 1000; i++) limiter.attempt([`user:flood${i}`]);
    assert.ok(limiter.size <= 100, `${limiter.size} buckets`);
  });
});

describe('address keys', () => {
  it('count IPv4 addresses singly, IPv6 by their /64 and IPv4-mapped IPv6 as IPv4', () => {
    assert.equal(addressKey('192.0.2.7'), '192.0.2.7');
    assert.equal(addressKey('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:0db8:0001:0002:0:0:0:1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  });
});
