// The exporters: list in collector.yaml: each entry checked against its own type's schema, with the
// problems named by entry and key; what the schema cannot say (unique names, readable secrets) is checked
// when the exporters are built.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { ConfigError, validateConfig } from '../../../common/config/load-config.js';
import { TunnelwatchError } from '../../../common/errors.js';
import { CollectorConfigSchema } from '../../../collector/config-schema.js';
import { checkExporterEntries, ExportConfigSchema as ExportConfig, ExportersSection, ExportSection, type ExporterEntryConfig } from '../../../collector/export/config-schema.js';
import { buildExporter } from '../../../collector/export/export-service.js';

// The two sections as collector.yaml has them (a test below checks they are wired in), validated alone
// so that these tests do not depend on the other sections' schemas.
const validate = (exporters: unknown[]) => validateConfig(ExportConfig, { exporters }, 'collector.yaml', { env: {} });

function problems(exporters: unknown[]): string[] {
  try {
    validate(exporters);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('expected a config error');
}

describe('exporters: configuration', () => {
  it('applies the common defaults and the type\'s own (a webhook sends findings, 500 per POST)', () => {
    const config = validate([{ name: 'soar', type: 'webhook', url: 'https://soar.example/hook', secret_env: 'SOAR_SECRET' }]);
    assert.deepEqual(config.exporters[0], {
      name: 'soar', type: 'webhook', url: 'https://soar.example/hook', secret_env: 'SOAR_SECRET',
      enabled: true, streams: ['findings'], batch_size: 500, timeout_ms: 10_000,
    });
    assert.equal(config.export.settle_ms, 5000);
    assert.deepEqual(validate([]).exporters, []);
    assert.deepEqual(validateConfig(ExportConfig, {}, 'collector.yaml', { env: {} }).exporters, []);
  });

  it('is what collector.yaml\'s schema has under export: and exporters:', () => {
    assert.equal(CollectorConfigSchema.properties.export, ExportSection);
    assert.equal(CollectorConfigSchema.properties.exporters, ExportersSection);
  });

  it('refuses an unknown type, naming the entry and the known types', () => {
    const p = problems([{ name: 'x', type: 'splunk' }]);
    assert.ok(p.some((line) => /^exporters\[0\]\.type: expected one of "elasticsearch", "syslog", "webhook"/.test(line)), p.join('\n'));
  });

  it('checks type-specific keys against that type only: a misspelt or foreign key, a missing one, a bad value', () => {
    const p = problems([
      { name: 'ok-one', type: 'webhook', url: 'https://a.example/', secret_env: 'S' },
      { name: 'typo', type: 'webhook', url: 'https://a.example/', secret_env: 'S', timeout: 5 },
      { name: 'no-url', type: 'webhook', secret_file: 'x' },
      { name: 'bad', type: 'webhook', url: 'ftp://a.example/', secret_env: 'S', batch_size: 0, streams: ['calls'] },
    ]);
    const text = p.join('\n');
    assert.match(text, /exporters\[1\]\.timeout: unknown key; expected one of: name, type, enabled, streams, batch_size, url, secret_file, secret_env, ca_file, timeout_ms/);
    assert.match(text, /exporters\[2\]\.url: required key is missing/);
    assert.match(text, /exporters\[3\]\.url: expected an http:\/\/ or https:\/\/ URL/);
    assert.match(text, /exporters\[3\]\.batch_size: expected a number >= 1/);
    assert.match(text, /exporters\[3\]\.streams\[0\]: expected one of "audit", "findings"/);
    assert.doesNotMatch(text, /exporters\[0\]\.(?!.*must match)/, 'the valid entry has no problem');
  });

  it('refuses two exporters of one name (their cursors would be shared)', () => {
    const config = validate([
      { name: 'dup', type: 'webhook', url: 'https://a.example/', secret_env: 'S' },
      { name: 'dup', type: 'webhook', url: 'https://b.example/', secret_env: 'S' },
    ]);
    assert.throws(() => checkExporterEntries(config.exporters as readonly ExporterEntryConfig[]), (err: unknown) =>
      err instanceof TunnelwatchError && err.code === 'TW_ERR_EXPORT_CONFIG' && /exporters\[1\]\.name: "dup" is also the name of exporters\[0\]/.test(err.message));
  });

  it('stops at start-up when the webhook secret is missing or short, without printing it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-export-config-'));
    const file = join(dir, 'collector.yaml');
    writeFileSync(join(dir, 'short.secret'), 'tiny-secret\n');
    const build = (entry: Record<string, unknown>) => () => buildExporter(validate([{ name: 'hook', type: 'webhook', url: 'http://127.0.0.1:9/', ...entry }]).exporters[0] as ExporterEntryConfig, file, pino({ level: 'silent' }));
    const secretError = (pattern: RegExp) => (err: unknown) => err instanceof TunnelwatchError && err.code === 'TW_ERR_EXPORT_SECRET' && pattern.test(err.message) && !err.message.includes('tiny-secret');
    assert.throws(build({}), secretError(/set exactly one of secret_file and secret_env/));
    assert.throws(build({ secret_file: 'missing.secret' }), secretError(/cannot read secret_file .*missing\.secret \(ENOENT\)/));
    assert.throws(build({ secret_file: 'short.secret' }), secretError(/shorter than 16 characters/));
    assert.throws(build({ secret_env: 'TW_TEST_UNSET_SECRET' }), secretError(/environment variable TW_TEST_UNSET_SECRET is missing/));
    writeFileSync(join(dir, 'good.secret'), 'a-long-enough-secret-0123\n');
    const exporter = build({ secret_file: 'good.secret' })();
    assert.equal(exporter.type, 'webhook');
    assert.deepEqual(exporter.streams, ['findings']);
    void exporter.close();
  });
});
