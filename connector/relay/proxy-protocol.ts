// The PROXY protocol (HAProxy's spec, versions 1 and 2) on the relay's proxy port, for a relay behind a
// TCP load balancer (AWS NLB, HAProxy, nginx stream, Kubernetes services with it on). Without it every call
// would carry the balancer's address as client_ip, and the detectors that judge client IPs (auth failures,
// path enumeration, cross-subaccount) would see one client.
//
// Only connections from `proxy.proxy_protocol_from` (CIDRs of the balancers) are read for a header, and
// each of them must start with one: a balancer that sends none is misconfigured, and taking its address as
// the client's would be wrong silently. A header from any other peer is not read: it reaches the HTTP
// parser as a malformed request (400 with an audit event), so no client can claim another address.
import { BlockList, isIPv4, isIPv6, type Server as NetServer, type Socket, createServer } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../../common/log.js';

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** A v1 header is at most 107 bytes with its CRLF. */
const V1_MAX = 107;
/** v2: 16 bytes of header, then the addresses; we accept up to this many bytes of TLVs after them. */
const V2_MAX = 16 + 536;

export type ProxyHeader =
  /** The balancer's source address for the client; `local` (v2 LOCAL, v1 UNKNOWN): its own health check. */
  | { ok: true; length: number; clientIp: string | undefined }
  | { ok: false; reason: string }
  /** Not enough bytes yet. */
  | undefined;

/** Parses a PROXY header at the start of `buf`. */
export function parseProxyHeader(buf: Buffer): ProxyHeader {
  if (buf.length >= 1 && buf[0] === 0x0d) return parseV2(buf);
  if (buf.length >= 1 && buf[0] !== 0x50) return { ok: false, reason: 'the connection does not start with a PROXY protocol header' };
  const end = buf.indexOf('\r\n');
  if (end < 0) {
    if (buf.length >= V1_MAX) return { ok: false, reason: 'PROXY v1 header longer than 107 bytes' };
    const prefix = buf.toString('latin1');
    return 'PROXY '.startsWith(prefix.slice(0, 6)) ? undefined : { ok: false, reason: 'the connection does not start with a PROXY protocol header' };
  }
  if (end + 2 > V1_MAX) return { ok: false, reason: 'PROXY v1 header longer than 107 bytes' };
  const parts = buf.subarray(0, end).toString('latin1').split(' ');
  if (parts[0] !== 'PROXY') return { ok: false, reason: 'the connection does not start with a PROXY protocol header' };
  if (parts[1] === 'UNKNOWN') return { ok: true, length: end + 2, clientIp: undefined };
  if (parts.length !== 6) return { ok: false, reason: 'PROXY v1 header: expected "PROXY TCP4|TCP6 src dst sport dport"' };
  const [, family, src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  // A zone id (fe80::1%eth0) names an interface of the balancer, not a client address.
  const valid = family === 'TCP4' ? isIPv4(src) && isIPv4(dst) : family === 'TCP6' ? isIPv6(src) && isIPv6(dst) && !src.includes('%') && !dst.includes('%') : false;
  if (!valid) return { ok: false, reason: `PROXY v1 header: bad family or address (${printable(`${family} ${src} ${dst}`)})` };
  if (!port(sport) || !port(dport)) return { ok: false, reason: 'PROXY v1 header: bad port' };
  // The same text as a v2 header or a direct client gives for the address, so detectors see one client.
  return { ok: true, length: end + 2, clientIp: family === 'TCP6' ? canonicalIpv6(src) : src };
}

function parseV2(buf: Buffer): ProxyHeader {
  const have = Math.min(buf.length, V2_SIGNATURE.length);
  if (!buf.subarray(0, have).equals(V2_SIGNATURE.subarray(0, have))) return { ok: false, reason: 'the connection does not start with a PROXY protocol header' };
  if (buf.length < 16) return undefined;
  const verCmd = buf[12] as number;
  if (verCmd >> 4 !== 2) return { ok: false, reason: `PROXY v2 header: version ${verCmd >> 4}` };
  const command = verCmd & 0x0f;
  if (command > 1) return { ok: false, reason: `PROXY v2 header: unknown command ${command}` };
  const famProto = buf[13] as number;
  const length = buf.readUInt16BE(14);
  if (16 + length > V2_MAX) return { ok: false, reason: `PROXY v2 header: ${length} bytes of addresses and TLVs, more than accepted` };
  if (buf.length < 16 + length) return undefined;
  const total = 16 + length;
  // LOCAL: the balancer's own connection (a health check); the address block is to be ignored.
  if (command === 0) return { ok: true, length: total, clientIp: undefined };
  const family = famProto >> 4;
  const transport = famProto & 0x0f;
  // UNSPEC: the sender does not know the addresses; the connection's own endpoints stand (the spec).
  if (family === 0) return { ok: true, length: total, clientIp: undefined };
  if (transport !== 1) return { ok: false, reason: `PROXY v2 header: transport ${transport} is not TCP` };
  if (family === 1) {
    if (length < 12) return { ok: false, reason: 'PROXY v2 header: address block too short for IPv4' };
    return { ok: true, length: total, clientIp: `${buf[16]}.${buf[17]}.${buf[18]}.${buf[19]}` };
  }
  if (family === 2) {
    if (length < 36) return { ok: false, reason: 'PROXY v2 header: address block too short for IPv6' };
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(16 + 2 * i).toString(16));
    return { ok: true, length: total, clientIp: compressIpv6(groups) };
  }
  // UNIX (3): no IP to take; the connection is the balancer's.
  if (family === 3) return { ok: true, length: total, clientIp: undefined };
  return { ok: false, reason: `PROXY v2 header: unknown address family ${family}` };
}

const port = (s: string): boolean => /^(0|[1-9][0-9]{0,4})$/.test(s) && Number(s) <= 65535;
const printable = (s: string): string => s.replace(/[^\x20-\x7e]/g, '?').slice(0, 120);

/** An IPv6 address (already checked by isIPv6, no zone) in the canonical text form. */
function canonicalIpv6(text: string): string {
  let s = text.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    s = `${s.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = s.split('::');
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return compressIpv6([...left, ...zeros, ...right].map((g) => parseInt(g, 16).toString(16)));
}

/** The canonical text form (RFC 5952): the longest run of two or more zero groups as ::, an IPv4-mapped address as a.b.c.d. */
function compressIpv6(groups: string[]): string {
  if (groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff') {
    const hi = parseInt(groups[6] as string, 16);
    const lo = parseInt(groups[7] as string, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** Parses `proxy.proxy_protocol_from` (address or address/prefix) into a matcher. */
export function trustedPeers(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', prefix] = cidr.split('/');
    const type = isIPv4(address) ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

/** Problems of `proxy.proxy_protocol_from` entries, by index (what the schema cannot check). */
export function cidrProblems(cidrs: readonly string[]): string[] {
  const problems: string[] = [];
  cidrs.forEach((cidr, i) => {
    const [address = '', prefix, extra] = cidr.split('/');
    const v4 = isIPv4(address);
    if (extra !== undefined || address.includes('%') || (!v4 && !isIPv6(address))) problems.push(`proxy.proxy_protocol_from[${i}]: ${printable(cidr)} is not an IP address or address/prefix (without a zone id)`);
    else if (prefix !== undefined && !(/^([1-9][0-9]{0,2})$/.test(prefix) && Number(prefix) <= (v4 ? 32 : 128))) {
      problems.push(prefix === '0'
        ? `proxy.proxy_protocol_from[${i}]: ${printable(cidr)} trusts every address, so any client could set its own client_ip; list the load balancers' addresses`
        : `proxy.proxy_protocol_from[${i}]: prefix /${printable(prefix)} is out of range for ${v4 ? 'IPv4' : 'IPv6'}`);
    }
  });
  return problems;
}

/** The client address a trusted balancer's header gave for a connection, if any. */
const headerAddress = new WeakMap<Socket, string>();

export function proxiedClientIp(socket: Socket): string | undefined {
  return headerAddress.get(socket);
}

export interface ProxyProtocolOptions {
  trusted: BlockList;
  /** Time a trusted peer has to send its header (ms). */
  timeoutMs: number;
  /** A trusted peer's connection refused (no header, a bad one, or none in time). */
  onRefused(peer: string, reason: string): void;
}

/**
 * A listener in front of `server`: connections from trusted peers have their header read and removed
 * before the HTTP server sees them; others are handed over untouched.
 */
export function proxyProtocolFront(server: HttpServer, o: ProxyProtocolOptions): NetServer {
  return createServer({ pauseOnConnect: true }, (socket) => {
    const peer = (socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.)/, '');
    const family = isIPv4(peer) ? 'ipv4' : 'ipv6';
    if (!peer || !o.trusted.check(peer, family)) {
      server.emit('connection', socket);
      socket.resume();
      return;
    }
    let buf: Buffer = Buffer.alloc(0);
    const refuse = (reason: string): void => {
      cleanup();
      o.onRefused(peer, reason);
      socket.destroy();
    };
    const timer = setTimeout(() => refuse(`no PROXY protocol header within ${o.timeoutMs} ms`), o.timeoutMs);
    const onData = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const h = parseProxyHeader(buf);
      if (h === undefined) return;
      if (!h.ok) return refuse(h.reason);
      cleanup();
      socket.pause();
      if (h.clientIp !== undefined) headerAddress.set(socket, h.clientIp);
      const rest = buf.subarray(h.length);
      if (rest.length > 0) socket.unshift(rest);
      server.emit('connection', socket);
      socket.resume();
    };
    const onEnd = (): void => refuse('the connection ended before its PROXY protocol header');
    const onError = (): void => {
      cleanup();
      socket.destroy();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.resume();
  });
}

/**
 * What happens to a balancer's connection refused for want of a valid header: counted in /metrics
 * (tunnelwatch_proxy_protocol_refused_total) and logged, at most once a minute per balancer address
 * with the count since, since a misconfigured balancer refuses every connection.
 */
export function proxyProtocolRefusals(metrics: Registry, log: Logger): (peer: string, reason: string) => void {
  const counter = new Counter({ name: 'tunnelwatch_proxy_protocol_refused_total', help: 'Connections from a proxy.proxy_protocol_from load balancer closed without a valid PROXY protocol header', registers: [metrics] });
  const lastLogged = new Map<string, { at: number; since: number }>();
  return (peer, reason) => {
    counter.inc();
    const now = Date.now();
    const seen = lastLogged.get(peer);
    if (seen && now - seen.at < 60_000) {
      seen.since++;
      return;
    }
    lastLogged.set(peer, { at: now, since: 0 });
    log.warn({ peer, reason, refused_since_last_line: seen?.since ?? 0 }, 'closed a load balancer connection without a valid PROXY protocol header (proxy.proxy_protocol_from)');
  };
}
