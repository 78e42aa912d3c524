// CallTracer on the OpenTelemetry JS SDK: BasicTracerProvider, a bounded BatchSpanProcessor and the
// OTLP/HTTP protobuf exporter. Spans are created with an explicit parent, never from ambient context:
// each call's trace comes from its traceparent (or starts fresh), nothing else.
import { readFileSync } from 'node:fs';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Attributes } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { TracingConfig } from '../config/tracing-section.js';
import { resolveFrom } from '../config/load-config.js';
import type { Logger } from '../log.js';
import type { CallSpan, CallTracer } from './call-span.js';

export interface OtelTracerOptions {
  serviceName: string;
  /** service.instance.id: the relay or connector id. */
  instanceId: string;
  config: TracingConfig;
  configFile: string;
  log: Logger;
}

export function createOtelTracer(options: OtelTracerOptions): CallTracer {
  const headers: Record<string, string> = {};
  if (options.config.token_file) {
    headers.authorization = `Bearer ${readFileSync(resolveFrom(options.configFile, options.config.token_file), 'utf8').trim()}`;
  }
  const exporter = new OTLPTraceExporter({ url: `${options.config.otlp_endpoint.replace(/\/$/, '')}/v1/traces`, headers, timeoutMillis: 10_000 });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      [ATTR_SERVICE_VERSION]: '0.1.0',
      'service.instance.id': options.instanceId,
    }),
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        maxQueueSize: options.config.max_queue_spans,
        // The processor sends one export at a time and the collector answers after its commit (up to
        // ~1 s, docs/store.md): large exports keep a busy relay or connector ahead of its spans, and fewer
        // requests cost both sides less. Half the queue, so a new batch gathers while one is in flight.
        maxExportBatchSize: Math.max(512, Math.min(8192, Math.floor(options.config.max_queue_spans / 2))),
        scheduledDelayMillis: options.config.batch_delay_ms,
      }),
    ],
  });
  const tracer = provider.getTracer('tunnelwatch', '0.1.0');
  options.log.info({ endpoint: options.config.otlp_endpoint }, 'exporting spans over OTLP');

  return {
    start(span): CallSpan {
      const parent = span.parent?.parentSpanId
        ? trace.setSpanContext(ROOT_CONTEXT, {
            traceId: span.parent.traceId,
            spanId: span.parent.parentSpanId,
            traceFlags: TraceFlags.SAMPLED,
            isRemote: true,
          })
        : ROOT_CONTEXT;
      const s = tracer.startSpan(
        span.name,
        { kind: span.kind === 'server' ? SpanKind.SERVER : SpanKind.CLIENT, startTime: span.startTimeMs, attributes: span.attributes as Attributes },
        parent,
      );
      const ctx = s.spanContext();
      return {
        traceId: ctx.traceId,
        spanId: ctx.spanId,
        setAttribute: (k, v) => void s.setAttribute(k, v),
        addEvent: (name, attributes) => void s.addEvent(name, attributes),
        end(status) {
          if (status?.error) s.setStatus({ code: SpanStatusCode.ERROR, message: status.message });
          // Explicit, sub-millisecond end time: the SDK would otherwise measure from the span's creation,
          // which for a back-dated span is later than its start.
          s.end(performance.timeOrigin + performance.now());
        },
      };
    },
    shutdown: () => provider.shutdown(),
  };
}
