// Operational alerts (docs/alerts.md): what relay and connector tell the collector at `POST /v1/ops`
// (schema tunnelwatch.ops/1), and the `alerts:` section of relay.yaml and connector.yaml. The collector
// turns each event into a finding of detector `ops_<type>`, so the SIEM exporters and the webhook deliver
// alerts exactly as they deliver findings.
//
// An alert has episodes: one stretch of "the tunnel of connector X is down", one certificate expiring. The
// `episode` key (with type, emitter and subject) makes the finding id, so every re-send and every update of
// an episode (a higher severity, its resolution) lands on the same finding.
import { Type, type Static } from '@sinclair/typebox';
import { ID_PATTERN } from '../config/schema-parts.js';

export const OPS_SCHEMA = 'tunnelwatch.ops/1';

export const OPS_TYPES = ['tunnel_down', 'failover', 'spool_filling', 'cert_expiring', 'exporter_stuck'] as const;
export type OpsType = (typeof OPS_TYPES)[number];
/** What a relay or connector may send; exporter_stuck is the collector's own. */
export const REMOTE_OPS_TYPES: readonly OpsType[] = ['tunnel_down', 'failover', 'spool_filling', 'cert_expiring'];

export type OpsSeverity = 'low' | 'medium' | 'high' | 'critical';
export type OpsEmitter = 'relay' | 'connector' | 'collector';

export interface OpsEvent {
  readonly type: OpsType;
  /** firing: the condition holds (again, or worse); resolved: it is over. */
  readonly state: 'firing' | 'resolved';
  /** RFC 3339: when the emitter saw this. */
  readonly at: string;
  /** What the alert is about: a connector id, an emitter id, `<emitter_id>/<config key>` of a certificate, an exporter. */
  readonly subject: string;
  /**
   * Which episode: required when firing. A resolved event without it is a "clear": nothing is wrong with
   * the subject now, so whatever is still open for it (left by an earlier run of the emitter) closes.
   */
  readonly episode?: string;
  /** RFC 3339: when the condition began (default `at`). */
  readonly since?: string;
  /** Default per type (docs/alerts.md). */
  readonly severity?: OpsSeverity;
  /** The figures behind it (flat: strings, numbers, booleans, lists of strings). */
  readonly detail: Readonly<Record<string, string | number | boolean | null | readonly string[]>>;
}

export interface OpsBatch {
  readonly schema: typeof OPS_SCHEMA;
  readonly emitter: OpsEmitter;
  readonly emitter_id: string;
  readonly events: readonly OpsEvent[];
}

export const MAX_OPS_EVENTS = 500;
const RFC3339 = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$';
const Time = Type.String({ pattern: RFC3339, maxLength: 40 });
const DetailValue = Type.Union([
  Type.String({ maxLength: 2000 }), Type.Number(), Type.Boolean(), Type.Null(),
  Type.Array(Type.String({ maxLength: 300 }), { maxItems: 200 }),
]);

export const OpsEventSchema = Type.Object(
  {
    type: Type.Union(REMOTE_OPS_TYPES.map((t) => Type.Literal(t))),
    state: Type.Union([Type.Literal('firing'), Type.Literal('resolved')]),
    at: Time,
    subject: Type.String({ minLength: 1, maxLength: 300 }),
    episode: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    since: Type.Optional(Time),
    severity: Type.Optional(Type.Union(['low', 'medium', 'high', 'critical'].map((s) => Type.Literal(s)))),
    detail: Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }), DetailValue, { maxProperties: 40, additionalProperties: false }),
  },
  { additionalProperties: false },
);

export const OpsBatchSchema = Type.Object(
  {
    schema: Type.Literal(OPS_SCHEMA),
    emitter: Type.Union([Type.Literal('relay'), Type.Literal('connector')]),
    emitter_id: Type.String({ pattern: ID_PATTERN }),
    events: Type.Array(OpsEventSchema, { minItems: 1, maxItems: MAX_OPS_EVENTS }),
  },
  { additionalProperties: false },
);

/** What the JSON schema cannot say; undefined when the batch is fine. */
export function opsBatchProblem(batch: OpsBatch): string | undefined {
  for (const [i, e] of batch.events.entries()) {
    if (Number.isNaN(Date.parse(e.at))) return `events[${i}].at: not a valid time`;
    if (e.since !== undefined && Number.isNaN(Date.parse(e.since))) return `events[${i}].since: not a valid time`;
    if (e.since !== undefined && Date.parse(e.since) > Date.parse(e.at)) return `events[${i}].since: after at`;
    if (e.state === 'firing' && e.episode === undefined) return `events[${i}]: a firing event needs an episode`;
  }
  return undefined;
}

// relay.yaml / connector.yaml `alerts:`. Delivery needs no settings of its own: events go to the collector
// of audit.collector, with its token and CA.
const common = {
  cert_warn_days: Type.Integer({ minimum: 1, default: 30, description: 'alert (medium) when a certificate this process presents or trusts expires within this many days' }),
  cert_high_days: Type.Integer({ minimum: 0, default: 7, description: 'the certificate alert becomes high within this many days, and when the certificate has expired' }),
  cert_check_interval_ms: Type.Integer({ minimum: 1000, maximum: 86_400_000, default: 43_200_000, description: 'how often the certificates are checked (ms; also once at start)' }),
  spool_check_interval_ms: Type.Integer({ minimum: 100, default: 10_000, description: 'how often the audit spool\'s fill is checked (ms): alert at 80 % (medium) or when calls are refused (high), resolved below 60 %' }),
  queue_max_events: Type.Integer({ minimum: 1, default: 1000, description: 'most alerts held for the collector while it cannot be reached; then the oldest are dropped (counted, logged)' }),
};

export const ConnectorAlertsSection = Type.Object(common, {
  additionalProperties: false,
  default: {},
  description: 'operational alerts (docs/alerts.md): sent to the collector of audit.collector as `POST <url>/v1/ops`, only logged without one',
});

export const RelayAlertsSection = Type.Object(
  {
    tunnel_down_grace_ms: Type.Integer({ minimum: 0, default: 30_000, description: 'a connector whose tunnel session ended and that has not registered again within this long is reported down (ms)' }),
    ...common,
  },
  { additionalProperties: false, default: {}, description: ConnectorAlertsSection.description as string },
);

export type ConnectorAlertsConfig = Static<typeof ConnectorAlertsSection>;
export type RelayAlertsConfig = Static<typeof RelayAlertsSection>;
