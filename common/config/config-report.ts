// What an emitter reports of its own configuration (POST /v1/config, schema tunnelwatch.config/1): the
// relay sends it at start and after each reload, the collector records each changed section as an admin
// event (collector/config-audit.ts). Shared by both ends, so neither imports the other. Secrets never
// travel: the sender reduces them to fingerprints first.
import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { ID_PATTERN } from './schema-parts.js';

/** 'sha256:' and 12 hex digits of the SHA-256 of a secret's stored form: shows a change, reveals nothing usable. */
export function fingerprint(value: string): string {
  return `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 12)}`;
}

export const CONFIG_REPORT_SCHEMA = 'tunnelwatch.config/1';

const ConfigSnapshotSchema = Type.Object(
  {
    taken_at: Type.String({ maxLength: 40 }),
    /** What put this configuration in force: the process start, or a reload. */
    via: Type.Union([Type.Literal('start'), Type.Literal('sighup'), Type.Literal('api')]),
    actor: Type.String({ maxLength: 256 }),
    actor_role: Type.String({ maxLength: 64 }),
    client_ip: Type.String({ maxLength: 64 }),
    /** The audited sections in force, secrets already reduced to fingerprints by the sender. */
    sections: Type.Record(Type.String({ pattern: '^[a-z][a-z_.]{0,63}$' }), Type.Unknown(), { maxProperties: 32, additionalProperties: false }),
  },
  { additionalProperties: false },
);

export const ConfigReportSchema = Type.Object(
  {
    schema: Type.Literal(CONFIG_REPORT_SCHEMA),
    emitter: Type.Literal('relay'),
    emitter_id: Type.String({ pattern: ID_PATTERN }),
    snapshots: Type.Array(ConfigSnapshotSchema, { minItems: 1, maxItems: 100 }),
  },
  { additionalProperties: false },
);

export type ConfigReport = Static<typeof ConfigReportSchema>;
export type ConfigSnapshot = Static<typeof ConfigSnapshotSchema>;
