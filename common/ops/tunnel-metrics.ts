// Prometheus series of the relay and the connector (issue 8): calls by decision and status class, latency
// histograms, tunnel sessions and streams, the audit spool and drops. Calls are counted from the audit
// events themselves (an extra sink on the emitter), so a metric can never disagree with the audit trail
// about what happened. Label values are bounded: subaccount yes (at most MAX_SUBACCOUNTS distinct values,
// then "_other"), decision, status class, error type and deny reason (fixed vocabularies); never a path, a
// principal, a client IP or a raw status code.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AuditEvent } from '../audit/event.js';
import type { ShipperMetrics } from '../audit/shipper-metrics.js';
import type { AuditSink } from '../audit/sink.js';

export const MAX_SUBACCOUNTS = 500;
const OTHER = '_other';
/** Seconds; from a fast local call (1 ms) to the relay's default call deadline (120 s). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Keeps a label's distinct values bounded: the first `max` values seen pass, later ones become "_other". */
export function boundedLabel(max: number): (value: string) => string {
  const seen = new Set<string>();
  return (value) => {
    if (seen.has(value)) return value;
    if (seen.size >= max) return OTHER;
    seen.add(value);
    return value;
  };
}

/** Only the vocabulary a field may hold, so a bad emitter cannot explode the series count. */
function word(value: string): string {
  return /^[a-z0-9_]{0,40}$/.test(value) ? value : 'invalid';
}

/** One finished call, as the metrics see it. */
export interface CallObservation {
  readonly subaccount: string;
  readonly decision: string;
  /** HTTP status (0 for TCP or none sent). */
  readonly status: number;
  readonly error_type: string;
  readonly deny_reason: string;
  readonly duration_us: number;
  /** Connector only: backend phases, 0 when the call had none. */
  readonly backend_connect_us?: number;
  readonly backend_ttfb_us?: number;
}

export interface CallMetrics {
  observe(call: CallObservation): void;
  /**
   * The same as an audit sink (it never fails and keeps nothing), for the connector, which writes an event
   * for every call: put it after the durable sink, so a call is counted once its event is kept.
   */
  sink(): AuditSink;
}

export function createCallMetrics(registry: Registry, role: 'relay' | 'connector'): CallMetrics {
  const subaccount = boundedLabel(MAX_SUBACCOUNTS);
  const calls = new Counter({
    name: 'tunnelwatch_calls_total',
    help: `Calls the ${role} finished, by subaccount, decision, HTTP status class (2xx..5xx, "none" for TCP), error type and deny reason`,
    labelNames: ['subaccount', 'decision', 'status_class', 'error_type', 'deny_reason'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'tunnelwatch_call_duration_seconds',
    help: `Duration of calls at the ${role}, from the request's arrival to the end of the response, by subaccount and decision`,
    labelNames: ['subaccount', 'decision'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const phases = role === 'connector'
    ? {
        connect: new Histogram({ name: 'tunnelwatch_backend_connect_seconds', help: 'Time to open the backend connection (calls that opened one), by subaccount', labelNames: ['subaccount'] as const, buckets: LATENCY_BUCKETS, registers: [registry] }),
        ttfb: new Histogram({ name: 'tunnelwatch_backend_first_byte_seconds', help: 'Time from sending the request to the backend until its first response byte, by subaccount', labelNames: ['subaccount'] as const, buckets: LATENCY_BUCKETS, registers: [registry] }),
      }
    : undefined;
  const observe = (c: CallObservation): void => {
    const s = subaccount(c.subaccount);
    const decision = word(c.decision);
    calls.inc({ subaccount: s, decision, status_class: c.status > 0 ? `${Math.floor(c.status / 100)}xx` : 'none', error_type: word(c.error_type), deny_reason: word(c.deny_reason) });
    duration.observe({ subaccount: s, decision }, c.duration_us / 1e6);
    if (phases && (c.backend_connect_us ?? 0) > 0) phases.connect.observe({ subaccount: s }, (c.backend_connect_us ?? 0) / 1e6);
    if (phases && (c.backend_ttfb_us ?? 0) > 0) phases.ttfb.observe({ subaccount: s }, (c.backend_ttfb_us ?? 0) / 1e6);
  };
  return {
    observe,
    sink: () => ({
      write: (event: AuditEvent) => observe(event),
      flush: async () => {},
      close: async () => {},
    }),
  };
}

/** An audit sink that counts calls (createCallMetrics(...).sink()). */
export function callMetricsSink(registry: Registry, role: 'relay' | 'connector'): AuditSink {
  return createCallMetrics(registry, role).sink();
}

/** The audit spool and delivery, read from the shipper at scrape time (absent without audit.collector). */
export function registerShipperMetrics(registry: Registry, shipper: () => ShipperMetrics | undefined): void {
  const gauge = (name: string, help: string, read: (m: ShipperMetrics) => number): void => {
    const m = (): number | undefined => {
      const metrics = shipper();
      return metrics ? read(metrics) : undefined;
    };
    if (name.endsWith('_total')) mirroredCounter(registry, name, help, m);
    else {
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          const v = m();
          if (v !== undefined) this.set(v);
        },
      });
    }
  };
  gauge('tunnelwatch_audit_spool_bytes', 'Bytes of audit events kept on disk and not yet acknowledged by the collector', (m) => m.spool_bytes);
  gauge('tunnelwatch_audit_spool_max_bytes', 'Spool limit (audit.spool_max_bytes); at the limit audit.spool_full applies', (m) => m.spool_max_bytes);
  gauge('tunnelwatch_audit_spool_fill_ratio', 'spool bytes / spool limit (1 = full)', (m) => m.spool_fill_ratio);
  gauge('tunnelwatch_audit_unshipped_events', 'Audit events written but not yet acknowledged by the collector (ingest lag, in events)', (m) => m.unshipped_events);
  gauge('tunnelwatch_audit_refusing_calls', '1 while calls are refused because the spool is full (spool_full: refuse)', (m) => (m.refusing ? 1 : 0));
  gauge('tunnelwatch_audit_last_success_timestamp_seconds', 'When the collector last acknowledged a batch (0 = never)', (m) => (m.last_success_time ?? 0) / 1000);
  gauge('tunnelwatch_audit_shipped_events_total', 'Audit events the collector acknowledged', (m) => m.shipped_events_total);
  gauge('tunnelwatch_audit_failed_requests_total', 'Delivery requests to the collector that failed', (m) => m.failed_requests_total);
  gauge('tunnelwatch_audit_dropped_events_total', 'Audit events dropped from the spool by spool_full: drop_oldest', (m) => m.dropped_events_total);
  gauge('tunnelwatch_audit_dead_letters_total', 'Audit events the collector refused for good, kept in the dead-letter file', (m) => m.dead_letters_total);
}

/** A counter whose value another part keeps (read at scrape time), exposed with counter semantics. */
export function mirroredCounter(registry: Registry, name: string, help: string, read: () => number | undefined): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const v = read();
      if (v === undefined) return;
      this.reset();
      this.inc(v);
    },
  });
}

export interface TunnelGauges {
  /** Tunnel sessions by role/state label values, e.g. [{ labels: { state: 'registered' }, value: 1 }]. */
  sessions(): { labels: Record<string, string>; value: number }[];
  /** Open call streams. */
  streams(): number;
  /** Tunnel (re)connections since start. */
  connects(): number;
}

export function registerTunnelMetrics(registry: Registry, role: 'relay' | 'connector', gauges: TunnelGauges): void {
  new Gauge({
    name: 'tunnelwatch_tunnel_sessions',
    help: role === 'relay' ? 'Connector tunnel sessions the relay holds, by connector role and whether they take calls' : 'This connector\'s tunnel to the relay, by state (1 = in that state)',
    labelNames: role === 'relay' ? ['ha_role', 'active'] : ['state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of gauges.sessions()) this.set(s.labels, s.value);
    },
  });
  new Gauge({ name: 'tunnelwatch_tunnel_streams', help: 'Call streams open on the tunnel now', registers: [registry], collect() { this.set(gauges.streams()); } });
  new Gauge({ name: 'tunnelwatch_tunnel_connects_total', help: role === 'relay' ? 'Connector sessions registered since the relay started' : 'Tunnel connections this connector opened since it started', registers: [registry], collect() { this.set(gauges.connects()); } });
}
