// The keys of an `type: elasticsearch` entry of collector.yaml's `exporters:` list (docs/siem-elasticsearch.md).
// Secrets are never values of this file: the password and the API key come from a file or an environment
// variable, and node URLs may not carry user:password.
import { Type, type Static } from '@sinclair/typebox';
import type { ExporterBaseConfig } from '../types.js';

const EnvName = Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', expected: 'an environment variable name' });

const Auth = Type.Object(
  {
    username: Type.Optional(Type.String({ minLength: 1, description: 'basic auth: the user name (with password_file or password_env)' })),
    password_file: Type.Optional(Type.String({ minLength: 1, description: 'basic auth: file holding the password (relative to the config file); never logged' })),
    password_env: Type.Optional(Type.String({ ...EnvName, description: 'basic auth: environment variable holding the password, instead of password_file' })),
    api_key_file: Type.Optional(Type.String({ minLength: 1, description: 'API key auth: file holding the key, either "encoded" as Elasticsearch returns it or "id:api_key"; never logged' })),
    api_key_env: Type.Optional(Type.String({ ...EnvName, description: 'API key auth: environment variable holding the key, instead of api_key_file' })),
  },
  { additionalProperties: false, description: 'how to authenticate: an API key (api_key_file or api_key_env) or basic auth (username with password_file or password_env); absent = no authentication' },
);

const Tls = Type.Object(
  {
    ca_file: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA bundle that signs the cluster\'s certificate (default: the system CAs)' })),
    verify: Type.Boolean({ default: true, description: 'verify the cluster\'s certificate and host name; false only for a lab, it lets anyone in the path read the events' }),
    cert_file: Type.Optional(Type.String({ minLength: 1, description: 'PEM client certificate, for a cluster that authenticates clients by certificate (PKI realm)' })),
    key_file: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key of cert_file' })),
  },
  { additionalProperties: false, default: {}, description: 'TLS to https:// nodes' },
);

export const EsKeys = Type.Object(
  {
    nodes: Type.Array(
      Type.String({
        pattern: '^https?://[^\\s/@?#]+(/[^\\s?#@]*)?$',
        expected: 'an http:// or https:// URL without credentials or query, e.g. https://es1.example:9200',
        description: 'a node URL',
      }),
      { minItems: 1, description: 'Elasticsearch node URLs (https:// outside a trusted network); requests are spread over them' },
    ),
    namespace: Type.String({
      pattern: '^[a-z0-9_]{1,100}$',
      default: 'default',
      expected: 'lower-case letters, digits and _, 1-100 chars (no "-": it separates the parts of a data stream name)',
      description: 'the data stream namespace: events go to logs-tunnelwatch.audit-<namespace> and logs-tunnelwatch.finding-<namespace>',
    }),
    auth: Type.Optional(Auth),
    tls: Tls,
    request_timeout_ms: Type.Integer({ minimum: 100, maximum: 600_000, default: 30_000, description: 'a bulk request without an answer after this long is abandoned, and its records sent again (ms)' }),
    pipeline: Type.Optional(Type.String({ minLength: 1, description: 'ingest pipeline to run on every document (must exist: a missing one stops the exporter until it does)' })),
    flush_bytes: Type.Integer({ minimum: 1024, maximum: 104_857_600, default: 5_000_000, description: 'a batch is cut into bulk requests of about this many bytes (Elasticsearch refuses bodies over http.max_content_length, 100 MB by default)' }),
    concurrency: Type.Integer({ minimum: 1, maximum: 16, default: 2, description: 'bulk requests in flight at once: batches sent side by side (a batch under flush_bytes is one request)' }),
    compression: Type.Boolean({ default: false, description: 'gzip request bodies (less network, more CPU on both ends)' }),
    batch_size: Type.Integer({ minimum: 1, maximum: 50_000, default: 2000, description: 'records per send (cut into bulk requests by flush_bytes)' }),
  },
  { additionalProperties: false },
);

export type EsConfig = ExporterBaseConfig & Static<typeof EsKeys>;
