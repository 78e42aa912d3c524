// Picks the tracer for a process from its `tracing:` config section.
import type { TracingConfig } from '../config/tracing-section.js';
import type { Logger } from '../log.js';
import { idOnlyTracer, type CallTracer } from './call-span.js';
import { createOtelTracer } from './otel-tracer.js';

export function createCallTracer(options: { serviceName: string; instanceId: string; config: TracingConfig; configFile: string; log: Logger }): CallTracer {
  return options.config.enabled ? createOtelTracer(options) : idOnlyTracer;
}
