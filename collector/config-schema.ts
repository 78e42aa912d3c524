// collector.yaml: the collector (OTLP/HTTP and audit ingest into the store). Descriptions here are the
// configuration reference: docs/configuration.md is generated from them (scripts/config-doc.mjs).
import { Type, type Static } from '@sinclair/typebox';
import { HostPort, Identifier, LogSection } from '../common/config/schema-parts.js';
import { DashboardSection } from '../dashboard/config-schema.js';
import { DetectionSection } from './detect/config-schema.js';
import { ExportersSection, ExportSection } from './export/config-schema.js';
import { AUDIT_COMMIT_INTERVAL_MS, OTEL_MAX_DELAY_MS } from './store/commit-defaults.js';

const RetentionDays = (table: string, days: number) =>
  Type.Integer({ minimum: 0, maximum: 36_500, default: days, description: `days rows of ${table} are kept (a TTL on their time; 0 = for ever)` });

export const StoreSection = Type.Object(
  {
    data_dir: Type.String({ minLength: 1, default: './data/store', description: 'folder of the embedded chDB store (relative to the config file); used when url is not set. One process per folder' }),
    url: Type.Optional(Type.String({
      pattern: '^https?://[^\\s?#]+$',
      expected: 'an http:// or https:// URL without query, e.g. http://clickhouse:8123',
      description: 'ClickHouse server HTTP URL, e.g. http://clickhouse:8123; set, it replaces the embedded store',
    })),
    username: Type.String({ default: 'default', description: 'ClickHouse user (with url)' }),
    password_file: Type.Optional(Type.String({ minLength: 1, description: 'file holding the ClickHouse password (relative to the config file; with url); never logged' })),
    database: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$', default: 'tunnelwatch', expected: 'a database name: letters, digits and _, not starting with a digit', description: 'database holding the tables on a ClickHouse server (with url), created when missing; the embedded store always uses `default`' }),
    cluster: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]{0,63}$', expected: 'a cluster name from the server\'s remote_servers', description: 'ClickHouse cluster name (with url): ON CLUSTER DDL, Replicated tables and Distributed tables' })),
    retention_days: Type.Object(
      {
        audit_events: RetentionDays('audit_events', 365),
        otel_traces: RetentionDays('otel_traces (and otel_traces_trace_id_ts)', 30),
        otel_logs: RetentionDays('otel_logs', 30),
        rollups: RetentionDays('the per-minute rollups', 400),
        backend_checks: RetentionDays('backend_checks (backend diagnostics history)', 90),
      },
      { additionalProperties: false, default: {}, description: 'retention per table; rows already older than it at insert are archived (audit events) or refused as expired (spans, logs), never silently dropped' },
    ),
    telemetry_batch_ms: Type.Integer({
      minimum: 10,
      maximum: 10_000,
      default: OTEL_MAX_DELAY_MS,
      description: 'longest wait (ms) of a span or log record for its batch before the insert; an OTLP request is answered after its rows committed. Each insert costs the engine about the same whatever its size, so a longer wait saves CPU on a busy collector, but an SDK that sends one export at a time gets at most one export per wait: with the SDK default of 512 spans per export, about 500 spans/s at 1000 ms (lower it, or put an OpenTelemetry Collector in front, for a busier SDK). Audit events: audit_commit_interval_ms',
    }),
    audit_commit_interval_ms: Type.Integer({
      minimum: 0,
      maximum: 10_000,
      default: AUDIT_COMMIT_INTERVAL_MS,
      description: 'pacing of audit_events commits (ms; 0 = none): while the events arriving in 200 ms are fewer than 10,000, a commit starts at most this long after the one before. An event waits 200 ms for its batch after a quiet spell, at most this long plus an insert under a light or moderate stream, and 200 ms under a heavy one; its sender is acknowledged after the commit. Each insert costs the embedded engine about the same CPU however few its rows (a part per table and rollup view), so pacing keeps a trickle of events from keeping the engine busy, at the price of freshness (docs/store.md)',
    }),
  },
  { additionalProperties: false, default: {}, description: 'where ingested rows are stored' },
);

export const CollectorConfigSchema = Type.Object(
  {
    collector: Type.Object(
      {
        listen: Type.String({ ...HostPort, description: 'host:port of the ingest HTTP server (OTLP/HTTP /v1/traces, /v1/logs; /v1/audit; /healthz, /readyz); 4318 is the OTLP/HTTP port' }),
        tls: Type.Optional(Type.Object(
          {
            cert: Type.String({ minLength: 1, description: 'PEM certificate file of the collector' }),
            key: Type.String({ minLength: 1, description: 'PEM private key file of the collector' }),
          },
          { additionalProperties: false, description: 'serve HTTPS with this certificate; absent = plain HTTP (keep it on loopback or a trusted network)' },
        )),
        ingest_tokens: Type.Array(
          Type.Object(
            {
              name: Type.String({ ...Identifier, description: 'who holds the token (for the log; e.g. the relay or connector id)' }),
              sha256: Type.String({ pattern: '^[0-9a-f]{64}$', expected: '64 lower-case hex digits', description: 'the SHA-256 of the token, 64 lower-case hex digits (`tunnelwatch token hash`)' }),
              emitters: Type.Optional(Type.Array(Identifier, {
                minItems: 1,
                description: 'the relay and connector ids this token may send for: every audit event\'s emitter_id, rule snapshot\'s and check\'s connector_id, and configuration and ops report\'s emitter_id must be one of them, else 403 TW_ERR_INGEST_FORBIDDEN_EMITTER and nothing of the request is stored. Absent = any id (logged as a warning at start): a holder could then write records in another emitter\'s name',
              })),
            },
            { additionalProperties: false },
          ),
          { default: [], description: 'bearer tokens allowed to ingest (Authorization: Bearer <token>); only their SHA-256 is stored. Empty = every ingest request gets 401' },
        ),
        max_body_bytes: Type.Integer({ minimum: 1024, default: 16_777_216, description: 'largest request body, in bytes, both as sent and after gunzip; a larger one gets 413' }),
      },
      { additionalProperties: false },
    ),
    queue: Type.Object(
      {
        max_rows: Type.Integer({ minimum: 1, default: 200_000, description: 'most rows (events, spans, log records) accepted but not yet committed by the store; beyond it requests get 429 with Retry-After' }),
        max_bytes: Type.Integer({ minimum: 1024, default: 268_435_456, description: 'most request bytes (after gunzip) accepted but not yet committed; beyond it requests get 429 with Retry-After' }),
        retry_after_s: Type.Integer({ minimum: 1, maximum: 3600, default: 1, description: 'Retry-After (seconds) sent with 429 when the queue is full' }),
        store_retry_after_s: Type.Integer({ minimum: 1, maximum: 3600, default: 5, description: 'Retry-After (seconds) sent with 503 while the store is unreachable; also how often it is probed then' }),
      },
      { additionalProperties: false, default: {}, description: 'the bounded queue in front of the store writer' },
    ),
    store: StoreSection,
    dashboard: Type.Optional(DashboardSection),
    detection: DetectionSection,
    export: ExportSection,
    exporters: ExportersSection,
    log: LogSection,
  },
  { additionalProperties: false },
);

export type CollectorConfig = Static<typeof CollectorConfigSchema>;
export type StoreConfig = Static<typeof StoreSection>;
