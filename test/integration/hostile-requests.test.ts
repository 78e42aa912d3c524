// Hostile requests, byte for byte over raw TCP, against a real relay -> tunnel -> connector -> backend.
//
// Each row of CASES is one request as an attacker would write it. For each we check three things:
//   1. the HTTP status the client got (and the x-tunnel-deny-reason header on refusals),
//   2. what the backend received: nothing, or exactly one request with exactly the expected request line
//      (the normalised path the ACL decided on), plus invariants on every request that reaches it
//      (X-Forwarded-For is the relay's view of the peer only, no tw-* metadata, no proxy credentials),
//   3. the audit event the call wrote (which emitter, decision, deny_reason, path, status).
//
// The backend is a raw recorder (test/helpers/recording-backend.ts), so whatever a smuggling trick gets
// through shows up as a request line that was not expected, or as a second request.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent, DenyReason } from '../../common/audit/event.js';
import { headerValue, headerValues, startRecordingBackend, type RecordedRequest, type RecordingBackend } from '../helpers/recording-backend.js';
import { waitFor } from '../helpers/processes.js';
import { startTunnelStack, type TunnelStack } from '../helpers/tunnel-stack.js';

const TOKEN_ACME = 'tw_test_acme_portal_hostile_0123456789';
const TOKEN_OTHER = 'tw_test_other_vault_hostile_0123456789';
const RELAY = 'relay-1';
const CONNECTOR = 'connector-1';
/** proxy.head_timeout_ms of this test's relay: the stalled-head case waits this long (checked every half). */
const HEAD_TIMEOUT_MS = 2000;

// ---------------------------------------------------------------------------------------------------
// Building raw requests. Strings are written as latin1, so '\u00e9' is the single byte 0xE9 on the wire.

const APP = 'http://app.virtual:8000';
const SECRET = 'http://secret.virtual:8000';
const AUTH = `Proxy-Authorization: Bearer ${TOKEN_ACME}\r\n`;
const AUTH_OTHER = `Proxy-Authorization: Bearer ${TOKEN_OTHER}\r\n`;

/** A request with acme's token, a Host header, `extra` header lines (each ending in CRLF) and a body. */
function req(method: string, target: string, extra = '', body = '', auth = AUTH): string {
  return `${method} ${target} HTTP/1.1\r\nHost: app.virtual:8000\r\n${auth}${extra}\r\n${body}`;
}
const get = (target: string, extra = ''): string => req('GET', target, extra);
const post = (target: string, extra: string, body: string): string => req('POST', target, extra, body);
/** A complete second request, to hide in a body. */
const HIDDEN = 'GET /api/secret HTTP/1.1\r\nHost: app.virtual:8000\r\n\r\n';
/** The same request with bare LF line endings everywhere. */
const bareLf = (raw: string): string => raw.replaceAll('\r\n', '\n');

// ---------------------------------------------------------------------------------------------------
// The table.

interface Expect {
  /** HTTP status the client gets. */
  status: number;
  /** null: no request reaches the backend. Else the one request line it must receive, exactly. */
  backend: null | string;
  /** Which end writes the call's audit event. */
  emitter: 'relay' | 'connector';
  /** '' for an allowed call. */
  deny_reason: DenyReason | '';
  /** The audit event's path: the normalised path decided on, '' when none could be parsed. */
  path?: string;
  /** Further audit fields that must match (subaccount, virtual_host, method, ...). */
  audit?: Partial<AuditEvent>;
  /** Header lines the backend must receive, exactly as written on the wire. */
  backendHeaders?: string[];
  /** The body the backend must receive. */
  backendBody?: string;
  /**
   * The relay refuses the request only after Node's parser has handed it over and it was already streamed
   * into the tunnel (framing errors found after the head), so the connector may write an event of its own.
   */
  connectorMaySeeIt?: true;
}

interface Case {
  name: string;
  /** Written to the socket as is; an array is written part by part, 300 ms apart. */
  raw: string | string[];
  expect: Expect;
}

const relay400 = (path = ''): Expect => ({ status: 400, backend: null, emitter: 'relay', deny_reason: 'malformed_request', path });
const conn400 = (path = ''): Expect => ({ status: 400, backend: null, emitter: 'connector', deny_reason: 'malformed_request', path });
const conn403 = (deny_reason: DenyReason, path: string, audit?: Partial<AuditEvent>): Expect => ({ status: 403, backend: null, emitter: 'connector', deny_reason, path, ...(audit ? { audit } : {}) });
const allowed = (line: string, path: string, audit?: Partial<AuditEvent>): Expect => ({ status: 200, backend: line, emitter: 'connector', deny_reason: '', path, ...(audit ? { audit } : {}) });
/** Refused by the relay after the head went into the tunnel (see Expect.connectorMaySeeIt). */
// The head parsed and the call was already on its way when the body turned out malformed: the relay
// abandons the stream and writes the one refusal event, knowing who sent it and where it was going.
const relay400Late = (): Expect => ({ ...relay400(), path: '/public', audit: { method: 'POST', subaccount: 'acme', cloud_app: 'portal' }, connectorMaySeeIt: true });

const CASES: Case[] = [
  // --- controls: the stack works, so every denial below is a decision, not a broken setup
  { name: 'a plain allowed GET with an encoded space', raw: get(`${APP}/public/a%20b`), expect: allowed('GET /public/a%20b HTTP/1.1', '/public/a%20b', { rule_id: 'public', subaccount: 'acme', cloud_app: 'portal' }) },
  { name: "subaccount other's own token on its own mapping", raw: req('GET', `${SECRET}/x`, '', '', AUTH_OTHER), expect: allowed('GET /x HTTP/1.1', '/x', { subaccount: 'other', cloud_app: 'vault', virtual_host: 'secret.virtual' }) },
  { name: 'a request without Proxy-Authorization', raw: 'GET http://app.virtual:8000/public HTTP/1.1\r\nHost: app.virtual:8000\r\n\r\n', expect: { status: 407, backend: null, emitter: 'relay', deny_reason: 'unauthenticated', path: '/public', audit: { subaccount: '' } } },

  // --- dot-segment traversal, in every encoding
  { name: 'raw ../ out of /public into /api/secret', raw: get(`${APP}/public/../api/secret`), expect: conn403('path_not_allowed', '/api/secret') },
  { name: 'encoded %2e%2e/ out of /public', raw: get(`${APP}/public/%2e%2e/api/secret`), expect: conn403('path_not_allowed', '/api/secret') },
  { name: 'mixed-case encoded ../ with an encoded slash (%2E%2e%2f)', raw: get(`${APP}/public/%2E%2e%2fapi/status`), expect: conn400() },
  { name: 'half-encoded .%2e/ landing on an allowed exact resource', raw: get(`${APP}/public/.%2e/api/status`), expect: allowed('GET /api/status HTTP/1.1', '/api/status', { rule_id: 'status' }) },
  { name: 'half-encoded %2e./ landing on a suspended resource', raw: get(`${APP}/public/%2e./old/x`), expect: conn403('resource_suspended', '/old/x') },
  { name: 'a .. that stays inside /public', raw: get(`${APP}/public/x/.%2e/a`), expect: allowed('GET /public/a HTTP/1.1', '/public/a') },
  { name: '.. climbing above the root', raw: get(`${APP}/public/../../etc/passwd`), expect: conn400() },
  { name: 'double-encoded %252e%252e (refused: one decode must not yield another escape)', raw: get(`${APP}/public/%252e%252e/api/status`), expect: conn400() },
  { name: 'Tomcat-style ..;/', raw: get(`${APP}/public/..;/api/status`), expect: conn400() },
  { name: 'Tomcat-style ..%3b/ with an encoded semicolon', raw: get(`${APP}/public/..%3b/old`), expect: conn400() },
  { name: 'overlong UTF-8 dots %c0%ae%c0%ae', raw: get(`${APP}/public/%c0%ae%c0%ae/api/status`), expect: conn400() },
  { name: 'IIS %u002e%u002e', raw: get(`${APP}/public/%u002e%u002e/api/status`), expect: conn400() },
  { name: 'fullwidth dots %ef%bc%8e%ef%bc%8e', raw: get(`${APP}/public/%ef%bc%8e%ef%bc%8e/api/status`), expect: conn400() },
  { name: 'one-dot leaders %e2%80%a4%e2%80%a4', raw: get(`${APP}/public/%e2%80%a4%e2%80%a4/api/status`), expect: conn400() },
  { name: 'three dots', raw: get(`${APP}/public/.../api`), expect: conn400() },
  { name: '.. with a trailing encoded space (IIS trims it)', raw: get(`${APP}/public/..%20/api/status`), expect: conn400() },
  { name: 'an NTFS stream suffix segment', raw: get(`${APP}/public/::$DATA`), expect: conn400() },
  { name: 'a traversal from /files/ to /public, decided on the result', raw: get(`${APP}/files/%2e%2e/public`), expect: allowed('GET /public HTTP/1.1', '/public', { rule_id: 'public' }) },

  // --- escaping the prefix boundary
  { name: '/publicity is not under /public', raw: get(`${APP}/publicity`), expect: conn403('path_not_allowed', '/publicity') },
  { name: '/public./a is not under /public', raw: get(`${APP}/public./a`), expect: conn403('path_not_allowed', '/public./a') },
  { name: '/files without the slash of the /files/ prefix', raw: get(`${APP}/files`), expect: conn403('path_not_allowed', '/files') },
  { name: 'the exact /api/status with a trailing slash', raw: get(`${APP}/api/status/`), expect: conn403('path_not_allowed', '/api/status/') },
  { name: 'the exact /api/status with a path parameter', raw: get(`${APP}/api/status;jsessionid=1`), expect: conn403('path_not_allowed', '/api/status;jsessionid=1') },
  { name: '/api/status/.. climbing back to /api/', raw: get(`${APP}/api/status/..`), expect: conn403('path_not_allowed', '/api/') },
  { name: 'upper-case /PUBLIC (matching is case-sensitive)', raw: get(`${APP}/PUBLIC/a`), expect: conn403('path_not_allowed', '/PUBLIC/a') },
  { name: 'the suspended /old prefix', raw: get(`${APP}/old/x`), expect: conn403('resource_suspended', '/old/x') },
  { name: 'upper-case /OLD next to the suspended /old', raw: get(`${APP}/OLD/x`), expect: conn403('path_not_allowed', '/OLD/x') },
  { name: 'encoded unreserved letters %70ublic, decoded before deciding', raw: get(`${APP}/%70ublic/a`), expect: allowed('GET /public/a HTTP/1.1', '/public/a') },
  { name: 'encoded letters in the exact /api/%73tatus', raw: get(`${APP}/api/%73tatus`), expect: allowed('GET /api/status HTTP/1.1', '/api/status') },

  // --- escaping a suspended carve-out below an allowed prefix (docs/access-control.md, ambiguity guard)
  { name: 'the suspended carve-out /public/internal itself', raw: get(`${APP}/public/internal/x`), expect: conn403('resource_suspended', '/public/internal/x') },
  { name: 'a traversal into the carve-out /public/x/../internal', raw: get(`${APP}/public/x/../internal/y`), expect: conn403('resource_suspended', '/public/internal/y') },
  { name: 'an encoded letter in the carve-out /public/%69nternal', raw: get(`${APP}/public/%69nternal/y`), expect: conn403('resource_suspended', '/public/internal/y') },
  { name: 'the carve-out in upper case /public/INTERNAL', raw: get(`${APP}/public/INTERNAL/x`), expect: conn400('/public/INTERNAL/x') },
  { name: 'the carve-out with a path parameter /public/internal;x', raw: get(`${APP}/public/internal;jsessionid=1/x`), expect: conn400('/public/internal;jsessionid=1/x') },
  { name: 'the carve-out with a trailing dot /public/internal.', raw: get(`${APP}/public/internal./x`), expect: conn400('/public/internal./x') },
  { name: 'the carve-out with a trailing encoded space', raw: get(`${APP}/public/internal%20/x`), expect: conn400('/public/internal%20/x') },

  // --- backslashes
  { name: 'raw backslashes \\..\\', raw: get(`${APP}/public\\..\\api\\status`), expect: conn400() },
  { name: 'encoded backslashes %5c..%5c', raw: get(`${APP}/public%5c..%5capi`), expect: conn400() },
  { name: 'an upper-case encoded backslash %5C', raw: get(`${APP}/public/a%5Cb`), expect: conn400() },

  // --- NUL
  { name: 'a raw NUL in the path', raw: get(`${APP}/public/a\u0000.txt`), expect: { ...relay400(), audit: { method: 'GET' } } },
  { name: 'an encoded NUL %00 in the path', raw: get(`${APP}/public/a%00.txt`), expect: conn400() },

  // --- invalid and valid UTF-8
  { name: 'the byte %ff', raw: get(`${APP}/public/%ff`), expect: conn400() },
  { name: 'a truncated three-byte sequence %e6%97', raw: get(`${APP}/public/%e6%97`), expect: conn400() },
  { name: 'a lone continuation byte %80', raw: get(`${APP}/public/%80`), expect: conn400() },
  { name: 'an encoded UTF-16 surrogate %ed%a0%80', raw: get(`${APP}/public/%ed%a0%80`), expect: conn400() },
  { name: 'valid UTF-8 in lower-case hex, forwarded upper-cased', raw: get(`${APP}/public/caf%c3%a9`), expect: allowed('GET /public/caf%C3%A9 HTTP/1.1', '/public/caf%C3%A9') },

  // --- duplicate slashes
  { name: 'duplicate slashes //public//a', raw: get(`${APP}//public//a`), expect: allowed('GET /public/a HTTP/1.1', '/public/a') },
  { name: 'runs of slashes /public///a//', raw: get(`${APP}/public///a//`), expect: allowed('GET /public/a/ HTTP/1.1', '/public/a/') },

  // --- the authority: case, dots, ports, userinfo
  { name: 'an upper-case host APP.VIRTUAL', raw: get('http://APP.VIRTUAL:8000/public'), expect: allowed('GET /public HTTP/1.1', '/public', { virtual_host: 'app.virtual', virtual_port: 8000 }) },
  { name: 'a host with a trailing dot', raw: get('http://app.virtual.:8000/public'), expect: allowed('GET /public HTTP/1.1', '/public', { virtual_host: 'app.virtual' }) },
  { name: 'a host with two trailing dots', raw: get('http://app.virtual..:8000/public'), expect: conn400('/public') },
  { name: 'a port with a leading zero (08000)', raw: get('http://app.virtual:08000/public'), expect: conn400('/public') },
  { name: 'a port above 65535', raw: get('http://app.virtual:80000/public'), expect: conn400('/public') },
  { name: 'a missing port (defaults to 80, which is not mapped)', raw: get('http://app.virtual/public'), expect: conn403('no_mapping', '/public', { virtual_host: 'app.virtual', virtual_port: 80 }) },
  { name: 'two ports', raw: get('http://app.virtual:8000:8000/public'), expect: conn400('/public') },
  { name: 'userinfo in the authority', raw: get('http://user@app.virtual:8000/public'), expect: conn400('/public') },
  { name: 'userinfo naming the other subaccount host', raw: get('http://secret.virtual:8000@app.virtual:8000/public'), expect: conn400('/public') },
  { name: 'a percent-encoded host', raw: get('http://app%2evirtual:8000/public'), expect: conn400('/public') },
  { name: 'a backslash in the authority', raw: get('http://app.virtual:8000\\@secret.virtual:8000/public'), expect: relay400() },
  { name: 'an IPv6 literal host', raw: get('http://[::1]:8000/public'), expect: conn403('no_mapping', '/public', { virtual_host: '::1' }) },
  { name: 'a Host header naming secret.virtual (the absolute-form target wins)', raw: `GET ${APP}/public/h HTTP/1.1\r\nHost: secret.virtual:8000\r\n${AUTH}\r\n`, expect: { ...allowed('GET /public/h HTTP/1.1', '/public/h', { virtual_host: 'app.virtual' }), backendHeaders: ['host: app.virtual:8000'] } },

  // --- targets the tunnel's HTTP/2 :authority cannot carry: refused by the relay, not reset in the tunnel
  { name: 'CONNECT with a path (host:port/x)', raw: req('CONNECT', 'app.virtual:8000/x'), expect: relay400() },
  { name: 'CONNECT with a query (host:port?a=1)', raw: req('CONNECT', 'app.virtual:8000?a=1'), expect: relay400() },
  { name: 'CONNECT with an absolute URL', raw: req('CONNECT', `${APP}/public`), expect: relay400() },
  { name: 'an absolute-form target without a host (http:///public)', raw: get('http:///public'), expect: relay400('/public') },

  // --- headers the relay reads, sent twice
  { name: 'two X-Tunnel-Principal headers', raw: get(`${APP}/public`, 'X-Tunnel-Principal: alice\r\nX-Tunnel-Principal: mallory\r\n'), expect: relay400('/public') },
  { name: 'two Proxy-Authorization headers', raw: get(`${APP}/public`, `Proxy-Authorization: Bearer ${TOKEN_OTHER}\r\n`), expect: relay400('/public') },

  // --- a request head that never ends (slow headers): 408 with its code and an event
  { name: 'a head without its final empty line', raw: `GET ${APP}/public/slow HTTP/1.1\r\nHost: app.virtual:8000\r\n${AUTH}`, expect: { ...relay400(), status: 408 } },

  // --- fragments
  { name: 'a raw fragment #x', raw: get(`${APP}/public/a#x`), expect: relay400() },
  { name: 'an encoded # (%23), kept encoded', raw: get(`${APP}/public/a%23x`), expect: allowed('GET /public/a%23x HTTP/1.1', '/public/a%23x') },
  { name: 'a query with dots and slashes, passed through as is', raw: get(`${APP}/public/a?x=%2e%2e/../&y=1`), expect: allowed('GET /public/a?x=%2e%2e/../&y=1 HTTP/1.1', '/public/a', { query: 'x=%2e%2e/../&y=1' }) },

  // --- request smuggling: framing the relay must refuse before anything reaches the backend
  { name: 'CL.TE: Content-Length then Transfer-Encoding', raw: post(`${APP}/public`, 'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\nGET /api/secret HTTP/1.1\r\n\r\n'), expect: { ...relay400(), audit: { method: 'POST' } } },
  { name: 'TE.CL: Transfer-Encoding then Content-Length', raw: post(`${APP}/public`, 'Transfer-Encoding: chunked\r\nContent-Length: 4\r\n', '0\r\n\r\n'), expect: { ...relay400(), audit: { method: 'POST' } } },
  { name: 'duplicate Content-Length with different values', raw: post(`${APP}/public`, 'Content-Length: 4\r\nContent-Length: 5\r\n', 'abcde'), expect: relay400() },
  { name: 'duplicate Content-Length with equal values', raw: post(`${APP}/public`, 'Content-Length: 5\r\nContent-Length: 5\r\n', 'abcde'), expect: relay400() },
  { name: 'a Content-Length list "5, 5"', raw: post(`${APP}/public`, 'Content-Length: 5, 5\r\n', 'abcde'), expect: relay400() },
  { name: 'a negative Content-Length', raw: post(`${APP}/public`, 'Content-Length: -1\r\n', ''), expect: relay400() },
  { name: 'Transfer-Encoding: chunked, identity', raw: post(`${APP}/public`, 'Transfer-Encoding: chunked, identity\r\n', '0\r\n\r\n'), expect: relay400() },
  { name: 'Transfer-Encoding twice', raw: post(`${APP}/public`, 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'), expect: relay400() },
  { name: 'a space before the colon (Transfer-Encoding : chunked)', raw: post(`${APP}/public`, 'Transfer-Encoding : chunked\r\n', '0\r\n\r\n'), expect: relay400() },
  { name: 'Transfer-Encoding folded onto an obs-fold line', raw: post(`${APP}/public`, 'Transfer-Encoding:\r\n chunked\r\n', '0\r\n\r\n'), expect: relay400() },
  { name: 'bare LF line endings throughout', raw: bareLf(get(`${APP}/public`)), expect: relay400() },
  { name: 'a bare LF after one header', raw: get(`${APP}/public`, 'X-A: b\nX-B: c\r\n'), expect: relay400() },
  { name: 'a bare CR inside a header value', raw: get(`${APP}/public`, 'X-A: b\rc\r\n'), expect: relay400() },
  // Framing errors Node's parser reports only after it has handed the head over, when the relay has already
  // streamed the request into the tunnel. The safe outcome is still that the backend never gets a complete
  // request. At the time of writing these fail (the last one every time, the others intermittently): the
  // relay cancels its tunnel stream with Http2Stream.close(NGHTTP2_CANCEL) (connector/relay/forward.ts),
  // which sends END_STREAM before RST_STREAM, and the connector's stream.pipe(req)
  // (connector/agent/forward-http.ts) then completes the backend request with the truncated body.
  { name: 'Transfer-Encoding: identity (framing the relay rejects only after the head)', raw: post(`${APP}/public`, 'Transfer-Encoding: identity\r\n', 'hello'), expect: relay400Late() },
  { name: 'Transfer-Encoding: xchunked', raw: post(`${APP}/public`, 'Transfer-Encoding: xchunked\r\n', '0\r\n\r\n'), expect: relay400Late() },
  { name: 'a chunk size that is not hex', raw: post(`${APP}/public`, 'Transfer-Encoding: chunked\r\n', 'zz\r\nhello\r\n0\r\n\r\n'), expect: relay400Late() },
  { name: 'a chunk size that overflows 64 bits', raw: post(`${APP}/public`, 'Transfer-Encoding: chunked\r\n', 'fffffffffffffffff1\r\nhello\r\n0\r\n\r\n'), expect: relay400Late() },
  { name: 'a valid chunk, then (later) a chunk size that is not hex', raw: [post(`${APP}/public`, 'Transfer-Encoding: chunked\r\n', '5\r\nhello\r\n'), 'zz\r\nGET /api/secret HTTP/1.1\r\n\r\n'], expect: relay400Late() },
  { name: 'a chunk extension (legal), re-chunked for the backend', raw: post(`${APP}/public`, 'Transfer-Encoding: chunked\r\n', '5;a=b\r\nhello\r\n0\r\n\r\n'), expect: { ...allowed('POST /public HTTP/1.1', '/public', { method: 'POST', bytes_in: 5 }), backendBody: 'hello' } },
  { name: 'a second request hidden in a GET body stays body', raw: get(`${APP}/public`, `Content-Length: ${HIDDEN.length}\r\n`) + HIDDEN, expect: { ...allowed('GET /public HTTP/1.1', '/public'), backendHeaders: [`content-length: ${HIDDEN.length}`], backendBody: HIDDEN } },

  // --- obsolete line folding and invalid header bytes
  { name: 'obs-fold in an ordinary header', raw: get(`${APP}/public`, 'X-Foo: a\r\n b\r\n'), expect: relay400() },
  { name: 'obs-fold with a tab', raw: get(`${APP}/public`, 'X-Foo: a\r\n\tb\r\n'), expect: relay400() },
  { name: 'a control character (0x01) in a header value', raw: get(`${APP}/public`, 'X-Foo: a\u0001b\r\n'), expect: relay400() },
  { name: 'DEL in a header value', raw: get(`${APP}/public`, 'X-Foo: a\u007fb\r\n'), expect: relay400() },
  { name: 'NUL in a header value', raw: get(`${APP}/public`, 'X-Foo: a\u0000b\r\n'), expect: relay400() },
  { name: 'a high byte in a header name', raw: get(`${APP}/public`, 'X-F\u00e9o: a\r\n'), expect: relay400() },
  { name: 'DEL in a header name', raw: get(`${APP}/public`, 'X-F\u007fo: a\r\n'), expect: relay400() },
  { name: 'a space inside a header name', raw: get(`${APP}/public`, 'X Foo: a\r\n'), expect: relay400() },
  { name: 'an empty header name', raw: get(`${APP}/public`, ': a\r\n'), expect: relay400() },
  { name: 'a high byte in a header value (obs-text), forwarded byte for byte', raw: get(`${APP}/public/o`, 'X-Foo: caf\u00e9\r\n'), expect: { ...allowed('GET /public/o HTTP/1.1', '/public/o'), backendHeaders: ['x-foo: caf\u00e9'] } },

  // --- oversized heads (proxy.max_header_bytes, 16 KiB by default)
  { name: 'one header of 17 000 bytes', raw: get(`${APP}/public`, `X-Big: ${'a'.repeat(17_000)}\r\n`), expect: { status: 431, backend: null, emitter: 'relay', deny_reason: 'malformed_request', path: '' } },
  { name: 'many small headers adding up to 20 KB', raw: get(`${APP}/public`, Array.from({ length: 400 }, (_, i) => `X-H${i}: ${'b'.repeat(40)}\r\n`).join('')), expect: { status: 431, backend: null, emitter: 'relay', deny_reason: 'malformed_request', path: '' } },
  { name: 'a request line of 20 000 bytes', raw: get(`${APP}/public/${'a'.repeat(20_000)}`), expect: { status: 431, backend: null, emitter: 'relay', deny_reason: 'malformed_request', path: '' } },

  // --- methods
  { name: 'an unknown method FOOBAR', raw: req('FOOBAR', `${APP}/public`), expect: { ...relay400(), audit: { method: 'FOOBAR' } } },
  { name: 'a lower-case method', raw: req('get', `${APP}/public`), expect: relay400() },
  { name: 'a 40-character method', raw: req('A'.repeat(40), `${APP}/public`), expect: relay400() },
  { name: 'DELETE on a GET/POST resource', raw: req('DELETE', `${APP}/public/a`), expect: conn403('method_not_allowed', '/public/a', { method: 'DELETE' }) },
  { name: 'TRACE', raw: req('TRACE', `${APP}/public/a`), expect: conn403('method_not_allowed', '/public/a', { method: 'TRACE' }) },
  { name: 'HEAD where only GET and POST are listed (no implicit HEAD)', raw: req('HEAD', `${APP}/public/a`), expect: conn403('method_not_allowed', '/public/a', { method: 'HEAD' }) },
  { name: 'PURGE', raw: req('PURGE', `${APP}/public/a`), expect: conn403('method_not_allowed', '/public/a', { method: 'PURGE' }) },
  { name: 'POST on the GET-only exact /api/status', raw: post(`${APP}/api/status`, 'Content-Length: 0\r\n', ''), expect: conn403('method_not_allowed', '/api/status', { method: 'POST' }) },
  { name: 'CONNECT to an http mapping', raw: req('CONNECT', 'app.virtual:8000'), expect: conn403('protocol_not_allowed', '', { protocol: 'http', virtual_host: 'app.virtual', method: '' }) },
  { name: 'an h2c upgrade (Upgrade: h2c)', raw: get(`${APP}/public`, 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n'), expect: conn403('protocol_not_allowed', '/public') },
  { name: 'a websocket upgrade on a resource without websocket', raw: get(`${APP}/public/ws`, 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'), expect: conn403('protocol_not_allowed', '/public/ws') },

  // --- the form of the request target
  { name: 'origin-form instead of absolute-form', raw: get('/public/a'), expect: relay400() },
  { name: 'the asterisk form (OPTIONS *)', raw: req('OPTIONS', '*'), expect: relay400() },
  { name: 'an https:// absolute-form target', raw: get('https://app.virtual:8000/public/a'), expect: relay400() },
  { name: 'an ftp:// absolute-form target', raw: get('ftp://app.virtual:8000/public/a'), expect: relay400() },
  { name: 'a raw non-ASCII byte in the target', raw: get(`${APP}/public/caf\u00e9`), expect: relay400() },
  { name: 'a raw tab in the target', raw: get(`${APP}/public/a\tb`), expect: relay400() },
  { name: 'a raw space in the target', raw: get(`${APP}/public/a b`), expect: relay400() },
  { name: 'HTTP/1.2 as the version', raw: `GET ${APP}/public HTTP/1.2\r\nHost: app.virtual:8000\r\n${AUTH}\r\n`, expect: relay400() },

  // --- subaccount isolation
  { name: "acme's token naming secret.virtual:8000", raw: get(`${SECRET}/`), expect: conn403('no_mapping', '/', { subaccount: 'acme', virtual_host: 'secret.virtual', internal_host: '' }) },
  { name: "acme's token naming SECRET.VIRTUAL. with case and a trailing dot", raw: get('http://SECRET.VIRTUAL.:8000/x'), expect: conn403('no_mapping', '/x', { subaccount: 'acme', virtual_host: 'secret.virtual' }) },
  { name: 'CONNECT from acme to secret.virtual:8000', raw: req('CONNECT', 'secret.virtual:8000'), expect: conn403('no_mapping', '', { subaccount: 'acme', virtual_host: 'secret.virtual' }) },
  { name: 'a forged tw-subaccount: other header does not switch the subaccount', raw: get(`${SECRET}/x`, 'tw-subaccount: other\r\nTW-Cloud-App: vault\r\n'), expect: conn403('no_mapping', '/x', { subaccount: 'acme', cloud_app: 'portal' }) },
  { name: "a forged tw-subaccount: acme on other's token", raw: req('GET', `${APP}/public`, 'tw-subaccount: acme\r\n', '', AUTH_OTHER), expect: conn403('no_mapping', '/public', { subaccount: 'other', cloud_app: 'vault' }) },
  { name: 'an X-Tunnel-Location-Id with no connector', raw: get(`${APP}/public`, 'X-Tunnel-Location-Id: nowhere\r\n'), expect: { status: 503, backend: null, emitter: 'relay', deny_reason: 'no_connector', path: '/public', audit: { subaccount: 'acme', location_id: 'nowhere' } } },
  { name: 'an X-Tunnel-Location-Id with a traversal', raw: get(`${APP}/public`, 'X-Tunnel-Location-Id: ../x\r\n'), expect: relay400('/public') },

  // --- injected tunnel metadata and forwarding headers
  { name: 'forged tw-* metadata is stripped and the audit keeps the real caller', raw: get(`${APP}/public/m`, 'tw-subaccount: other\r\ntw-cloud-app: vault\r\ntw-client-ip: 10.9.9.9\r\ntw-kind: connect\r\ntw-location-id: x\r\n'), expect: allowed('GET /public/m HTTP/1.1', '/public/m', { subaccount: 'acme', cloud_app: 'portal', client_ip: '127.0.0.1', location_id: '' }) },
  { name: 'spoofed X-Forwarded-For, Forwarded and X-Forwarded-Host are replaced', raw: get(`${APP}/public/f`, 'X-Forwarded-For: 10.6.6.6\r\nForwarded: for=1.2.3.4;host=secret.virtual\r\nX-Forwarded-Host: secret.virtual:8000\r\nX-Forwarded-Proto: https\r\n'), expect: { ...allowed('GET /public/f HTTP/1.1', '/public/f'), backendHeaders: ['x-forwarded-host: app.virtual:8000', 'x-forwarded-proto: http'] } },
  { name: 'two X-Forwarded-For headers', raw: get(`${APP}/public/f2`, 'X-Forwarded-For: 10.6.6.6\r\nX-Forwarded-For: 10.7.7.7, 127.0.0.1\r\n'), expect: allowed('GET /public/f2 HTTP/1.1', '/public/f2') },
  { name: 'X-Forwarded-For named as hop-by-hop in Connection', raw: get(`${APP}/public/f3`, 'Connection: keep-alive, X-Forwarded-For\r\nX-Forwarded-For: 10.6.6.6\r\n'), expect: allowed('GET /public/f3 HTTP/1.1', '/public/f3') },
];

// ---------------------------------------------------------------------------------------------------
// Raw client: write, never half-close, read until the response is complete or the server closes.

interface RawResponse {
  status: number;
  head: string;
  headers: Map<string, string>;
  body: string;
  timedOut: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The response in buf once it is complete (or the connection closed); a HEAD response has no body. */
function parseResponse(buf: Buffer, closed: boolean, isHead = false): RawResponse | undefined {
  const text = buf.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return closed ? { status: 0, head: text, headers: new Map(), body: '', timedOut: false } : undefined;
  const headText = text.slice(0, end);
  const [statusLine = '', ...lines] = headText.split('\r\n');
  const headers = new Map<string, string>();
  for (const l of lines) {
    const colon = l.indexOf(':');
    if (colon > 0) headers.set(l.slice(0, colon).trim().toLowerCase(), l.slice(colon + 1).trim());
  }
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const rest = text.slice(end + 4);
  const cl = headers.get('content-length');
  const chunked = /chunked/i.test(headers.get('transfer-encoding') ?? '');
  // No body follows a response to HEAD, whatever its Content-Length says.
  const complete =
    closed ||
    isHead ||
    (cl !== undefined && rest.length >= Number(cl)) ||
    (cl === undefined && chunked && (rest.startsWith('0\r\n\r\n') || rest.includes('\r\n0\r\n\r\n')));
  if (!complete) return undefined;
  return { status, head: headText, headers, body: isHead ? '' : cl === undefined ? rest : rest.slice(0, Number(cl)), timedOut: false };
}

async function exchange(port: number, raw: string | string[], timeoutMs = 10_000): Promise<RawResponse> {
  const parts = Array.isArray(raw) ? raw : [raw];
  const isHead = (parts[0] ?? '').startsWith('HEAD ');
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (r: RawResponse): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ...(parseResponse(buf, true) as RawResponse), timedOut: true }), timeoutMs);
    socket.on('connect', () => {
      void (async () => {
        for (const [i, part] of parts.entries()) {
          if (i > 0) await sleep(300);
          if (done || socket.destroyed) return;
          socket.write(Buffer.from(part, 'latin1'));
        }
      })();
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const r = parseResponse(buf, false, isHead);
      if (r) finish(r);
    });
    socket.on('error', () => {
      // ECONNRESET after a refusal: what was read so far is the answer.
    });
    socket.on('close', () => finish(parseResponse(buf, true, isHead) as RawResponse));
  });
}

// ---------------------------------------------------------------------------------------------------

let backend: RecordingBackend;
let stack: TunnelStack;

const emitterId = (e: 'relay' | 'connector'): string => (e === 'relay' ? RELAY : CONNECTOR);

/** Invariants for every request that reaches the backend, whatever the case. */
function assertBackendInvariants(r: RecordedRequest, event: AuditEvent | undefined): void {
  assert.deepEqual(headerValues(r.headers, 'x-forwarded-for'), ['127.0.0.1'], `X-Forwarded-For must be the relay's view of the peer only: ${JSON.stringify(r.headers)}`);
  assert.equal(headerValues(r.headers, 'forwarded').length, 0, 'a client Forwarded header must not reach the backend');
  assert.equal(headerValues(r.headers, 'proxy-authorization').length, 0, 'the proxy token must not reach the backend');
  const leaked = r.headers.filter((h) => /^(tw-|x-tunnel-)/i.test(h));
  assert.deepEqual(leaked, [], 'tunnel metadata must not reach the backend');
  if (event) assert.equal(headerValue(r.headers, 'host'), `${event.virtual_host}:${event.virtual_port}`);
}

function caseTitle(c: Case): string {
  const e = c.expect;
  const verdict = e.deny_reason ? `is refused ${e.status} ${e.deny_reason} by the ${e.emitter}` : `is allowed (${e.status})`;
  const reaches = e.backend === null ? 'the backend receives nothing' : `the backend receives exactly "${e.backend}"`;
  return `${c.name} ${verdict} and ${reaches}`;
}

describe('hostile requests over raw TCP to the relay proxy port', () => {
  before(async () => {
    backend = await startRecordingBackend();
    const internal = `127.0.0.1:${backend.port}`;
    stack = await startTunnelStack({
      // A short head timeout, so that the stalled-head case is answered within seconds.
      relayExtra: { proxy: { head_timeout_ms: HEAD_TIMEOUT_MS } },
      tokens: [
        { subaccount: 'acme', cloudApp: 'portal', token: TOKEN_ACME },
        { subaccount: 'other', cloudApp: 'vault', token: TOKEN_OTHER },
      ],
      connectors: [
        {
          id: CONNECTOR,
          subaccounts: {
            acme: {
              mappings: [
                {
                  virtual: 'app.virtual:8000',
                  internal,
                  protocol: 'http',
                  resources: [
                    { id: 'public', path: '/public', match: 'prefix', methods: ['GET', 'POST'] },
                    // A carve-out below an allowed prefix: what the ambiguity guard protects.
                    { id: 'internal', path: '/public/internal', match: 'prefix', methods: ['GET'], active: false },
                    { id: 'status', path: '/api/status', match: 'exact', methods: ['GET'] },
                    { id: 'files', path: '/files/', match: 'prefix', methods: ['GET'] },
                    { id: 'old', path: '/old', match: 'prefix', methods: ['GET'], active: false },
                  ],
                },
              ],
            },
            other: {
              mappings: [
                {
                  virtual: 'secret.virtual:8000',
                  internal,
                  protocol: 'http',
                  resources: [{ id: 'secret-all', path: '/', match: 'prefix', methods: [] }],
                },
              ],
            },
          },
        },
      ],
    });
    // The connector logs its registration before the relay has added the session to its routes.
    await waitFor(() => {
      const relay = stack.relay();
      return relay !== undefined && /"msg":"connector registered"/.test(relay.stdout() + relay.stderr());
    }, { timeoutMs: 10_000, message: 'the relay routes the connector' });
  });

  after(async () => {
    await stack?.stop();
    await backend?.stop();
  });

  test('the table has at least 60 cases with unique names', () => {
    assert.ok(CASES.length >= 60, `only ${CASES.length} cases`);
    assert.equal(new Set(CASES.map((c) => c.name)).size, CASES.length);
  });

  for (const c of CASES) {
    test(caseTitle(c), async () => {
      const e = c.expect;
      const beforeRelay = (await stack.auditEvents(RELAY)).length;
      const beforeConnector = (await stack.auditEvents(CONNECTOR)).length;
      backend.clear();

      const res = await exchange(stack.proxyPort, c.raw);
      assert.equal(res.timedOut, false, `no complete response within 10 s; got ${JSON.stringify(res.head.slice(0, 200))}`);

      // The call's audit event, then a moment for anything that should not be there (a second event,
      // a late request at the backend) to show up.
      const own = e.emitter === 'relay' ? beforeRelay : beforeConnector;
      await stack.waitForAudit(emitterId(e.emitter), own + 1, 5000);
      await sleep(150);
      const relayEvents = (await stack.auditEvents(RELAY)).slice(beforeRelay);
      const connectorEvents = (await stack.auditEvents(CONNECTOR)).slice(beforeConnector);
      const mine = e.emitter === 'relay' ? relayEvents : connectorEvents;
      const others = e.emitter === 'relay' ? connectorEvents : relayEvents;
      const seen = backend.requests();

      // 1. What the client got.
      assert.equal(res.status, e.status, `status; response head: ${JSON.stringify(res.head.slice(0, 300))}, body: ${res.body.slice(0, 300)}`);
      if (e.deny_reason) assert.equal(res.headers.get('x-tunnel-deny-reason'), e.deny_reason, 'x-tunnel-deny-reason header');

      // 2. What the backend got.
      assert.deepEqual(seen.map((r) => r.line), e.backend === null ? [] : [e.backend], 'request lines received by the backend');
      const connectorEvent = connectorEvents[0];
      for (const r of seen) assertBackendInvariants(r, connectorEvent);
      const received = seen[0];
      for (const line of e.backendHeaders ?? []) {
        assert.ok(received?.headers.includes(line), `backend header ${JSON.stringify(line)} missing from ${JSON.stringify(received?.headers)}`);
      }
      if (e.backendBody !== undefined) assert.equal(received?.body, e.backendBody, 'body received by the backend');

      // 3. The audit event.
      assert.equal(mine.length, 1, `${e.emitter} events: ${JSON.stringify(mine)}`);
      if (e.connectorMaySeeIt) assert.ok(others.length <= 1, `at most one connector event: ${JSON.stringify(others)}`);
      else assert.equal(others.length, 0, `no event from the other end: ${JSON.stringify(others)}`);
      const ev = mine[0] as AuditEvent;
      assert.equal(ev.emitter, e.emitter);
      assert.equal(ev.emitter_id, emitterId(e.emitter));
      assert.equal(ev.decision, e.deny_reason ? 'deny' : 'allow', 'decision');
      assert.equal(ev.deny_reason, e.deny_reason, 'deny_reason');
      assert.equal(ev.status, e.status, 'audited status');
      assert.equal(ev.client_ip, '127.0.0.1');
      if (e.path !== undefined) assert.equal(ev.path, e.path, 'audited path');
      if (e.emitter === 'connector') {
        assert.equal(ev.subaccount, e.audit?.subaccount ?? 'acme');
        assert.equal(ev.cloud_app, e.audit?.cloud_app ?? 'portal');
        if (!e.deny_reason) assert.equal(ev.path, received?.line.split(' ')[1]?.split('?')[0], 'the backend receives exactly the path decided on');
      }
      for (const [field, value] of Object.entries(e.audit ?? {})) {
        assert.equal(ev[field as keyof AuditEvent], value, `audit field ${field}`);
      }
    });
  }
});
