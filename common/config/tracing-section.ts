// tracing: in relay.yaml and connector.yaml. Spans go over OTLP/HTTP (protobuf) to the collector or to
// any OTLP endpoint.
import { Type, type Static } from '@sinclair/typebox';

export const TracingSection = Type.Object(
  {
    enabled: Type.Boolean({ default: false, description: 'export a span per call (and a client span to the backend) over OTLP; trace and span ids are in audit events either way' }),
    otlp_endpoint: Type.String({ default: 'http://127.0.0.1:4318', pattern: '^https?://', expected: 'an http:// or https:// URL', description: 'OTLP/HTTP base URL; spans are POSTed to <otlp_endpoint>/v1/traces' }),
    token_file: Type.Optional(Type.String({ minLength: 1, description: 'file holding a bearer token for the OTLP endpoint (the collector\'s ingest token); never logged' })),
    batch_delay_ms: Type.Integer({ minimum: 10, default: 500, description: 'longest time a finished span waits before it is exported (ms)' }),
    max_queue_spans: Type.Integer({ minimum: 100, default: 16_384, description: 'spans held while the endpoint is slow or down; beyond this new spans are dropped and counted' }),
  },
  { additionalProperties: false, default: {} },
);

export type TracingConfig = Static<typeof TracingSection>;
