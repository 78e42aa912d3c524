import { CollectorConfigSchema } from '../../collector/config-schema.js';
import { startCollector } from '../../collector/collector.js';
import type { Command } from '../command.js';
import { runService, SERVICE_HELP } from '../run-service.js';

export const collectorCommand: Command = {
  name: 'collector',
  summary: 'run the collector (OTLP/HTTP traces and logs, audit NDJSON) in front of the store',
  help: `Usage: tunnelwatch collector --config collector.yaml [options]

Runs the collector: an HTTP server that takes OTLP/HTTP traces and logs (POST /v1/traces, /v1/logs;
protobuf or JSON, optionally gzip) from any OpenTelemetry SDK or Collector, and audit events as NDJSON
(POST /v1/audit) from relays and connectors, and writes them to the store: the embedded chDB engine in
store.data_dir, or a ClickHouse server at store.url. Ingest needs "Authorization: Bearer <token>".
Every answer 200 comes after the commit. See docs/collector.md and docs/configuration.md.

Reload (SIGHUP, or POST /api/v1/admin/reload on the dashboard as an admin): ingest tokens, dashboard
users, API tokens and LDAP settings, exporters and detection settings change live, all or nothing;
each changed section is recorded as an admin event config.change (docs/operations.md).

${SERVICE_HELP}`,
  run: (args) => runService('collector', CollectorConfigSchema, args, startCollector),
};
