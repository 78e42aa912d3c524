// The webhook exporter type (docs/siem.md, "Webhook"): its keys in collector.yaml and how it is built.
import { Type, type Static } from '@sinclair/typebox';
import { readConfiguredFile } from '../../../common/config/load-config.js';
import type { ExporterBaseConfig, ExporterFactory } from '../types.js';
import { createPoster } from './http-post.js';
import { readSecret } from './secret.js';
import { webhookExporter as build } from './webhook-exporter.js';

const WebhookKeys = Type.Object(
  {
    url: Type.String({
      pattern: '^https?://[^\\s#]+$',
      expected: 'an http:// or https:// URL, e.g. https://soar.example/hooks/tunnelwatch',
      description: 'where batches are POSTed (https:// outside a trusted network)',
    }),
    secret_file: Type.Optional(Type.String({ minLength: 1, description: 'file holding the HMAC-SHA256 secret (relative to the config file; at least 16 characters); re-read after a failure; never logged. Set this or secret_env' })),
    secret_env: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', expected: 'an environment variable name', description: 'environment variable holding the HMAC-SHA256 secret instead of secret_file' })),
    ca_file: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA bundle to trust for an https url (default: the system CAs)' })),
    timeout_ms: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000, description: 'a POST without a complete answer after this long is abandoned and retried (ms)' }),
    streams: Type.Array(Type.Union([Type.Literal('audit'), Type.Literal('findings')]), {
      minItems: 1, uniqueItems: true, default: ['findings'],
      description: 'what it sends: findings by default; add audit to send every audit event too',
    }),
    batch_size: Type.Integer({ minimum: 1, maximum: 10_000, default: 500, description: 'records per POST' }),
  },
  { additionalProperties: false },
);

export type WebhookConfig = ExporterBaseConfig & Static<typeof WebhookKeys>;

export const webhookExporter: ExporterFactory<WebhookConfig> = {
  type: 'webhook',
  summary: 'HTTP(S) POST of findings (and optionally audit events) as signed JSON batches',
  configSchema: WebhookKeys,
  create(config, context) {
    const load = () => readSecret(config.name, config, context.configFile);
    let secret = load();
    const url = new URL(config.url);
    const ca = config.ca_file ? readConfiguredFile(context.configFile, `exporters: ${config.name}.ca_file`, config.ca_file) : undefined;
    const poster = createPoster(url, { timeoutMs: config.timeout_ms, ...(ca ? { ca } : {}) });
    return build({
      name: config.name,
      streams: config.streams,
      batchSize: config.batch_size,
      url,
      secret: () => secret,
      reload: () => void (secret = load()),
      post: poster.post,
      close: poster.close,
    });
  },
};
