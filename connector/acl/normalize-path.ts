// Canonical form of the untrusted parts of a request target: the path (normalizePath) and the authority
// (normalizeAuthority). Access control decides on this form and the backend receives exactly it, so the
// only ambiguity left is what a backend does to it afterwards; whatever a real backend could turn into a
// different path (traversal, separators, stripped suffixes, compatibility mappings) is refused here.
// Every choice is explained in docs/access-control.md.
import { isIPv6 } from 'node:net';

export type NormalizeResult = { ok: true; path: string } | { ok: false; reason: string };
export type AuthorityResult = { ok: true; host: string; port: number } | { ok: false; reason: string };

// Character classes of the raw path, indexed by char code (0x00-0x7F).
const RAW_OK = 1; // RFC 3986 pchar outside '%' and '/': unreserved, sub-delims, ':' and '@'
const UNRESERVED = 2; // ALPHA DIGIT - . _ ~: percent-escapes of these are decoded
const CLASS = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) CLASS[c] = RAW_OK | UNRESERVED;
for (let c = 0x41; c <= 0x5a; c++) CLASS[c] = RAW_OK | UNRESERVED;
for (let c = 0x61; c <= 0x7a; c++) CLASS[c] = RAW_OK | UNRESERVED;
for (const ch of '-._~') CLASS[ch.charCodeAt(0)] = RAW_OK | UNRESERVED;
for (const ch of "!$&'()*+,;=:@") CLASS[ch.charCodeAt(0)] = RAW_OK;

const HEX = '0123456789ABCDEF';
const SLASH = 0x2f;
const PERCENT = 0x25;

const RAW_REASONS: Record<string, string> = {
  '\\': 'contains a backslash, which some backends treat as a path separator',
  '#': 'contains "#", which some backends treat as the start of a fragment',
  '?': 'contains "?": pass the path without its query',
};

/**
 * Canonical form of an origin-form path (the part before '?'), or why it cannot be decided safely.
 * An already canonical path is returned as the same string, so the common case copies nothing.
 */
export function normalizePath(rawPath: string): NormalizeResult {
  const n = rawPath.length;
  if (n === 0 || rawPath.charCodeAt(0) !== SLASH) return fail('does not start with "/"');
  // Fast path: only raw pchars, no escapes, and no segment that starts with '.', ';', ':' or '/'
  // (those are the only places where dot segments, duplicate slashes or emptied names can hide).
  let simple = true;
  for (let i = 0; i < n; i++) {
    const c = rawPath.charCodeAt(i);
    if (c === SLASH) {
      const next = rawPath.charCodeAt(i + 1); // NaN at the end
      if (next === SLASH || next === 0x2e || next === 0x3b || next === 0x3a) simple = false;
    } else if (c >= 128 || (CLASS[c]! & RAW_OK) === 0) {
      if (c !== PERCENT) return fail(rawReason(c));
      simple = false;
    }
  }
  return simple ? { ok: true, path: rawPath } : normalizeSlow(rawPath);
}

function normalizeSlow(rawPath: string): NormalizeResult {
  const decoded = decodeUnreserved(rawPath);
  if (!decoded.ok) return decoded;
  const text = decoded.path;
  // One decode must not produce another escape: a backend or proxy that decodes twice would see a
  // different path than the one decided on (e.g. %252e%252e becomes "..").
  if (/%25(?:[0-9A-Fa-f]{2}|[Uu][0-9A-Fa-f]{4})/.test(text)) return fail('is percent-encoded twice (%25 followed by an escape)');

  const parts = text.split('/');
  const out: string[] = [];
  let trailingSlash = false;
  // parts[0] is the empty string before the leading '/'.
  for (let k = 1; k < parts.length; k++) {
    const seg = parts[k]!;
    const last = k === parts.length - 1;
    if (seg === '' || seg === '.') {
      // Empty segments are collapsed before dot segments are resolved, as nginx and Tomcat do.
      if (last) trailingSlash = true;
      continue;
    }
    if (seg === '..') {
      if (out.length === 0) return fail('climbs above the root with ".."');
      out.pop();
      if (last) trailingSlash = true;
      continue;
    }
    if (segmentName(seg) === '') {
      const shown = seg.length > 40 ? `${seg.slice(0, 40)}...` : seg;
      return fail(`has a segment ("${shown}") that is empty or only dots once path parameters, stream suffixes and trailing dots or spaces are removed`);
    }
    out.push(seg);
  }
  const path = out.length === 0 ? '/' : `/${out.join('/')}${trailingSlash ? '/' : ''}`;
  return { ok: true, path };
}

/**
 * What a lenient backend may reduce a segment to: the part before a path parameter (';', Tomcat, Jetty,
 * Spring) or an NTFS stream suffix (':'), raw or encoded, without trailing dots and spaces (Windows).
 */
export function segmentName(seg: string): string {
  return seg.slice(0, segmentNameEnd(seg, 0, seg.length));
}

/** segmentName() of s[start, end) as an end index, without allocating. */
export function segmentNameEnd(s: string, start: number, end: number): number {
  let stop = end;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x3b || c === 0x3a) { stop = i; break; }
    if (c === PERCENT && s.charCodeAt(i + 1) === 0x33) {
      const h = s.charCodeAt(i + 2);
      if (h === 0x42 || h === 0x41) { stop = i; break; } // %3B ';'  %3A ':'
    }
  }
  for (;;) {
    if (stop > start && s.charCodeAt(stop - 1) === 0x2e) stop -= 1;
    else if (stop - start >= 3 && s.startsWith('%20', stop - 3)) stop -= 3;
    else break;
  }
  return stop;
}

/** Validates every character and escape; decodes escapes of unreserved characters, upper-cases the rest. */
function decodeUnreserved(raw: string): NormalizeResult {
  let out = '';
  let from = 0; // start of the raw run not yet copied to out
  const n = raw.length;
  let i = 0;
  let afterAlnum = false; // the previous character is a letter or digit (a combining mark may follow)
  while (i < n) {
    const c = raw.charCodeAt(i);
    if (c !== PERCENT) {
      if (c >= 128 || (CLASS[c]! & RAW_OK) === 0) { if (c !== SLASH) return fail(rawReason(c)); }
      afterAlnum = isAsciiAlnum(c);
      i += 1;
      continue;
    }
    out += raw.slice(from, i);
    const b = hexByte(raw, i);
    if (b < 0) return fail('has a malformed percent escape (expected % and two hex digits)');
    if (b < 0x80) {
      if (b === 0) return fail('contains an encoded NUL (%00)');
      if (b < 0x20 || b === 0x7f) return fail('contains an encoded control character');
      if (b === SLASH) return fail('contains an encoded slash (%2F)');
      if (b === 0x5c) return fail('contains an encoded backslash (%5C)');
      out += (CLASS[b]! & UNRESERVED) !== 0 ? String.fromCharCode(b) : escape(b);
      afterAlnum = isAsciiAlnum(b);
      i += 3;
    } else {
      const seq = decodeUtf8(raw, i, b, afterAlnum);
      if (typeof seq === 'string') return fail(seq);
      out += seq.escaped;
      afterAlnum = true;
      i = seq.end;
    }
    from = i;
  }
  return { ok: true, path: from === 0 ? raw : out + raw.slice(from) };
}

/** Decodes one UTF-8 sequence of percent-escapes starting at raw[i] (lead byte b), strictly. */
function decodeUtf8(raw: string, i: number, b: number, afterAlnum: boolean): { escaped: string; end: number } | string {
  const invalid = 'has percent-encoded bytes that are not valid UTF-8';
  let len: number;
  let cp: number;
  let lo = 0x80;
  let hi = 0xbf;
  // Ranges from RFC 3629 section 4: they exclude overlong forms (%C0%AE), surrogates and > U+10FFFF.
  if (b >= 0xc2 && b <= 0xdf) { len = 2; cp = b & 0x1f; }
  else if (b >= 0xe0 && b <= 0xef) { len = 3; cp = b & 0x0f; if (b === 0xe0) lo = 0xa0; if (b === 0xed) hi = 0x9f; }
  else if (b >= 0xf0 && b <= 0xf4) { len = 4; cp = b & 0x07; if (b === 0xf0) lo = 0x90; if (b === 0xf4) hi = 0x8f; }
  else return invalid;
  let escaped = escape(b);
  let j = i + 3;
  for (let k = 1; k < len; k++, j += 3) {
    if (raw.charCodeAt(j) !== PERCENT) return invalid;
    const cb = hexByte(raw, j);
    if (cb < 0) return 'has a malformed percent escape (expected % and two hex digits)';
    if (cb < lo || cb > hi) return invalid;
    lo = 0x80;
    hi = 0xbf;
    cp = (cp << 6) | (cb & 0x3f);
    escaped += escape(cb);
  }
  const why = unsafeCodePoint(cp, afterAlnum);
  return why ? `contains ${codePointName(cp)}, ${why}` : { escaped, end: j };
}

const LETTER_MARK_DIGIT = /^[\p{L}\p{M}\p{N}]$/u;
const IGNORABLE = /\p{Default_Ignorable_Code_Point}/u;
const MARK = /^\p{M}$/u;

/**
 * Non-ASCII characters are kept (percent-encoded) only when no backend can read them as structure:
 * letters, marks and digits that are not ignorable and whose compatibility form (NFKC/NFKD, which some
 * frameworks and Windows best-fit mappings apply) holds no ASCII punctuation, space or control.
 * That refuses fullwidth and other look-alike dots and slashes (U+FF0E, U+2024, U+FF0F, U+2215, ...).
 */
function unsafeCodePoint(cp: number, afterAlnum: boolean): string {
  const ch = String.fromCodePoint(cp);
  if (!LETTER_MARK_DIGIT.test(ch)) return 'which is not a letter, mark or digit';
  // A mark on '.', '/' or nothing (e.g. "..%CC%81") only hides structure from backends that strip marks.
  if (!afterAlnum && MARK.test(ch)) return 'a combining mark that does not follow a letter or digit';
  if (IGNORABLE.test(ch)) return 'which some backends ignore';
  if (hasAsciiNonAlnum(ch.normalize('NFKD')) || hasAsciiNonAlnum(ch.normalize('NFKC'))) return 'whose compatibility form holds ASCII punctuation';
  return '';
}

/** Whether s holds an ASCII character other than a letter or digit. */
function hasAsciiNonAlnum(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80 && !isAsciiAlnum(c)) return true;
  }
  return false;
}

function isAsciiAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function codePointName(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

function hexByte(s: string, i: number): number {
  const h = hexDigit(s.charCodeAt(i + 1));
  const l = hexDigit(s.charCodeAt(i + 2));
  return h < 0 || l < 0 ? -1 : (h << 4) | l;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function escape(b: number): string {
  return `%${HEX[b >> 4]!}${HEX[b & 15]!}`;
}

function rawReason(c: number): string {
  if (c === 0) return 'contains NUL';
  if (c < 0x21 || c === 0x7f) return 'contains a space or control character (send it percent-encoded)';
  if (c >= 128) return 'contains a raw non-ASCII character (send it percent-encoded as UTF-8)';
  const ch = String.fromCharCode(c);
  return RAW_REASONS[ch] ?? `contains "${ch}", which is not allowed in a path (send it percent-encoded)`;
}

function fail(reason: string): NormalizeResult & { ok: false } {
  return { ok: false, reason: `path ${reason}` };
}

// ---------------------------------------------------------------------------------------------------
// Authority: host[:port] as named by the cloud app (absolute-URI authority or CONNECT target).

const MAX_HOST = 253;

/**
 * Canonical host (lower case, one trailing dot removed, IPv6 without brackets and compressed) and port.
 * defaultPort is used when the authority names no port; without it a port is required.
 */
export function normalizeAuthority(authority: string, defaultPort?: number): AuthorityResult {
  if (authority.length === 0) return failAuthority('is empty');
  if (authority.length > MAX_HOST + 8) return failAuthority('is too long');
  if (authority.includes('@')) return failAuthority('contains userinfo ("@"), which is not allowed');
  let host: string;
  let portText: string | undefined;
  if (authority.charCodeAt(0) === 0x5b) {
    const close = authority.indexOf(']');
    if (close < 0) return failAuthority('has an unterminated IPv6 literal');
    const rest = authority.slice(close + 1);
    if (rest !== '' && rest.charCodeAt(0) !== 0x3a) return failAuthority('has characters after the IPv6 literal');
    if (rest !== '') portText = rest.slice(1);
    const v6 = authority.slice(1, close);
    if (!/^[0-9A-Fa-f:.]+$/.test(v6) || !isIPv6(v6)) return failAuthority('has an invalid IPv6 literal');
    // Compressed canonical form (RFC 5952) so that [0:0::1] and [::1] name the same mapping.
    host = new URL(`http://[${v6}]/`).hostname.slice(1, -1);
  } else {
    const colon = authority.indexOf(':');
    if (colon >= 0) {
      if (authority.indexOf(':', colon + 1) >= 0) return failAuthority('has more than one ":" (bracket IPv6 addresses)');
      portText = authority.slice(colon + 1);
    }
    host = colon >= 0 ? authority.slice(0, colon) : authority;
    if (host.endsWith('.')) host = host.slice(0, -1);
    if (host === '') return failAuthority('has an empty host');
    const check = checkHostName(host);
    if (check < 0 || host.length > MAX_HOST) return failAuthority('has a host with characters other than letters, digits, ".", "_" and -, or an empty label');
    if (check > 0) host = host.toLowerCase();
  }
  let port: number;
  if (portText === undefined) {
    if (defaultPort === undefined) return failAuthority('has no port');
    port = defaultPort;
  } else {
    port = parsePort(portText);
    if (port < 0) return failAuthority('has an invalid port (expected 1-65535 without leading zeros)');
    if (port > 65535) return failAuthority('has a port above 65535');
  }
  return { ok: true, host, port };
}

/** -1 if the name has a character other than [A-Za-z0-9._-] or an empty label, 1 if it has upper case, else 0. */
function checkHostName(host: string): number {
  let upper = 0;
  let labelStart = true;
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c === 0x2e) {
      if (labelStart) return -1;
      labelStart = true;
      continue;
    }
    labelStart = false;
    if (c >= 0x41 && c <= 0x5a) upper = 1;
    else if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f)) return -1;
  }
  return labelStart ? -1 : upper;
}

/** 1-5 digits without a leading zero, else -1 (the caller checks the upper bound). */
function parsePort(text: string): number {
  if (text.length === 0 || text.length > 5 || text.charCodeAt(0) === 0x30) return -1;
  let port = 0;
  for (let i = 0; i < text.length; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    port = port * 10 + d;
  }
  return port;
}

function failAuthority(reason: string): AuthorityResult & { ok: false } {
  return { ok: false, reason: `authority ${reason}` };
}
