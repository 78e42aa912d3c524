// One span per call and emitter, behind a small interface: the OpenTelemetry SDK when tracing is on, or
// ids only when it is off (audit events carry trace and span ids either way).
import { newSpanId, newTraceId } from '../ids.js';
import type { TraceContext } from '../trace-context.js';

export type SpanKindName = 'server' | 'client';

export interface CallSpan {
  readonly traceId: string;
  readonly spanId: string;
  setAttribute(key: string, value: string | number | boolean): void;
  addEvent(name: string, attributes?: Record<string, string | number>): void;
  /** status 'error' marks the span failed; the message says why. */
  end(status?: { error: boolean; message?: string }): void;
}

export interface SpanStart {
  name: string;
  kind: SpanKindName;
  /** Continue this trace; undefined starts a new one. */
  parent?: TraceContext;
  /** Epoch milliseconds (fractional, for µs precision) the call started; spans may be back-dated. */
  startTimeMs: number;
  attributes?: Record<string, string | number | boolean>;
}

export interface CallTracer {
  start(span: SpanStart): CallSpan;
  shutdown(): Promise<void>;
}

/** Tracing off: ids for the audit events, nothing exported. */
export const idOnlyTracer: CallTracer = {
  start(span) {
    return {
      traceId: span.parent?.traceId ?? newTraceId(),
      spanId: newSpanId(),
      setAttribute() {},
      addEvent() {},
      end() {},
    };
  },
  shutdown: async () => {},
};
