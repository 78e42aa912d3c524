// The PROXY protocol header parser (v1 text, v2 binary) and the check of proxy.proxy_protocol_from.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cidrProblems, parseProxyHeader, trustedPeers } from '../../../connector/relay/proxy-protocol.js';

const SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

function v2(verCmd: number, famProto: number, body: number[]): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  return Buffer.from([...SIG, verCmd, famProto, ...len, ...body]);
}

const ipv4Block = [192, 0, 2, 10, 10, 0, 0, 1, 0x9c, 0x40, 0x1f, 0x90];

describe('parseProxyHeader v1', () => {
  it('reads TCP4 and TCP6 source addresses, and the length up to the CRLF', () => {
    const line = 'PROXY TCP4 203.0.113.7 10.0.0.1 40000 8080\r\n';
    assert.deepEqual(parseProxyHeader(Buffer.from(`${line}GET / HTTP/1.1`)), { ok: true, length: line.length, clientIp: '203.0.113.7' });
    const six = 'PROXY TCP6 2001:db8::1 fd00::2 1 65535\r\n';
    assert.deepEqual(parseProxyHeader(Buffer.from(six)), { ok: true, length: six.length, clientIp: '2001:db8::1' });
    assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN whatever\r\n')), { ok: true, length: 24, clientIp: undefined });
  });

  it('writes a TCP6 source as v2 headers and direct clients do: canonical, IPv4-mapped as dotted, no zone', () => {
    const ip = (src: string): string | undefined => {
      const h = parseProxyHeader(Buffer.from(`PROXY TCP6 ${src} ::1 1 2\r\n`));
      return h?.ok ? h.clientIp : `refused: ${h?.reason}`;
    };
    assert.equal(ip('::ffff:203.0.113.14'), '203.0.113.14');
    assert.equal(ip('2001:DB8:0:0:1::5'), '2001:db8::1:0:0:5');
    assert.equal(ip('0:0:0:0:0:0:0:1'), '::1');
    assert.equal(ip('2001:db8::'), '2001:db8::');
    assert.match(ip('fe80::1%eth0') ?? '', /^refused: PROXY v1 header: bad family or address/);
  });

  it('waits for more bytes only while they can still become a header', () => {
    assert.equal(parseProxyHeader(Buffer.from('PRO')), undefined);
    assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 203.0.')), undefined);
    assert.equal(parseProxyHeader(Buffer.from('POST / HTTP/1.1'))?.ok, false);
    assert.equal(parseProxyHeader(Buffer.from('GET http://x/ HTTP/1.1\r\n'))?.ok, false);
    assert.equal(parseProxyHeader(Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`))?.ok, false, 'no CRLF within 107 bytes');
  });

  it('refuses bad families, addresses, ports and field counts', () => {
    for (const bad of [
      'PROXY TCP4 999.0.0.1 10.0.0.1 1 2\r\n',
      'PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n',
      'PROXY TCP6 203.0.113.7 fd00::2 1 2\r\n',
      'PROXY UDP4 203.0.113.7 10.0.0.1 1 2\r\n',
      'PROXY TCP4 203.0.113.7 10.0.0.1 65536 2\r\n',
      'PROXY TCP4 203.0.113.7 10.0.0.1 01 2\r\n',
      'PROXY TCP4 203.0.113.7 10.0.0.1 1\r\n',
      'PROXY  TCP4 203.0.113.7 10.0.0.1 1 2\r\n',
    ]) assert.equal(parseProxyHeader(Buffer.from(bad))?.ok, false, bad);
  });
});

describe('parseProxyHeader v2', () => {
  it('reads IPv4 and IPv6 (canonical text, IPv4-mapped as dotted) and skips TLVs', () => {
    assert.deepEqual(parseProxyHeader(v2(0x21, 0x11, ipv4Block)), { ok: true, length: 28, clientIp: '192.0.2.10' });
    const v6 = (groups: number[]): number[] => groups.flatMap((g) => [g >> 8, g & 255]);
    const block6 = (src: number[]): number[] => [...v6(src), ...v6([0xfd00, 0, 0, 0, 0, 0, 0, 1]), 0, 1, 0, 2];
    assert.equal((parseProxyHeader(v2(0x21, 0x21, block6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 5]))) as { clientIp: string }).clientIp, '2001:db8::1:0:0:5');
    assert.equal((parseProxyHeader(v2(0x21, 0x21, block6([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201]))) as { clientIp: string }).clientIp, '192.0.2.1');
    assert.equal((parseProxyHeader(v2(0x21, 0x21, block6([0x2001, 0xdb8, 1, 2, 3, 4, 5, 6]))) as { clientIp: string }).clientIp, '2001:db8:1:2:3:4:5:6');
    const withTlv = v2(0x21, 0x11, [...ipv4Block, 0x04, 0x00, 0x02, 0xab, 0xcd]);
    assert.deepEqual(parseProxyHeader(Buffer.concat([withTlv, Buffer.from('GET')])), { ok: true, length: 33, clientIp: '192.0.2.10' });
  });

  it('LOCAL and UNSPEC keep the balancer address; partial headers wait', () => {
    assert.deepEqual(parseProxyHeader(v2(0x20, 0x00, [])), { ok: true, length: 16, clientIp: undefined });
    assert.deepEqual(parseProxyHeader(v2(0x21, 0x00, [])), { ok: true, length: 16, clientIp: undefined });
    const full = v2(0x21, 0x11, ipv4Block);
    for (const n of [1, 5, 12, 15, 20, 27]) assert.equal(parseProxyHeader(full.subarray(0, n)), undefined, `${n} bytes`);
  });

  it('refuses a wrong signature, version, command or transport, short address blocks and oversized ones', () => {
    assert.equal(parseProxyHeader(Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x01]))?.ok, false);
    assert.equal(parseProxyHeader(v2(0x11, 0x11, ipv4Block))?.ok, false, 'version 1 in a v2 header');
    assert.equal(parseProxyHeader(v2(0x22, 0x11, ipv4Block))?.ok, false, 'command 2');
    assert.equal(parseProxyHeader(v2(0x21, 0x12, ipv4Block))?.ok, false, 'UDP');
    assert.equal(parseProxyHeader(v2(0x21, 0x11, ipv4Block.slice(0, 8)))?.ok, false);
    assert.equal(parseProxyHeader(v2(0x21, 0x21, ipv4Block))?.ok, false, 'IPv6 needs 36 bytes');
    const huge = Buffer.from([...SIG, 0x21, 0x11, 0xff, 0xff]);
    assert.equal(parseProxyHeader(huge)?.ok, false, 'refused from its length field, without waiting for 64 KB');
  });
});

describe('proxy.proxy_protocol_from', () => {
  it('names entries that are not addresses or prefixes', () => {
    assert.deepEqual(cidrProblems(['10.0.0.0/8', '127.0.0.2', 'fd00::/8', '::1']), []);
    assert.deepEqual(cidrProblems(['10.0.0.0/33', 'fd00::/129', 'lb.corp', '10.0.0.1/8/9', '10.0.0.0/08', 'fe80::1%eth0', '0.0.0.0/0', '::/0']), [
      'proxy.proxy_protocol_from[0]: prefix /33 is out of range for IPv4',
      'proxy.proxy_protocol_from[1]: prefix /129 is out of range for IPv6',
      'proxy.proxy_protocol_from[2]: lb.corp is not an IP address or address/prefix (without a zone id)',
      'proxy.proxy_protocol_from[3]: 10.0.0.1/8/9 is not an IP address or address/prefix (without a zone id)',
      'proxy.proxy_protocol_from[4]: prefix /08 is out of range for IPv4',
      'proxy.proxy_protocol_from[5]: fe80::1%eth0 is not an IP address or address/prefix (without a zone id)',
      "proxy.proxy_protocol_from[6]: 0.0.0.0/0 trusts every address, so any client could set its own client_ip; list the load balancers' addresses",
      "proxy.proxy_protocol_from[7]: ::/0 trusts every address, so any client could set its own client_ip; list the load balancers' addresses",
    ]);
  });

  it('matches addresses inside the prefixes only', () => {
    const peers = trustedPeers(['10.1.0.0/16', '127.0.0.2', 'fd00::/8']);
    assert.equal(peers.check('10.1.200.3', 'ipv4'), true);
    assert.equal(peers.check('10.2.0.1', 'ipv4'), false);
    assert.equal(peers.check('127.0.0.2', 'ipv4'), true);
    assert.equal(peers.check('127.0.0.1', 'ipv4'), false);
    assert.equal(peers.check('fd12::1', 'ipv6'), true);
    assert.equal(peers.check('2001:db8::1', 'ipv6'), false);
  });
});
