// ECS documents written straight from stored audit rows: the RowBinary bytes of an export page
// (audit-source.ts) become the document's UTF-8 bytes with no JavaScript string per field, as the syslog
// exporter's RFC 5424 path does (syslog/rfc5424-rows.ts). This is the Elasticsearch exporter's hot path.
// Decoding 36 fields into strings, building the document's text from ~80 pieces, then encoding it to
// UTF-8 for the _bulk body, and the garbage of all those strings, were most of the exporter's CPU
// (docs/benchmarks.md, "Export").
//
// The output is, byte for byte, the UTF-8 of auditEcsJson() for the decoded event (test: ecs-rows.test.ts):
// the same members in the same order under the same conditions, strings escaped as JSON.stringify escapes
// them ('"', '\' and the controls below U+0020; the escaped characters are single bytes that never occur
// inside a multi-byte UTF-8 character, and valid UTF-8 holds no lone surrogate), numbers as String()
// writes them. Where it could differ, the writer declines and the caller maps the decoded event: bytes
// that are not valid UTF-8 (the decoder would put U+FFFD in their place), or a row cut short.
import { isUtf8 } from 'node:buffer';
import { isIP } from 'node:net';
import { PAGE_COLUMNS, pageColumn } from '../audit-source.js';
import { RowColumns, u16At, u64At, writeNumber } from '../row-binary.js';
import type { AuditRowBytes } from '../types.js';
import { AUDIT_DATASET, ECS_VERSION, extraJson } from './ecs.js';

const SCHEMA = pageColumn('schema');
const EVENT_ID = pageColumn('event_id');
const TS = pageColumn('ts_iso');
const DURATION_US = pageColumn('duration_us');
const EMITTER = pageColumn('emitter');
const EMITTER_ID = pageColumn('emitter_id');
const SEQ = pageColumn('seq');
const PREV_HASH = pageColumn('prev_hash');
const HASH = pageColumn('hash');
const SUBACCOUNT = pageColumn('subaccount');
const LOCATION_ID = pageColumn('location_id');
const CLOUD_APP = pageColumn('cloud_app');
const PRINCIPAL = pageColumn('principal');
const CLIENT_IP = pageColumn('client_ip');
const PROTOCOL = pageColumn('protocol');
const METHOD = pageColumn('method');
const VIRTUAL_HOST = pageColumn('virtual_host');
const VIRTUAL_PORT = pageColumn('virtual_port');
const INTERNAL_HOST = pageColumn('internal_host');
const INTERNAL_PORT = pageColumn('internal_port');
const PATH = pageColumn('path');
const QUERY = pageColumn('query');
const USER_AGENT = pageColumn('user_agent');
const DECISION = pageColumn('decision');
const RULE_ID = pageColumn('rule_id');
const DENY_REASON = pageColumn('deny_reason');
const STATUS = pageColumn('status');
const ERROR_TYPE = pageColumn('error_type');
const BYTES_IN = pageColumn('bytes_in');
const BYTES_OUT = pageColumn('bytes_out');
const BACKEND_CONNECT_US = pageColumn('backend_connect_us');
const BACKEND_TTFB_US = pageColumn('backend_ttfb_us');
const TRACE_ID = pageColumn('trace_id');
const SPAN_ID = pageColumn('span_id');
const INGESTED_AT = pageColumn('ingested_at_iso');
const EXTRA = pageColumn('extra');

const HEX = Buffer.from('0123456789abcdef', 'latin1');
/** JSON.stringify's short escapes of controls, by byte (0 where it writes \u00XX). */
const SHORT = new Uint8Array(0x20);
SHORT[0x08] = 0x62; // \b
SHORT[0x09] = 0x74; // \t
SHORT[0x0a] = 0x6e; // \n
SHORT[0x0c] = 0x66; // \f
SHORT[0x0d] = 0x72; // \r

/** Pieces longer than this are copied by the native copy; shorter ones byte by byte, which costs less than the call. */
const LONG = 24;
/** A slab the documents of many rows are written into, one after another; a new one when it is full. */
const SLAB = 1 << 20;

/** Writes one audit row as its ECS document; undefined (nothing kept) when the decoded event must be mapped instead. */
export type EcsRowWriter = (row: AuditRowBytes) => Buffer | undefined;

export function createEcsRowWriter(namespace: string): EcsRowWriter {
  const columns = new RowColumns(PAGE_COLUMNS);
  const { starts, ends } = columns;
  let slab = Buffer.allocUnsafe(SLAB);
  let used = 0;
  let src: Buffer = slab;
  let out: Buffer = slab;
  let o = 0;

  const lit = (piece: string): Buffer => Buffer.from(piece, 'utf8');
  const text = (bytes: Buffer): void => {
    const n = bytes.length;
    if (n > LONG) {
      out.set(bytes, o);
      o += n;
    } else {
      for (let k = 0; k < n; k++) out[o++] = bytes[k] as number;
    }
  };
  /** src[from..e) as a JSON string literal. */
  const strAt = (from: number, e: number): void => {
    let j = from;
    out[o++] = 0x22;
    if (e - j > LONG) {
      // A long value is copied at once up to its first byte to escape.
      let k = j;
      while (k < e) {
        const c = src[k] as number;
        if (c < 0x20 || c === 0x22 || c === 0x5c) break;
        k++;
      }
      src.copy(out, o, j, k);
      o += k - j;
      j = k;
    }
    for (; j < e; j++) {
      const c = src[j] as number;
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c) {
        out[o++] = c;
        continue;
      }
      out[o++] = 0x5c;
      if (c >= 0x20) out[o++] = c;
      else if (SHORT[c] !== 0) out[o++] = SHORT[c] as number;
      else {
        out[o++] = 0x75;
        out[o++] = 0x30;
        out[o++] = 0x30;
        out[o++] = HEX[c >> 4] as number;
        out[o++] = HEX[c & 15] as number;
      }
    }
    out[o++] = 0x22;
  };
  /** Column i as a JSON string literal. */
  const str = (i: number): void => strAt(starts[i] as number, ends[i] as number);
  const num = (v: number): void => {
    o = writeNumber(out, o, v);
  };
  const u64 = (i: number): number => u64At(src, starts[i] as number);
  const u16 = (i: number): number => u16At(src, starts[i] as number);
  const slice = (b: Buffer, how: 'latin1Slice' | 'utf8Slice', i: number): string =>
    (b as unknown as Record<typeof how, (s: number, e: number) => string>)[how](starts[i] as number, ends[i] as number);
  const empty = (i: number): boolean => ends[i] === starts[i];
  const is = (i: number, word: Buffer): boolean => {
    const s = starts[i] as number;
    if ((ends[i] as number) - s !== word.length) return false;
    for (let k = 0; k < word.length; k++) if (src[s + k] !== word[k]) return false;
    return true;
  };
  const same = (a: number, b: number): boolean => {
    const sa = starts[a] as number;
    const sb = starts[b] as number;
    const n = (ends[a] as number) - sa;
    if ((ends[b] as number) - sb !== n) return false;
    for (let k = 0; k < n; k++) if (src[sa + k] !== src[sb + k]) return false;
    return true;
  };
  // An IP address is ASCII only, so reading the bytes as Latin-1 decides as the decoded string would.
  const ip = (i: number): boolean => !empty(i) && isIP(slice(src, 'latin1Slice', i)) !== 0;
  /** nonEmpty2() of ecs.ts: a JSON array of up to two distinct non-empty strings. */
  const twoOf = (a: number, b: number): void => {
    out[o++] = 0x5b;
    if (!empty(a)) str(a);
    if (!empty(b) && !(!empty(a) && same(a, b))) {
      if (!empty(a)) out[o++] = 0x2c;
      str(b);
    }
    out[o++] = 0x5d;
  };
  /** The members of url: a comma before all but the first. */
  let firstMember = true;
  const member = (name: Buffer): void => {
    if (!firstMember) out[o++] = 0x2c;
    firstMember = false;
    text(name);
  };
  /** hostAndPortJson() of ecs.ts. */
  const hostAndPort = (host: number, port: number): void => {
    if (!empty(host)) {
      text(ADDRESS);
      str(host);
      text(ip(host) ? AND_IP : AND_DOMAIN);
      str(host);
    }
    const p = u16(port);
    if (p === 0) return;
    if (!empty(host)) out[o++] = 0x2c;
    text(PORT);
    num(p);
  };

  const HTTP = lit('http');
  const HTTPS = lit('https');
  const DENY = lit('deny');
  const EMPTY_OBJECT = lit('{}');
  const ADDRESS = lit('"address":');
  const AND_IP = lit(',"ip":');
  const AND_DOMAIN = lit(',"domain":');
  const PORT = lit('"port":');
  const HEAD = lit('{"@timestamp":');
  const STREAM = lit(`,"ecs":{"version":"${ECS_VERSION}"},"data_stream":{"type":"logs","dataset":"${AUDIT_DATASET}","namespace":${JSON.stringify(namespace)}},"event":{"kind":"event","category":`);
  const WEB = lit('["network","web"]');
  const NETWORK = lit('["network"]');
  const TYPE_DENIED = lit(',"type":["access","denied"],"action":"call-denied","outcome":');
  const TYPE_ALLOWED = lit(',"type":["access","allowed"],"action":"call-allowed","outcome":');
  const FAILURE = lit('"failure","id":');
  const SUCCESS = lit('"success","id":');
  const DURATION = lit(',"duration":');
  const PROVIDER = lit(`,"dataset":"${AUDIT_DATASET}","module":"tunnelwatch","provider":`);
  const SEQUENCE = lit(',"sequence":');
  const EVENT_HASH = lit(',"hash":');
  const CREATED = lit(',"created":');
  const REASON = lit(',"reason":');
  const OBSERVER = lit('},"observer":{"vendor":"Tunnelwatch","product":"Tunnelwatch","type":"proxy","name":');
  const NETWORK_HTTP = lit('},"network":{"transport":"tcp","protocol":"http","bytes":');
  const NETWORK_TCP = lit('},"network":{"transport":"tcp","bytes":');
  const SOURCE = lit('},"source":{');
  const IP = lit('"ip":');
  const COMMA_ADDRESS = lit(',"address":');
  const BYTES = lit('"bytes":');
  const RELATED_IP = lit('},"related":{"ip":[');
  const RELATED_USER = lit('],"user":');
  const RELATED_HOSTS = lit(',"hosts":');
  const RELATED_HASH = lit(',"hash":[');
  const TW = [
    [SCHEMA, ']},"tunnelwatch":{"schema":'], [EMITTER, ',"emitter":'], [EMITTER_ID, ',"emitter_id":'], [SEQ, ',"seq":'],
    [PREV_HASH, ',"prev_hash":'], [HASH, ',"hash":'], [SUBACCOUNT, ',"subaccount":'], [LOCATION_ID, ',"location_id":'],
    [CLOUD_APP, ',"cloud_app":'], [PROTOCOL, ',"protocol":'], [DECISION, ',"decision":'], [DENY_REASON, ',"deny_reason":'],
    [BYTES_IN, ',"bytes_in":'], [BYTES_OUT, ',"bytes_out":'], [DURATION_US, ',"duration_us":'],
    [BACKEND_CONNECT_US, ',"backend_connect_us":'], [BACKEND_TTFB_US, ',"backend_ttfb_us":'], [INGESTED_AT, ',"ingested_at":'],
  ].map(([i, name]) => ({ i: i as number, name: lit(name as string), number: PAGE_COLUMNS[i as number]?.kind === 'u64' }));
  const EXTRA_MEMBER = lit(',"extra":');
  const DESTINATION = lit(',"destination":{');
  const COMMA_BYTES = lit(',"bytes":');
  const SERVER = lit(',"server":{');
  const OPTIONAL = [
    [SUBACCOUNT, ',"organization":{"id":'], [PRINCIPAL, ',"user":{"name":'], [USER_AGENT, ',"user_agent":{"original":'],
    [TRACE_ID, ',"trace":{"id":'], [SPAN_ID, ',"span":{"id":'], [RULE_ID, ',"rule":{"id":'], [ERROR_TYPE, ',"error":{"type":'],
  ].map(([i, name]) => ({ i: i as number, name: lit(name as string) }));
  const URL = lit(',"url":{');
  const URL_PATH = lit('"path":');
  const URL_QUERY = lit('"query":');
  const URL_DOMAIN = lit('"domain":');
  const HTTP_REQUEST = lit('},"http":{"request":{');
  const METHOD_MEMBER = lit('"method":');
  const BODY_BYTES = lit('"body":{"bytes":');
  const RESPONSE = lit('}},"response":{');
  const STATUS_CODE = lit('"status_code":');
  const END_HTTP = lit('}}}}');

  return (row) => {
    if (!Buffer.isBuffer(row.buf)) return undefined;
    src = row.buf;
    const end = columns.locate(src, row.at);
    if (end < 0) return undefined;
    // Every string is written at most four times, each byte escaped to six at worst; 4 KB holds the
    // constant pieces, the numbers and the extension fields' overhead.
    let extra = '';
    if (!empty(EXTRA) && !is(EXTRA, EMPTY_OBJECT)) extra = extraJson(slice(src, 'utf8Slice', EXTRA));
    const room = 30 * (end - row.at) + 3 * Buffer.byteLength(extra) + 4096;
    if (used + room > slab.length) {
      slab = Buffer.allocUnsafe(Math.max(SLAB, room));
      used = 0;
    }
    out = slab;
    const start = used;
    o = start;

    const isHttp = is(PROTOCOL, HTTP) || is(PROTOCOL, HTTPS);
    const denied = is(DECISION, DENY);
    const clientIsIp = ip(CLIENT_IP);
    text(HEAD);
    str(TS);
    text(STREAM);
    text(isHttp ? WEB : NETWORK);
    text(denied ? TYPE_DENIED : TYPE_ALLOWED);
    text(denied || !empty(ERROR_TYPE) ? FAILURE : SUCCESS);
    str(EVENT_ID);
    text(DURATION);
    num(u64(DURATION_US) * 1000);
    text(PROVIDER);
    str(EMITTER);
    text(SEQUENCE);
    num(u64(SEQ));
    text(EVENT_HASH);
    str(HASH);
    text(CREATED);
    str(INGESTED_AT);
    if (denied && !empty(DENY_REASON)) {
      text(REASON);
      str(DENY_REASON);
    }
    text(OBSERVER);
    str(EMITTER_ID);
    text(isHttp ? NETWORK_HTTP : NETWORK_TCP);
    num(u64(BYTES_IN) + u64(BYTES_OUT));
    text(SOURCE);
    if (clientIsIp) {
      text(IP);
      str(CLIENT_IP);
      text(COMMA_ADDRESS);
      str(CLIENT_IP);
      out[o++] = 0x2c;
    } else if (!empty(CLIENT_IP)) {
      text(ADDRESS);
      str(CLIENT_IP);
      out[o++] = 0x2c;
    }
    text(BYTES);
    num(u64(BYTES_IN));
    text(RELATED_IP);
    if (clientIsIp) str(CLIENT_IP);
    text(RELATED_USER);
    twoOf(CLOUD_APP, PRINCIPAL);
    text(RELATED_HOSTS);
    twoOf(VIRTUAL_HOST, INTERNAL_HOST);
    text(RELATED_HASH);
    str(HASH);
    for (const f of TW) {
      text(f.name);
      if (f.number) num(u64(f.i));
      else str(f.i);
    }
    if (extra !== '') {
      text(EXTRA_MEMBER);
      o += out.write(extra, o, 'utf8');
    }
    out[o++] = 0x7d;
    if (!empty(INTERNAL_HOST) || u16(INTERNAL_PORT) !== 0) {
      text(DESTINATION);
      hostAndPort(INTERNAL_HOST, INTERNAL_PORT);
      text(COMMA_BYTES);
      num(u64(BYTES_OUT));
      out[o++] = 0x7d;
    }
    if (!empty(VIRTUAL_HOST) || u16(VIRTUAL_PORT) !== 0) {
      text(SERVER);
      hostAndPort(VIRTUAL_HOST, VIRTUAL_PORT);
      out[o++] = 0x7d;
    }
    for (const f of OPTIONAL) {
      if (empty(f.i)) continue;
      text(f.name);
      str(f.i);
      out[o++] = 0x7d;
    }
    if (isHttp) {
      text(URL);
      firstMember = true;
      if (!empty(PATH)) {
        member(URL_PATH);
        str(PATH);
      }
      // The query without its leading '?'.
      const queryFrom = (starts[QUERY] as number) + (!empty(QUERY) && src[starts[QUERY] as number] === 0x3f ? 1 : 0);
      if (queryFrom < (ends[QUERY] as number)) {
        member(URL_QUERY);
        strAt(queryFrom, ends[QUERY] as number);
      }
      if (!empty(VIRTUAL_HOST)) {
        member(URL_DOMAIN);
        str(VIRTUAL_HOST);
      }
      if (u16(VIRTUAL_PORT) !== 0) {
        member(PORT);
        num(u16(VIRTUAL_PORT));
      }
      text(HTTP_REQUEST);
      if (!empty(METHOD)) {
        text(METHOD_MEMBER);
        str(METHOD);
        out[o++] = 0x2c;
      }
      text(BODY_BYTES);
      num(u64(BYTES_IN));
      text(RESPONSE);
      if (u16(STATUS) !== 0) {
        text(STATUS_CODE);
        num(u16(STATUS));
        out[o++] = 0x2c;
      }
      text(BODY_BYTES);
      num(u64(BYTES_OUT));
      text(END_HTTP);
    } else {
      out[o++] = 0x7d;
    }
    const doc = out.subarray(start, o);
    // Not kept (the slab's end does not move) when the bytes are not UTF-8.
    if (!isUtf8(doc)) return undefined;
    used = o;
    return doc;
  };
}
