// Schema pieces that relay, connector and later processes share. Defaults live here, units in names.
import { Type, type Static } from '@sinclair/typebox';

export const SUBACCOUNT_PATTERN = '^[a-z0-9][a-z0-9-]{0,63}$';
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';

// `expected` says what a value must look like; config errors quote it (descriptions say what a key is for).
export const Subaccount = Type.String({
  pattern: SUBACCOUNT_PATTERN,
  description: 'a subaccount id',
  expected: 'a subaccount id: lower-case letters, digits and -, 1-64 chars, starting with a letter or digit',
});
export const Identifier = Type.String({ pattern: ID_PATTERN, description: 'an id', expected: 'an id: letters, digits, ".", "_" and -, 1-128 chars' });

/** A TCP port, 1-65535, without leading zeros. */
const PORT = '([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';

/** host:port, where host may be a name, an IPv4 address or a bracketed IPv6 address. */
export const HostPort = Type.String({
  pattern: `^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+):${PORT}$`,
  description: 'host:port with a port from 1 to 65535, e.g. 127.0.0.1:8080',
  expected: 'host:port with a port from 1 to 65535, e.g. 127.0.0.1:8080',
});

export const LogSection = Type.Object(
  {
    level: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info', description: 'log level; logs are JSON lines (pino) on stderr, with secrets redacted' }),
  },
  { additionalProperties: false, default: {} },
);

export const AuditSection = Type.Object(
  {
    dir: Type.String({ minLength: 1, default: './data/audit', description: 'folder for the rotating NDJSON audit files (relative to the config file)' }),
    max_file_bytes: Type.Integer({ minimum: 4096, default: 104_857_600, description: 'rotate the audit file once it reaches this size (bytes)' }),
    stdout: Type.Boolean({ default: false, description: 'also write every audit event to stdout as NDJSON' }),
    secret_query_params: Type.Array(Type.String({ minLength: 1 }), {
      default: ['password', 'passwd', 'pwd', 'token', 'access_token', 'refresh_token', 'id_token', 'api_key', 'apikey', 'secret', 'client_secret', 'signature', 'sig', 'code'],
      description: 'query parameters whose values become REDACTED in audit events (case-insensitive)',
    }),
    fsync: Type.Union([Type.Literal('batch'), Type.Literal('interval'), Type.Literal('never')], {
      default: 'batch',
      description: 'when written audit events count as kept (and may be shipped): batch = after an fdatasync of each group-commit write (off the event loop), interval = at once, with an fdatasync at most every fsync_interval_ms, never = at once, the OS flushes when it likes (a power loss can lose the last seconds); see docs/audit-delivery.md',
    }),
    fsync_interval_ms: Type.Integer({ minimum: 1, default: 1000, description: 'with fsync: interval, the longest time between two fdatasyncs of the audit file (ms)' }),
    collector: Type.Optional(
      Type.Object(
        {
          url: Type.String({
            pattern: '^https?://[^\\s/?#]+(/[^\\s?#]*)?$',
            description: 'base URL of the collector; events go to `POST <url>/v1/audit` (and a connector\'s rules snapshot to `POST <url>/v1/rules`)',
            expected: 'an http:// or https:// URL without query, e.g. https://collector.example:4318',
          }),
          token_file: Type.String({ minLength: 1, description: 'file holding the collector ingest token (relative to the config file); read at start and again after a 401/403, never logged' }),
          ca_file: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA bundle to trust for an https collector (default: the system CAs)' })),
          batch_max_events: Type.Integer({ minimum: 1, default: 10_000, description: 'most events in one POST' }),
          batch_max_bytes: Type.Integer({ minimum: 1024, default: 16_777_216, description: 'most NDJSON bytes (before gzip) in one POST; a larger single event goes alone' }),
          flush_interval_ms: Type.Integer({ minimum: 1, default: 200, description: 'longest time a kept event waits for more to fill a batch before it is sent (ms)' }),
          request_timeout_ms: Type.Integer({ minimum: 100, default: 30_000, description: 'a POST without an answer after this long is abandoned and retried (ms)' }),
        },
        { additionalProperties: false, description: 'ship the audit files to a collector; absent = files only' },
      ),
    ),
    spool_max_bytes: Type.Integer({ minimum: 4096, default: 1_073_741_824, description: 'with a collector: most bytes of audit events not yet acknowledged by it (the spool); then spool_full applies' }),
    spool_full: Type.Union([Type.Literal('refuse'), Type.Literal('drop_oldest')], {
      default: 'refuse',
      description: 'when the spool is full: refuse = refuse new calls with 503 TW_ERR_AUDIT_UNAVAILABLE until the collector catches up (never an unaudited call); drop_oldest = give up shipping the oldest unshipped events (they stay in the files), counted and logged',
    }),
    keep_shipped_days: Type.Optional(Type.Integer({ minimum: 1, description: 'with a collector: delete audit files whose events were all acknowledged and that were last written this many days ago; absent = keep every file' })),
  },
  { additionalProperties: false, default: {} },
);

export const TlsFiles = Type.Object(
  {
    cert: Type.String({ minLength: 1, description: 'PEM certificate file of this end' }),
    key: Type.String({ minLength: 1, description: 'PEM private key file of this end' }),
    ca: Type.String({ minLength: 1, description: 'PEM CA bundle that signs the other end\'s certificate' }),
  },
  { additionalProperties: false },
);

export type AuditConfig = Static<typeof AuditSection>;
export type TlsFilesConfig = Static<typeof TlsFiles>;

export function splitHostPort(value: string): { host: string; port: number } {
  const idx = value.lastIndexOf(':');
  let host = value.slice(0, idx);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: Number(value.slice(idx + 1)) };
}
