// Properties of normalizePath over paths nobody wrote down: seeded random concatenations of the pieces that
// traversal and smuggling tricks are made of (dots, escapes of dots and separators, path parameters,
// stream suffixes, double escapes, non-ASCII). Whatever is accepted must be canonical: normalising it
// again changes nothing, and neither it nor its percent-decoding holds a dot segment, an empty segment, an
// encoded separator or a NUL. The vectors in normalize-path.test.ts pin the exact answers; this checks
// that no combination of them slips past.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizePath } from '../../../connector/acl/normalize-path.js';
import { seededRandom } from '../../helpers/audit-traffic.js';

const PIECES = [
  '/', '/', '/', '.', '..', '...', '%2e', '%2E', '.%2e', '%2e.', '%2f', '%2F', '%5c', '%5C', '\\', 'a', 'api', 'v1', '%41', '%61',
  ';', ';x', ':', '::$DATA', '%3b', '%3a', '~', '%7e', '%25', '%252e', '%252E', '%252f', '%255c', '%2500', '%', '%z', '%2', 'é', '%c3%a9', '%C3%A9', ' ', '%20', '+',
  '%00', '\u0000', '%ff', '%c0%af', '. ', 'x.', 'x ', '%u002e', '#', '?', '@', '!', "'", '*',
];

/** Seeded, so a failure names a path that can be replayed. */
function paths(count: number, seed: number): string[] {
  const rnd = seededRandom(seed);
  const next = (n: number): number => Math.floor(rnd() * n);
  return Array.from({ length: count }, () => `/${Array.from({ length: 1 + next(10) }, () => PIECES[next(PIECES.length)]).join('')}`);
}

const DOT_SEGMENT = /(^|\/)\.{1,2}(\/|$)/;

/** decodeURIComponent, or undefined when the escapes are not UTF-8 (nothing a backend can read a separator from). */
function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function problems(path: string): string[] {
  const out: string[] = [];
  if (!path.startsWith('/')) out.push('no leading slash');
  if (path.includes('//')) out.push('an empty segment');
  if (DOT_SEGMENT.test(path)) out.push('a dot segment');
  if (/%(2f|5c|00|2e)/i.test(path)) out.push('an escaped separator, dot or NUL');
  if (/[\\#?]/.test(path) || path.includes('\u0000')) out.push('a raw backslash, #, ? or NUL');
  // A backend (or a proxy in front of it) may percent-decode once, or twice: neither may reveal a
  // separator, a dot segment or a NUL that the path did not show.
  const once = decode(path);
  if (once !== undefined && /%(2f|5c|00|2e)/i.test(once)) out.push(`decodes to ${JSON.stringify(once)}, which holds an escaped separator, dot or NUL`);
  for (const decoded of [once, once === undefined ? undefined : decode(once)]) {
    if (decoded !== undefined && (DOT_SEGMENT.test(decoded) || decoded.includes('//') || decoded.includes('\\') || decoded.includes('\u0000'))) out.push(`decodes to ${JSON.stringify(decoded)}`);
  }
  return out;
}

describe('normalizePath properties', () => {
  it('accepts only canonical paths, whatever the pieces are combined into', () => {
    let accepted = 0;
    const bad: string[] = [];
    for (const raw of paths(60_000, 20261129)) {
      const r = normalizePath(raw);
      if (!r.ok) continue;
      accepted++;
      const again = normalizePath(r.path);
      if (!again.ok || again.path !== r.path) bad.push(`${JSON.stringify(raw)} -> ${JSON.stringify(r.path)} is not stable: ${JSON.stringify(again)}`);
      for (const p of problems(r.path)) bad.push(`${JSON.stringify(raw)} -> ${JSON.stringify(r.path)} has ${p}`);
      if (bad.length > 10) break;
    }
    assert.deepEqual(bad, []);
    // Enough of them get through for the properties to mean something.
    assert.ok(accepted > 3000, `${accepted} of 60,000 accepted`);
  });

  it('has checks that catch a path that is not canonical', () => {
    // The property checks themselves, on paths the normaliser would refuse or rewrite.
    assert.deepEqual(problems('/api/v1'), []);
    for (const p of ['/a/../b', '/a//b', '/a/%2e%2e/b', '/a%2fb', '/a/./b', '/a\\b', '/a/%252e%252e/b', '/a%252fb']) {
      assert.notDeepEqual(problems(p), [], p);
    }
  });
});
