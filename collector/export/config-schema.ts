// The `exporters:` list and the `export:` section of collector.yaml (docs/siem.md, "Configuration"). An
// entry has the common keys (name, type, enabled, streams, batch_size) and the keys of its type, checked
// against that type's own schema from the registry: a key of another type, a misspelt key or an unknown
// type is a config error at start-up naming the entry. A type's schema may redefine a common key to give
// it another default (the webhook sends findings only unless told otherwise).
import { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { Identifier } from '../../common/config/schema-parts.js';
import { TunnelwatchError } from '../../common/errors.js';
import { EXPORTER_TYPES } from './registry.js';
import { DEFAULT_RETRY } from './retry.js';
import type { RunnerSettings } from './runner.js';
import type { ExporterBaseConfig } from './types.js';

const Streams = (dflt?: readonly string[]) => Type.Array(Type.Union([Type.Literal('audit'), Type.Literal('findings')]), {
  minItems: 1,
  uniqueItems: true,
  ...(dflt ? { default: dflt } : {}),
  description: 'what it exports: audit (audit events) and/or findings (the detectors\' findings); default: both, unless the type says otherwise',
});

/** The common keys with their defaults, as every type's entry has them. */
export const COMMON_KEYS: Record<string, TSchema> = {
  name: Type.String({ ...Identifier, description: 'unique name of this exporter: the key of its cursors, dead letters, health and metrics (renaming it starts over from the beginning)' }),
  type: Type.Union(EXPORTER_TYPES.map((f) => Type.Literal(f.type)), { description: `the exporter type: ${EXPORTER_TYPES.map((f) => f.type).join(', ')} (its own keys: docs/siem.md)` }),
  enabled: Type.Boolean({ default: true, description: 'false keeps its cursor and dead letters but sends nothing' }),
  streams: Streams(['audit', 'findings']),
  batch_size: Type.Integer({ minimum: 1, maximum: 50_000, default: 1000, description: 'records per send to the receiver' }),
};

/** One type's entry: the common keys, then its own (which win on a clash). */
function entrySchema(typeSchema: TSchema): TObject {
  const own = (typeSchema as TObject).properties ?? {};
  return Type.Object({ ...COMMON_KEYS, ...own }, { additionalProperties: false });
}

export const ExporterEntry = Type.Object(
  {
    name: COMMON_KEYS.name as TSchema,
    type: COMMON_KEYS.type as TSchema,
    enabled: Type.Optional(Type.Boolean({ description: 'false keeps its cursor and dead letters but sends nothing (default true)' })),
    streams: Type.Optional(Streams()),
    batch_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 50_000, description: 'records per send to the receiver (default 1000)' })),
  },
  {
    // Defaults and the type's own keys are applied by the branch of the entry's type.
    allOf: EXPORTER_TYPES.map((f) => ({ if: { properties: { type: { const: f.type } }, required: ['type'] }, then: entrySchema(f.configSchema) })),
  },
);

export const ExportersSection = Type.Array(ExporterEntry, {
  default: [],
  description: 'SIEM exporters: each streams audit events and/or findings out of the store from its own cursor, at least once with idempotent ids (docs/siem.md)',
});

export const ExportSection = Type.Object(
  {
    settle_ms: Type.Integer({ minimum: 0, maximum: 600_000, default: 5000, description: 'exporters read only rows stored at least this long ago (ms): longer than any store insert takes to commit, so a row committed late is never skipped' }),
    poll_interval_ms: Type.Integer({ minimum: 10, maximum: 600_000, default: 1000, description: 'wait between reads when an exporter has caught up (ms)' }),
    read_size: Type.Integer({ minimum: 1, maximum: 100_000, default: 50_000, description: 'records read from the store per query (handed to the exporter in batch_size pieces, decoded a batch at a time; a page holds about 0.5 KB per audit event in memory, twice while the next one is read ahead)' }),
    cursor_save_interval_ms: Type.Integer({ minimum: 0, maximum: 600_000, default: 1000, description: 'save the cursor at most this often while sending (ms); after a crash at most this much is sent again' }),
    retry_initial_delay_ms: Type.Integer({ minimum: 1, default: DEFAULT_RETRY.initialDelayMs, description: 'first wait after a retryable answer (ms), doubling per attempt, with jitter' }),
    retry_max_delay_ms: Type.Integer({ minimum: 1, default: DEFAULT_RETRY.maxDelayMs, description: 'longest wait between attempts (ms); also the wait after a failure (receiver refuses the configuration)' }),
    attempt_timeout_ms: Type.Integer({ minimum: 100, default: DEFAULT_RETRY.attemptTimeoutMs, description: 'a send taking longer is aborted and retried (ms); exporters have their own, shorter, timeouts' }),
    stuck_after_s: Type.Integer({ minimum: 10, default: 300, description: 'an exporter whose oldest waiting record is this old and that has delivered nothing for this long raises the ops_exporter_stuck alert (s; docs/alerts.md)' }),
  },
  { additionalProperties: false, default: {}, description: 'how every exporter reads the store and retries (docs/siem.md)' },
);

/** Both sections alone, as collector.yaml has them: for tools and tests that need nothing else of it. */
export const ExportConfigSchema = Type.Object({ export: ExportSection, exporters: ExportersSection }, { additionalProperties: false });

export type ExportSettings = Static<typeof ExportSection>;
/** A validated entry: the common keys and its type's keys. */
export type ExporterEntryConfig = ExporterBaseConfig & Readonly<Record<string, unknown>>;

export function runnerSettings(s: ExportSettings): RunnerSettings & { settleMs: number } {
  return {
    settleMs: s.settle_ms,
    pollIntervalMs: s.poll_interval_ms,
    readSize: s.read_size,
    cursorSaveIntervalMs: s.cursor_save_interval_ms,
    retry: { initialDelayMs: s.retry_initial_delay_ms, maxDelayMs: Math.max(s.retry_max_delay_ms, s.retry_initial_delay_ms), jitter: DEFAULT_RETRY.jitter, attemptTimeoutMs: s.attempt_timeout_ms },
  };
}

/** What the schema cannot say: names are unique. */
export function checkExporterEntries(entries: readonly ExporterEntryConfig[]): void {
  const seen = new Map<string, number>();
  entries.forEach((e, i) => {
    const first = seen.get(e.name);
    if (first !== undefined) throw new TunnelwatchError('TW_ERR_EXPORT_CONFIG', `exporters[${i}].name: "${e.name}" is also the name of exporters[${first}]; names must be unique`);
    seen.set(e.name, i);
  });
}
