// scrypt password hashes of local dashboard users.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SCRYPT, hashPassword, parsePasswordHash, verifyPassword } from '../../../dashboard/auth/password.js';

// A cheaper cost keeps the unit tests quick; the format and the checks are the same.
const FAST = { N: 1024, r: 8, p: 1 };

describe('password hashes', () => {
  it('are scrypt$N$r$p$salt$hash with the default cost, a 16-byte salt and a 32-byte key', async () => {
    const hash = await hashPassword('correct horse battery staple');
    const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(hash);
    assert.ok(m, hash);
    assert.deepEqual([Number(m[1]), Number(m[2]), Number(m[3])], [DEFAULT_SCRYPT.N, DEFAULT_SCRYPT.r, DEFAULT_SCRYPT.p]);
    assert.equal(Buffer.from(m[4]!, 'base64url').length, 16);
    assert.equal(Buffer.from(m[5]!, 'base64url').length, 32);
    assert.equal(await verifyPassword('correct horse battery staple', hash), true);
  });

  it('verify the right password and refuse a wrong, empty, truncated or differently-cased one', async () => {
    const hash = await hashPassword('S3cret-pass', FAST);
    assert.equal(await verifyPassword('S3cret-pass', hash), true);
    for (const wrong of ['s3cret-pass', 'S3cret-pas', 'S3cret-pass ', '']) assert.equal(await verifyPassword(wrong, hash), false, wrong);
  });

  it('salt every hash, so the same password never hashes the same twice', async () => {
    const [a, b] = await Promise.all([hashPassword('same', FAST), hashPassword('same', FAST)]);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('same', a), true);
    assert.equal(await verifyPassword('same', b), true);
  });

  it('treat composed and decomposed unicode as the same password (NFC)', async () => {
    const hash = await hashPassword('Gr\u00fc\u00dfe', FAST);
    assert.equal(await verifyPassword('Gru\u0308\u00dfe', hash), true);
  });

  it('reject a hash whose key was altered', async () => {
    const hash = await hashPassword('pw', FAST);
    const parts = hash.split('$');
    const key = Buffer.from(parts[5]!, 'base64url');
    key[0] = key[0]! ^ 1;
    parts[5] = key.toString('base64url');
    assert.equal(await verifyPassword('pw', parts.join('$')), false);
  });

  it('refuse malformed hashes and costs outside sane bounds instead of trying them', () => {
    const salt = Buffer.alloc(16, 1).toString('base64url');
    const key = Buffer.alloc(32, 2).toString('base64url');
    assert.ok(parsePasswordHash(`scrypt$16384$8$1$${salt}$${key}`));
    for (const bad of [
      'plain-text-password',
      `bcrypt$16384$8$1$${salt}$${key}`,
      `scrypt$16383$8$1$${salt}$${key}`, // not a power of two
      `scrypt$512$8$1$${salt}$${key}`, // too weak
      `scrypt$4194304$8$1$${salt}$${key}`, // gigabytes of memory
      `scrypt$16384$0$1$${salt}$${key}`,
      `scrypt$16384$8$99$${salt}$${key}`,
      `scrypt$16384$8$1$${salt}$`,
      `scrypt$16384$8$1$AAA$${key}`, // salt too short
    ]) assert.equal(parsePasswordHash(bad), undefined, bad);
  });
});
