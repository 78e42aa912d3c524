// One trace: its spans as a waterfall, the latency phases, and the audit events of the call(s) in it.
// Scope: a trace is shown to a scoped principal only through its audit events (the record of which
// subaccount the call belonged to); a trace with spans but no audit events is visible only to
// unscoped principals, since nothing ties it to a tenant.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { TunnelwatchError } from '../../common/errors.js';
import type { DashboardContext } from '../context.js';
import { canSeeSubaccount } from '../roles.js';
import { AuditEventSchema, EVENT_COLUMNS, toEvent, type EventRow } from './calls-event.js';
import { ErrorResponse, principalOf, query } from './query-kit.js';
import { nanosIso, phasesOf, readSpans, toWaterfall, visibleSpans } from './trace-spans.js';

const Params = Type.Object({
  trace_id: Type.String({ pattern: '^[0-9a-fA-F]{32}$', description: 'W3C trace id (32 hex digits)' }),
});
type ParamsT = Static<typeof Params>;

const Attributes = Type.Record(Type.String(), Type.String());

const SpanSchema = Type.Object({
  span_id: Type.String(),
  parent_span_id: Type.String({ description: '"" for a root; may name a span outside this trace view (e.g. the cloud app\'s)' }),
  depth: Type.Integer({ description: 'nesting level in the waterfall (0 = root)' }),
  name: Type.String(),
  service: Type.String({ description: 'resource attribute service.name (tunnelwatch-relay, tunnelwatch-connector, ...)' }),
  service_instance: Type.String({ description: 'service.instance.id: the relay or connector id' }),
  kind: Type.String({ description: 'Server, Client, Internal, ...' }),
  start: Type.String({ description: 'RFC 3339, nanoseconds' }),
  start_offset_us: Type.Number({ description: 'µs after the first span of the trace' }),
  duration_us: Type.Number({ description: 'µs' }),
  status_code: Type.String({ description: 'Unset, Ok or Error' }),
  status_message: Type.String(),
  attributes: Attributes,
  events: Type.Array(Type.Object({ name: Type.String(), time: Type.String(), offset_us: Type.Number(), attributes: Attributes })),
});

const PhaseSchema = Type.Object({
  phase: Type.Union([Type.Literal('relay'), Type.Literal('tunnel'), Type.Literal('backend_connect'), Type.Literal('backend_ttfb')]),
  label: Type.String(),
  duration_us: Type.Number(),
  span_id: Type.String({ description: 'the span carrying the figure (tunnelwatch.phase.* attribute)' }),
  start_offset_us: Type.Number({ description: 'where the phase begins on the waterfall' }),
});

const TraceResponse = Type.Object({
  trace_id: Type.String(),
  start: Type.Union([Type.String(), Type.Null()], { description: 'first span (or first audit event) of the trace' }),
  duration_us: Type.Number({ description: 'first span start to last span end (µs); 0 without spans' }),
  spans: Type.Array(SpanSchema, { description: 'depth-first: each span follows its parent, siblings by start' }),
  phases: Type.Array(PhaseSchema, { description: 'latency phases the spans carry (docs/tracing.md)' }),
  audit_events: Type.Array(AuditEventSchema, { description: 'audit events of the trace, oldest first; they hold duration_us, backend_connect_us and backend_ttfb_us' }),
  subaccounts: Type.Array(Type.String(), { description: 'subaccounts of those events' }),
});

export async function traceRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  app.get<{ Params: ParamsT }>('/api/v1/traces/:trace_id', {
    config: { access: 'analyst' },
    schema: {
      tags: ['traces'],
      summary: 'One trace: spans, latency phases and audit events',
      description: 'Spans from otel_traces (found through otel_traces_trace_id_ts), the phases relay and connector measure, and the audit events with the same trace_id. 404 when the trace is unknown, when its audit events are all outside your scope, or when it has no audit events and you are scoped to subaccounts.',
      params: Params,
      response: { 200: TraceResponse, 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 503: ErrorResponse },
    },
  }, async (request) => {
    const principal = principalOf(request);
    const traceId = request.params.trace_id.toLowerCase();
    const notFound = (): TunnelwatchError => new TunnelwatchError('TW_ERR_DASH_NOT_FOUND', `no trace ${traceId}`);

    // The bloom-filter index on trace_id skips the granules that cannot hold it.
    const eventRows = await query<EventRow>(ctx,
      `SELECT ${EVENT_COLUMNS} FROM audit_events FINAL WHERE trace_id = {t:String} ORDER BY ts, event_id LIMIT 1000`, { t: traceId });
    const events = eventRows.map(toEvent);
    const mine = events.filter((e) => canSeeSubaccount(principal, e.subaccount));
    if (events.length > 0 && mine.length === 0) throw notFound();
    if (events.length === 0 && principal.subaccounts !== '*') throw notFound();

    const { rows, startNs } = await readSpans(ctx, traceId);
    if (rows.length === 0 && events.length === 0) throw notFound();
    const spans = visibleSpans(toWaterfall(rows, startNs), principal);
    const end = spans.reduce((max, s) => Math.max(max, s.start_offset_us + s.duration_us), 0);
    const firstSpan = spans.reduce<string | null>((first, s) => (first === null || s.start < first ? s.start : first), null);
    return {
      trace_id: traceId,
      start: firstSpan ?? mine[0]?.ts ?? (startNs ? nanosIso(startNs) : null),
      duration_us: spans.length > 0 ? end - Math.min(...spans.map((s) => s.start_offset_us)) : 0,
      spans,
      phases: phasesOf(spans),
      audit_events: mine,
      subaccounts: [...new Set(mine.map((e) => e.subaccount))].sort(),
    };
  });
}
