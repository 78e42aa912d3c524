// The syslog exporter type (issue 6, docs/siem-syslog.md): RFC 5424 over TLS, TCP (octet counting) or
// UDP, with the body as structured data, CEF or LEEF 2.0.
import type { ExporterFactory } from '../types.js';
import { resolveSyslogConfig, SyslogConfigSchema, type SyslogExporterConfig } from './config.js';
import { SyslogExporter } from './exporter.js';

export const syslogExporter: ExporterFactory<SyslogExporterConfig> = {
  type: 'syslog',
  summary: 'RFC 5424 syslog over TLS, TCP or UDP; body as structured data, CEF or LEEF 2.0 (docs/siem-syslog.md)',
  configSchema: SyslogConfigSchema,
  create(config, context) {
    return new SyslogExporter(config, resolveSyslogConfig({ ...config }), context);
  },
};
