import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DOCUMENTATION_PEN, defaultHostname, resolveSyslogConfig, SyslogConfigSchema } from '../../../../collector/export/syslog/config.js';
import { syslogExporter } from '../../../../collector/export/syslog/index.js';
import { exporterFactory } from '../../../../collector/export/registry.js';

const base = { name: 'siem', type: 'syslog', enabled: true, streams: ['audit'], batch_size: 500 };

test('fills the defaults: tls on 6514, structured data, local0, the documentation PEN', () => {
  const c = resolveSyslogConfig({ ...base, host: 'siem.example' });
  assert.equal(c.transport, 'tls');
  assert.equal(c.port, 6514);
  assert.equal(c.format, 'rfc5424');
  assert.equal(c.facilityCode, 16);
  assert.equal(c.app_name, 'tunnelwatch');
  assert.equal(c.enterprise_number, DOCUMENTATION_PEN);
  assert.equal(c.tls.reject_unauthorized, true);
  assert.equal(c.bom, 'auto');
  assert.match(c.hostname, /^[\x21-\x7e]{1,255}$/);
});

test('defaults the port to 514 for tcp and udp and keeps a given one', () => {
  assert.equal(resolveSyslogConfig({ host: 'h', transport: 'tcp' }).port, 514);
  assert.equal(resolveSyslogConfig({ host: 'h', transport: 'udp' }).port, 514);
  assert.equal(resolveSyslogConfig({ host: 'h', transport: 'tcp', port: 10514 }).port, 10514);
  assert.equal(resolveSyslogConfig({ host: 'h', facility: 'security' }).facilityCode, 13);
});

test('rejects unknown keys, bad values, and a client certificate without its key, naming the key', () => {
  assert.throws(() => resolveSyslogConfig({ host: 'h', colour: 'red' }), /colour/);
  assert.throws(() => resolveSyslogConfig({ host: 'h', format: 'gelf' }), /format/);
  assert.throws(() => resolveSyslogConfig({ host: 'h', app_name: 'has space' }), /app_name/);
  assert.throws(() => resolveSyslogConfig({ host: 'h', tls: { cert: 'c.pem' } }), /tls\.cert and tls\.key/);
  assert.throws(() => resolveSyslogConfig({ transport: 'tcp' }), /host/);
});

test('makes an RFC 5424 HOSTNAME of any machine name', () => {
  assert.equal(defaultHostname('büro pc'), 'b_ro_pc');
  assert.equal(defaultHostname(''), '-');
});

test('describes every key of its schema, and is the registry\'s syslog type', () => {
  const walk = (s: { properties?: Record<string, unknown> }, path: string): void => {
    for (const [k, v] of Object.entries(s.properties ?? {})) {
      assert.ok((v as { description?: string }).description, `${path}${k} has no description`);
      walk(v as { properties?: Record<string, unknown> }, `${path}${k}.`);
    }
  };
  walk(SyslogConfigSchema as never, '');
  assert.equal(exporterFactory('syslog'), syslogExporter);
});
