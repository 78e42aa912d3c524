// The spans of one trace, shaped for a waterfall: read from otel_traces within the time window that
// otel_traces_trace_id_ts gives (the OpenTelemetry ClickHouse exporter's lookup, so only the trace's
// partitions are read), ordered as a tree (parents before children), with times relative to the trace's
// first span, and the latency phases the relay and connector put on their spans (docs/tracing.md).
import type { DashboardContext } from '../context.js';
import { canSeeSubaccount, type Principal } from '../roles.js';
import { num, query } from './query-kit.js';

export interface SpanEvent {
  readonly name: string;
  readonly time: string;
  readonly offset_us: number;
  readonly attributes: Record<string, string>;
}

export interface Span {
  readonly span_id: string;
  readonly parent_span_id: string;
  readonly depth: number;
  readonly name: string;
  readonly service: string;
  readonly service_instance: string;
  readonly kind: string;
  readonly start: string;
  readonly start_offset_us: number;
  readonly duration_us: number;
  readonly status_code: string;
  readonly status_message: string;
  readonly attributes: Record<string, string>;
  readonly events: SpanEvent[];
}

export type PhaseName = 'relay' | 'tunnel' | 'backend_connect' | 'backend_ttfb';

export interface Phase {
  readonly phase: PhaseName;
  readonly label: string;
  readonly duration_us: number;
  /** The span that carries the figure. */
  readonly span_id: string;
  /** Where the phase begins on the waterfall (µs from the trace start). */
  readonly start_offset_us: number;
}

interface SpanRecord {
  ts: string;
  SpanId: string;
  ParentSpanId: string;
  SpanName: string;
  SpanKind: string;
  service: string;
  instance: string;
  Duration: string | number;
  StatusCode: string;
  StatusMessage: string;
  SpanAttributes: Record<string, string>;
  event_times: string[];
  event_names: string[];
  event_attributes: Record<string, string>[];
}

/** 'YYYY-MM-DD hh:mm:ss.nnnnnnnnn' (UTC) as Unix nanoseconds; beyond 2^53, hence bigint. */
export function parseNanos(text: string): bigint {
  const [date, time = '00:00:00'] = text.split(' ');
  const [whole = '00:00:00', fraction = ''] = time.split('.');
  const ms = Date.parse(`${date}T${whole}Z`);
  if (!Number.isFinite(ms)) return 0n;
  return BigInt(ms) * 1_000_000n + BigInt(fraction.padEnd(9, '0').slice(0, 9) || '0');
}

/** Unix nanoseconds as RFC 3339 with nine decimals. */
export function nanosIso(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${fraction}Z`;
}

const micros = (ns: bigint): number => Number(ns) / 1000;

/** The trace's spans as stored, or [] when the lookup table does not know the trace id. */
export async function readSpans(ctx: DashboardContext, traceId: string): Promise<{ rows: SpanRecord[]; startNs: bigint }> {
  const [window] = await query<{ n: string; start: string; end: string }>(ctx,
    'SELECT count() AS n, min(Start) AS start, max(End) AS end FROM otel_traces_trace_id_ts WHERE TraceId = {t:String}', { t: traceId });
  if (!window || num(window.n) === 0) return { rows: [], startNs: 0n };
  // Start/End are whole seconds (DateTime): the last span may begin up to a second after End.
  const rows = await query<SpanRecord>(ctx, `
    SELECT toString(Timestamp) AS ts, SpanId, ParentSpanId, SpanName, SpanKind,
           if(ResourceAttributes['service.name'] != '', ResourceAttributes['service.name'], ServiceName) AS service,
           ResourceAttributes['service.instance.id'] AS instance,
           Duration, StatusCode, StatusMessage, SpanAttributes,
           arrayMap(t -> toString(t), Events.Timestamp) AS event_times, Events.Name AS event_names, Events.Attributes AS event_attributes
    FROM otel_traces
    WHERE TraceId = {t:String} AND Timestamp >= toDateTime64({start:DateTime}, 9) AND Timestamp < toDateTime64({end:DateTime}, 9) + toIntervalSecond(1)
    ORDER BY Timestamp, SpanId
    LIMIT 10000`, { t: traceId, start: window.start, end: window.end });
  const startNs = rows.reduce((min, r) => {
    const ns = parseNanos(r.ts);
    return min === 0n || ns < min ? ns : min;
  }, 0n);
  return { rows, startNs };
}

/** Spans as a tree in depth-first order (siblings by start time); orphans (remote parents) are roots. */
export function toWaterfall(rows: readonly SpanRecord[], startNs: bigint): Span[] {
  const byId = new Map<string, SpanRecord>();
  for (const r of rows) if (!byId.has(r.SpanId)) byId.set(r.SpanId, r);
  const children = new Map<string, SpanRecord[]>();
  const roots: SpanRecord[] = [];
  for (const r of byId.values()) {
    if (r.ParentSpanId && r.ParentSpanId !== r.SpanId && byId.has(r.ParentSpanId)) {
      const list = children.get(r.ParentSpanId) ?? [];
      list.push(r);
      children.set(r.ParentSpanId, list);
    } else roots.push(r);
  }
  const out: Span[] = [];
  const seen = new Set<string>();
  const visit = (r: SpanRecord, depth: number): void => {
    if (seen.has(r.SpanId)) return;
    seen.add(r.SpanId);
    out.push(shape(r, depth, startNs));
    for (const child of children.get(r.SpanId) ?? []) visit(child, depth + 1);
  };
  for (const root of roots) visit(root, 0);
  // Spans caught in a parent cycle (bad data) are still shown, as roots.
  for (const r of byId.values()) visit(r, 0);
  return out;
}

function shape(r: SpanRecord, depth: number, startNs: bigint): Span {
  const ns = parseNanos(r.ts);
  return {
    span_id: r.SpanId,
    parent_span_id: r.ParentSpanId,
    depth,
    name: r.SpanName,
    service: r.service,
    service_instance: r.instance,
    kind: r.SpanKind,
    start: nanosIso(ns),
    start_offset_us: micros(ns - startNs),
    duration_us: micros(BigInt(String(r.Duration || '0'))),
    status_code: r.StatusCode,
    status_message: r.StatusMessage,
    attributes: r.SpanAttributes,
    events: r.event_names.map((name, i) => {
      const at = parseNanos(r.event_times[i] ?? '');
      return { name, time: nanosIso(at), offset_us: micros(at - startNs), attributes: r.event_attributes[i] ?? {} };
    }),
  };
}

/**
 * What a scoped principal may see: spans that name one of its subaccounts (tunnelwatch.subaccount), and
 * spans without that attribute under such a span (the connector's backend span). A cloud app could reuse
 * another tenant's trace id; those spans name the other subaccount and stay hidden.
 */
export function visibleSpans(spans: readonly Span[], principal: Principal): Span[] {
  if (principal.subaccounts === '*') return [...spans];
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  const verdict = new Map<string, boolean>();
  const visible = (s: Span, hops: number): boolean => {
    const known = verdict.get(s.span_id);
    if (known !== undefined) return known;
    const subaccount = s.attributes['tunnelwatch.subaccount'];
    const parent = byId.get(s.parent_span_id);
    const yes = subaccount !== undefined ? canSeeSubaccount(principal, subaccount) : parent !== undefined && hops < 64 && visible(parent, hops + 1);
    verdict.set(s.span_id, yes);
    return yes;
  };
  return rebase(spans.filter((s) => visible(s, 0)));
}

/** Offsets from the first of these spans, so that hidden spans do not shift (or reveal) the timeline. */
function rebase(spans: Span[]): Span[] {
  const first = Math.min(...spans.map((s) => s.start_offset_us));
  if (!Number.isFinite(first) || first === 0) return spans;
  return spans.map((s) => ({
    ...s,
    start_offset_us: s.start_offset_us - first,
    events: s.events.map((e) => ({ ...e, offset_us: e.offset_us - first })),
  }));
}

const PHASES: readonly { phase: PhaseName; label: string; attribute: string }[] = [
  { phase: 'relay', label: 'Relay', attribute: 'tunnelwatch.phase.relay_us' },
  { phase: 'tunnel', label: 'Tunnel', attribute: 'tunnelwatch.phase.tunnel_us' },
  { phase: 'backend_connect', label: 'Backend connect', attribute: 'tunnelwatch.phase.backend_connect_us' },
  { phase: 'backend_ttfb', label: 'Backend first byte', attribute: 'tunnelwatch.phase.backend_ttfb_us' },
];

/**
 * The phases the spans carry, placed on the waterfall: relay and connect from their span's start; the
 * tunnel phase ends where the connector's span starts (it began when the relay received the call); first
 * byte follows the connect (the request is sent once connected: an indicative position).
 */
export function phasesOf(spans: readonly Span[]): Phase[] {
  const out: Phase[] = [];
  for (const span of spans) {
    for (const p of PHASES) {
      const raw = span.attributes[p.attribute];
      if (raw === undefined || raw === '' || !Number.isFinite(Number(raw))) continue;
      const duration = Number(raw);
      let start = span.start_offset_us;
      if (p.phase === 'tunnel') start = Math.max(0, span.start_offset_us - duration);
      if (p.phase === 'backend_ttfb') start += Number(span.attributes['tunnelwatch.phase.backend_connect_us'] ?? 0) || 0;
      out.push({ phase: p.phase, label: p.label, duration_us: duration, span_id: span.span_id, start_offset_us: start });
    }
  }
  return out;
}
