// Path and authority normalisation: the canonical form access control decides on and the backend receives.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeAuthority, normalizePath, segmentName } from '../../../connector/acl/normalize-path.js';

/** [what the vector shows, raw path, canonical path]. */
const ACCEPTED: readonly (readonly [string, string, string])[] = [
  ['the root', '/', '/'],
  ['a plain path', '/api/orders', '/api/orders'],
  ['a trailing slash', '/api/orders/', '/api/orders/'],
  ['upper case, kept because matching is case-sensitive', '/API/Orders', '/API/Orders'],
  ['unreserved punctuation', '/a-b_c~d.e', '/a-b_c~d.e'],
  ['every sub-delimiter, ":" and "@"', "/!$&'()*+,;=:@", "/!$&'()*+,;=:@"],
  ['a duplicate slash', '/a//b', '/a/b'],
  ['a leading double slash', '//a', '/a'],
  ['a run of trailing slashes', '/a///', '/a/'],
  ['a "." segment', '/a/./b', '/a/b'],
  ['a final "." segment, keeping the directory slash', '/a/.', '/a/'],
  ['"/./"', '/./', '/'],
  ['a ".." segment', '/a/b/../c', '/a/c'],
  ['a final ".." segment', '/a/b/..', '/a/'],
  ['".." back to the root', '/a/..', '/'],
  ['mixed dot segments and a trailing slash', '/a/b/./../c/', '/a/c/'],
  ['an encoded "." segment', '/a/%2e/b', '/a/b'],
  ['an encoded ".." segment in upper case', '/a/b/%2E%2E/c', '/a/c'],
  ['an encoded ".." segment in mixed case', '/a/b/%2e%2E/c', '/a/c'],
  ['a half-encoded ".." (.%2e)', '/a/b/.%2e/c', '/a/c'],
  ['a half-encoded ".." (%2e.)', '/a/b/%2e./c', '/a/c'],
  ['slashes collapsed before ".." is resolved, as nginx and Tomcat do', '/a/b//../c', '/a/c'],
  ['escaped upper-case letters, decoded', '/%41%42%43', '/ABC'],
  ['escaped lower-case letters, decoded', '/%61bc', '/abc'],
  ['escaped unreserved punctuation and digits, decoded', '/%7e%2d%5f%2e%30', '/~-_.0'],
  ['an escaped space, kept encoded', '/a%20b', '/a%20b'],
  ['an escaped ";", kept encoded with upper-case hex', '/a%3bb', '/a%3Bb'],
  ['an escaped "?", kept encoded', '/a%3fb', '/a%3Fb'],
  ['an escaped "#", kept encoded', '/a%23', '/a%23'],
  ['an escaped "%" not followed by hex', '/50%25off', '/50%25off'],
  ['an escaped "%" followed by a single hex digit', '/a/%252', '/a/%252'],
  ['a two-byte UTF-8 letter, hex upper-cased', '/caf%c3%a9', '/caf%C3%A9'],
  ['three-byte UTF-8 letters (CJK)', '/%E6%97%A5%E6%9C%AC', '/%E6%97%A5%E6%9C%AC'],
  ['a non-ASCII digit (Arabic-Indic three)', '/%D9%A3', '/%D9%A3'],
  ['a combining mark after a letter', '/e%CC%81', '/e%CC%81'],
  ['a combining mark after a non-ASCII letter', '/%C3%A9%CC%88', '/%C3%A9%CC%88'],
  ['a four-byte UTF-8 letter (U+1D400)', '/%F0%9D%90%80', '/%F0%9D%90%80'],
  ['SAP OData path parameters', '/sap/opu/odata/sap/ZSRV;v=2/Products', '/sap/opu/odata/sap/ZSRV;v=2/Products'],
  ['a jsessionid path parameter after a name', '/app/cart;jsessionid=ABC', '/app/cart;jsessionid=ABC'],
  ['a segment with a trailing dot after a name', '/a/b.', '/a/b.'],
  ['a dot file', '/.well-known/openid-configuration', '/.well-known/openid-configuration'],
  ['a segment that starts with ".." but has a name', '/..a/b', '/..a/b'],
  ['a segment that ends with ".."', '/a..', '/a..'],
  ['a colon inside a segment', '/v1/projects/p:run', '/v1/projects/p:run'],
];

/** [what the vector shows, raw path, words expected in the reason]. */
const REJECTED: readonly (readonly [string, string, string])[] = [
  ['an empty path', '', 'does not start with "/"'],
  ['a relative path', 'a/b', 'does not start with "/"'],
  ['the asterisk form', '*', 'does not start with "/"'],
  ['an absolute URI', 'http://x/a', 'does not start with "/"'],
  ['".." at the root', '/..', 'above the root'],
  ['".." below the root', '/../a', 'above the root'],
  ['one ".." too many', '/a/../..', 'above the root'],
  ['an encoded ".." at the root', '/%2e%2e/', 'above the root'],
  ['encoded ".." segments that climb out', '/a/%2e%2e/%2e%2e/b', 'above the root'],
  ['a half-encoded ".." at the root', '/.%2E/', 'above the root'],
  ['an encoded slash in lower case', '/a/%2fb', 'encoded slash'],
  ['an encoded slash in upper case', '/a/%2Fb', 'encoded slash'],
  ['an encoded "../" traversal', '/a/%2e%2e%2fetc', 'encoded slash'],
  ['an encoded backslash', '/a%5cb', 'encoded backslash'],
  ['an encoded backslash traversal', '/a/%5C..%5Cb', 'encoded backslash'],
  ['a raw backslash', '/a\\b', 'backslash'],
  ['a raw backslash traversal', '/\\..\\admin', 'backslash'],
  ['an encoded NUL', '/a%00', 'NUL'],
  ['a raw NUL', '/a\u0000', 'NUL'],
  ['an encoded CRLF (header injection)', '/a%0d%0aSet-Cookie:x', 'control'],
  ['an encoded tab', '/a%09', 'control'],
  ['an encoded DEL', '/a%7f', 'control'],
  ['a raw CR LF', '/a\r\n', 'control'],
  ['a raw space', '/a b', 'space'],
  ['a raw DEL', '/a\u007f', 'control'],
  ['a raw non-ASCII letter', '/caf\u00e9', 'non-ASCII'],
  ['a raw fullwidth dot', '/\uff0e\uff0e/', 'non-ASCII'],
  ['a malformed escape', '/a%zz', 'malformed percent escape'],
  ['a truncated escape', '/a%4', 'malformed percent escape'],
  ['a lone percent sign', '/a%', 'malformed percent escape'],
  ['a doubled percent sign', '/a%%41', 'malformed percent escape'],
  ['IIS %u encoding of dots', '/%u002e%u002e/admin', 'malformed percent escape'],
  ['an overlong two-byte "." (%C0%AE)', '/a/%C0%AE%C0%AE/', 'not valid UTF-8'],
  ['an overlong two-byte "/" (%C0%AF)', '/%C0%AF', 'not valid UTF-8'],
  ['an overlong two-byte "\\" (%C1%9C)', '/%C1%9C', 'not valid UTF-8'],
  ['an overlong three-byte "."', '/%E0%80%AE', 'not valid UTF-8'],
  ['an overlong four-byte "."', '/%F0%80%80%AE', 'not valid UTF-8'],
  ['an encoded UTF-16 surrogate', '/%ED%A0%80', 'not valid UTF-8'],
  ['a code point above U+10FFFF', '/%F4%90%80%80', 'not valid UTF-8'],
  ['a lead byte above F4', '/a/%F5%80%80%80', 'not valid UTF-8'],
  ['the byte FF', '/%FF', 'not valid UTF-8'],
  ['a lone continuation byte', '/%80', 'not valid UTF-8'],
  ['a truncated two-byte sequence', '/%C3', 'not valid UTF-8'],
  ['a two-byte sequence interrupted by a raw character', '/%C3a', 'not valid UTF-8'],
  ['a lead byte followed by an escaped ASCII dot', '/a%c0%2e', 'not valid UTF-8'],
  ['a truncated three-byte sequence', '/%E6%97', 'not valid UTF-8'],
  ['a three-byte sequence cut by a malformed escape', '/%E6%97%G1', 'malformed percent escape'],
  ['fullwidth full stops (U+FF0E)', '/%EF%BC%8E%EF%BC%8E/admin', 'U+FF0E'],
  ['one dot leaders (U+2024)', '/%E2%80%A4%E2%80%A4/admin', 'U+2024'],
  ['a two dot leader (U+2025)', '/%E2%80%A5/admin', 'U+2025'],
  ['a small full stop (U+FE52)', '/%EF%B9%92%EF%B9%92/', 'U+FE52'],
  ['an ideographic full stop (U+3002)', '/%E3%80%82', 'U+3002'],
  ['a fullwidth solidus (U+FF0F)', '/a%EF%BC%8Fb', 'U+FF0F'],
  ['a division slash (U+2215)', '/a%E2%88%95b', 'U+2215'],
  ['a fraction slash (U+2044)', '/a%E2%81%84b', 'U+2044'],
  ['a fullwidth reverse solidus (U+FF3C)', '/a%EF%BC%BCb', 'U+FF3C'],
  ['a no-break space (U+00A0)', '/a%C2%A0', 'U+00A0'],
  ['a zero-width space (U+200B)', '/a%E2%80%8Bb', 'U+200B'],
  ['a combining grapheme joiner, which some backends ignore', '/a%CD%8Fdmin', 'ignore'],
  ['a byte order mark', '/%EF%BB%BFadmin', 'U+FEFF'],
  ['a combining mark on dots', '/public/..%CC%81/admin', 'combining mark'],
  ['a combining mark at the start of a segment', '/%CC%81', 'combining mark'],
  ['a C1 control (NEL)', '/a%C2%85', 'U+0085'],
  ['a right-to-left override (U+202E)', '/a%E2%80%AEb', 'U+202E'],
  ['a digit whose compatibility form ends in a dot (U+2488)', '/%E2%92%88', 'compatibility form'],
  ['a Tomcat "..;" traversal', '/public/..;/admin', 'empty or only dots'],
  ['a Tomcat ".;" segment', '/public/.;/admin', 'empty or only dots'],
  ['a ".." carrying a jsessionid parameter', '/public/..;jsessionid=1/admin', 'empty or only dots'],
  ['an encoded ".." carrying a parameter', '/public/%2e%2e;/admin', 'empty or only dots'],
  ['".." with an encoded ";" in lower case', '/public/..%3b/admin', 'empty or only dots'],
  ['".." with an encoded ";" in upper case', '/public/..%3B/admin', 'empty or only dots'],
  ['a segment of parameters only', '/;x/admin', 'empty or only dots'],
  ['".." with an NTFS stream suffix', '/public/..::$DATA/admin', 'empty or only dots'],
  ['three dots', '/a/...', 'empty or only dots'],
  ['four dots', '/a/..../b', 'empty or only dots'],
  ['".." with an encoded dot after it', '/a/..%2e/b', 'empty or only dots'],
  ['".." with a trailing encoded space (IIS trims it)', '/a/..%20/b', 'empty or only dots'],
  ['"." with a trailing encoded space', '/a/.%20/b', 'empty or only dots'],
  ['a segment of one encoded space', '/a/%20/b', 'empty or only dots'],
  ['double-encoded dots (%252e)', '/a/%252e%252e/b', 'percent-encoded twice'],
  ['double encoding built from decoded digits', '/a/%25%32%65%25%32%65/b', 'percent-encoded twice'],
  ['double-encoded IIS %u', '/a/%25u002e', 'percent-encoded twice'],
  ['triple encoding', '/a/%2525252e', 'percent-encoded twice'],
  ['a double-encoded slash', '/a%252fb', 'percent-encoded twice'],
  ['a fragment', '/a#frag', 'fragment'],
  ['a query', '/a?b=1', 'without its query'],
  ['a double quote', '/a"b', 'not allowed in a path'],
  ['angle brackets', '/a<script>', 'not allowed in a path'],
  ['a pipe', '/a|b', 'not allowed in a path'],
  ['braces', '/a{b}', 'not allowed in a path'],
  ['a caret', '/a^b', 'not allowed in a path'],
  ['a backtick', '/a`b', 'not allowed in a path'],
  ['square brackets', '/a[0]', 'not allowed in a path'],
];

describe('normalizePath', () => {
  for (const [what, raw, expected] of ACCEPTED) {
    it(`accepts ${what}: ${JSON.stringify(raw)} becomes ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(normalizePath(raw), { ok: true, path: expected });
    });
  }

  for (const [what, raw, words] of REJECTED) {
    it(`rejects ${what}: ${JSON.stringify(raw)}`, () => {
      const result = normalizePath(raw);
      assert.equal(result.ok, false, `expected a rejection, got ${JSON.stringify(result)}`);
      if (!result.ok) assert.ok(result.reason.includes(words), `reason ${JSON.stringify(result.reason)} lacks ${JSON.stringify(words)}`);
    });
  }

  it('has at least 80 vectors', () => {
    assert.ok(ACCEPTED.length + REJECTED.length >= 80);
  });

  it('returns an already canonical path as the same string', () => {
    const raw = '/api/orders/7';
    const result = normalizePath(raw);
    assert.ok(result.ok && result.path === raw);
  });

  it('keeps every reason on one printable line', () => {
    for (const [, raw] of REJECTED) {
      const result = normalizePath(raw);
      if (!result.ok) assert.match(result.reason, /^[\x20-\x7e]+$/);
    }
  });

  it('quotes at most 40 characters of a rejected segment', () => {
    const result = normalizePath(`/a/${'.'.repeat(5000)}/b`);
    assert.ok(!result.ok && result.reason.length < 300);
  });

  it('is idempotent on every accepted vector', () => {
    for (const [, , expected] of ACCEPTED) assert.deepEqual(normalizePath(expected), { ok: true, path: expected });
  });

  it('produces paths that a backend decoding them once reads as the same segments, for random hostile input', () => {
    const pieces = ['/', '/', '.', '..', '%2e', '%2E', '%2f', '%5c', '%25', '%00', ';', '%3b', ':', 'a', 'B', '~', '%41',
      '%20', '%C3%A9', '%C0%AE', '%EF%BC%8E', '%E2%80%8B', '\\', '?', '#', '%u', '%', 'x=1', '@', '!', '%7e'];
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    let accepted = 0;
    for (let n = 0; n < 5000; n++) {
      let raw = '/';
      const len = 1 + Math.floor(next() * 10);
      for (let k = 0; k < len; k++) raw += pieces[Math.floor(next() * pieces.length)]!;
      const result = normalizePath(raw);
      if (!result.ok) continue;
      accepted += 1;
      const out = result.path;
      assert.deepEqual(normalizePath(out), result, `not idempotent for ${raw}`);
      assert.match(out, /^\/[\x21-\x7e]*$/);
      assert.ok(!out.includes('//'), `duplicate slash in ${out} from ${raw}`);
      for (const seg of out.split('/').slice(1)) {
        const once = decodeURIComponent(seg);
        assert.ok(once !== '.' && once !== '..', `dot segment after one decode in ${out} from ${raw}`);
        assert.ok(!/[/\\\0]/.test(once), `separator after one decode in ${out} from ${raw}`);
        assert.ok(!/%(?:[0-9A-Fa-f]{2}|u)/.test(once), `an escape survives one decode in ${out} from ${raw}`);
        if (seg !== '') assert.notEqual(segmentName(seg), '', `emptied segment in ${out} from ${raw}`);
      }
    }
    assert.ok(accepted > 500, `only ${accepted} random paths were accepted`);
  });
});

describe('segmentName', () => {
  it('cuts path parameters and stream suffixes and trims trailing dots and spaces', () => {
    assert.equal(segmentName('admin;x=1'), 'admin');
    assert.equal(segmentName('admin%3Bx'), 'admin');
    assert.equal(segmentName('admin::$DATA'), 'admin');
    assert.equal(segmentName('admin..%20.'), 'admin');
    assert.equal(segmentName('..;'), '');
    assert.equal(segmentName('.well-known'), '.well-known');
  });
});

/** [what, raw authority, default port or undefined, host, port] or [what, raw, default, reason words]. */
const AUTHORITIES_OK: readonly (readonly [string, string, number | undefined, string, number])[] = [
  ['a name and port', 'erp.virtual:8000', undefined, 'erp.virtual', 8000],
  ['a name in upper case, lower-cased', 'ERP.Virtual:8000', undefined, 'erp.virtual', 8000],
  ['a name with one trailing dot, stripped', 'erp.virtual.:8000', undefined, 'erp.virtual', 8000],
  ['a name without a port, given the default', 'erp.virtual', 80, 'erp.virtual', 80],
  ['an IPv4 address', '10.0.0.1:443', undefined, '10.0.0.1', 443],
  ['an IPv6 address in brackets', '[::1]:8080', undefined, '::1', 8080],
  ['a long IPv6 address, compressed', '[0:0:0:0:0:0:0:1]:8080', undefined, '::1', 8080],
  ['an IPv6 address in upper case, lower-cased', '[FE80::A]:1', undefined, 'fe80::a', 1],
  ['an underscore in a name', 'my_host:65535', undefined, 'my_host', 65535],
];

const AUTHORITIES_BAD: readonly (readonly [string, string, number | undefined, string])[] = [
  ['an empty authority', '', 80, 'empty'],
  ['userinfo', 'user:pw@erp.virtual:8000', 80, 'userinfo'],
  ['an "@" alone', '@erp.virtual:8000', 80, 'userinfo'],
  ['an empty host', ':8000', 80, 'empty host'],
  ['a missing port where one is required', 'erp.virtual', undefined, 'no port'],
  ['an empty port', 'erp.virtual:', 80, 'invalid port'],
  ['port 0', 'erp.virtual:0', 80, 'invalid port'],
  ['a port above 65535', 'erp.virtual:65536', 80, 'above 65535'],
  ['a port with a leading zero', 'erp.virtual:080', 80, 'invalid port'],
  ['a port with a sign', 'erp.virtual:+80', 80, 'invalid port'],
  ['an unbracketed IPv6 address', '::1:80', 80, 'more than one ":"'],
  ['an unterminated IPv6 literal', '[::1:80', 80, 'unterminated'],
  ['garbage after an IPv6 literal', '[::1]x:80', 80, 'after the IPv6 literal'],
  ['an IPv6 zone id', '[fe80::1%25eth0]:80', 80, 'invalid IPv6'],
  ['a bracketed name', '[erp.virtual]:80', 80, 'invalid IPv6'],
  ['an empty label', 'erp..virtual:80', 80, 'empty label'],
  ['two trailing dots', 'erp.virtual..:80', 80, 'empty label'],
  ['a leading dot', '.erp.virtual:80', 80, 'empty label'],
  ['a percent-encoded host', 'erp%2evirtual:80', 80, 'characters other than'],
  ['a space', 'erp virtual:80', 80, 'characters other than'],
  ['a slash', 'erp.virtual/x:80', 80, 'characters other than'],
  ['a non-ASCII host', 'erp\u0131.virtual:80', 80, 'characters other than'],
  ['an overlong authority', `${'a'.repeat(300)}:80`, 80, 'too long'],
];

describe('normalizeAuthority', () => {
  for (const [what, raw, def, host, port] of AUTHORITIES_OK) {
    it(`accepts ${what}: ${JSON.stringify(raw)}`, () => {
      assert.deepEqual(normalizeAuthority(raw, def), { ok: true, host, port });
    });
  }
  for (const [what, raw, def, words] of AUTHORITIES_BAD) {
    it(`rejects ${what}: ${JSON.stringify(raw.slice(0, 40))}`, () => {
      const result = normalizeAuthority(raw, def);
      assert.equal(result.ok, false, `expected a rejection, got ${JSON.stringify(result)}`);
      if (!result.ok) assert.ok(result.reason.includes(words), `reason ${JSON.stringify(result.reason)} lacks ${JSON.stringify(words)}`);
    });
  }
});
