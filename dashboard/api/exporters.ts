// GET /api/v1/exporters: the health of the SIEM exporters (docs/siem.md, "Health"): state, lag per stream,
// last success, error counts and dead letters. Live from the collector when the dashboard runs in it,
// else what the store's cursor and dead-letter tables tell.
//
// Needs the analyst role: whether the SIEM holds every event is what a SOC analyst must know before
// trusting a search there, and a viewer (a tenant's read-only user) has no use for the pipeline's state.
// The answer spans every subaccount (exporters do), so for an identity limited to some subaccounts the
// error reasons, which can quote a receiver's answer about one record, are withheld; counts stay.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { storedExporterHealth } from '../../collector/export/stored-health.js';
import { TunnelwatchError } from '../../common/errors.js';
import type { DashboardContext } from '../context.js';
import { ErrorResponse, principalOf } from './query-kit.js';

const Time = (description: string) => Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description });
const Int = (description: string) => Type.Integer({ description });

const Stream = Type.Object({
  stream: Type.String({ description: 'audit (audit events) or findings' }),
  lag_records: Int('records stored but not delivered yet (the newest few seconds are always held back by export.settle_ms)'),
  lag_seconds: Int('age of the oldest record not delivered yet, in seconds; 0 when none'),
  position_at: Time('the store time the cursor stands at (ingested_at of audit events, version of findings); null before the first delivery'),
  last_success_at: Time('when a batch of this stream was last delivered (standalone: when its cursor last moved)'),
  sent: Int('records delivered since the collector started (0 when read from the store)'),
});

const Exporter = Type.Object({
  name: Type.String({ description: 'the exporter\'s name in collector.yaml' }),
  type: Type.String({ description: 'elasticsearch, syslog or webhook; empty when read from the store' }),
  state: Type.String({ description: 'ok (delivering or idle), retrying (the receiver answered "later" or could not be reached), failing (the receiver refuses the configuration: credentials, address; retried at the longest backoff), disabled (enabled: false), unknown (standalone dashboard: only the collector knows)' }),
  streams: Type.Array(Stream),
  last_success_at: Time('last delivery over all streams'),
  last_error: Type.Union([Type.Object({
    kind: Type.String({ description: 'retryable, failure, dead_letter or store' }),
    reason: Type.String({ description: 'the receiver\'s or the store\'s words; withheld for identities limited to some subaccounts' }),
    at: Type.String({ format: 'date-time' }),
  }), Type.Null()], { description: 'the last thing that went wrong since the collector started' }),
  errors: Type.Object({
    retryable: Int('attempts answered "retry later" or without an answer'),
    failure: Int('attempts refused for the configuration'),
    dead_letter: Int('records dead-lettered'),
    store: Int('store reads or writes that failed'),
  }, { description: 'counts since the collector started' }),
  dead_letters: Int('records in the dead-letter table not replayed yet (all time): `tunnelwatch siem dead-letters list`'),
});

const ExportersResponse = Type.Object({
  source: Type.String({ description: 'collector: live from the collector this dashboard runs in; store: from the cursor and dead-letter tables (standalone dashboard)' }),
  checked_at: Type.String({ format: 'date-time' }),
  reasons_withheld: Type.Boolean({ description: 'true when error reasons were withheld because the caller is limited to some subaccounts' }),
  exporters: Type.Array(Exporter, { description: 'failing first, then retrying, then the rest, by name' }),
}, { description: 'Health of every configured SIEM exporter.' });

const RANK: Record<string, number> = { failing: 0, retrying: 1, ok: 2, unknown: 3, disabled: 4 };
const WITHHELD = 'withheld: error reasons can quote records of any subaccount';

export async function exporterRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  app.get('/api/v1/exporters', {
    config: { access: 'analyst' },
    schema: {
      tags: ['exporters'],
      summary: 'Health of the SIEM exporters',
      description: 'Per exporter: state, lag in records and seconds per stream, last success, error counts by kind and dead letters not replayed. Exporters span every subaccount; for an identity limited to some subaccounts the error reasons are withheld.',
      response: { 200: ExportersResponse, 401: ErrorResponse, 403: ErrorResponse, 503: ErrorResponse },
    },
  }, async (request) => {
    const principal = principalOf(request);
    let exporters;
    try {
      exporters = ctx.exporters ? await ctx.exporters.snapshot() : await storedExporterHealth(ctx.store);
    } catch (err) {
      ctx.log.error({ err }, 'exporter health failed');
      throw new TunnelwatchError('TW_ERR_DASH_STORE_UNAVAILABLE', (err as Error).message.split('\n')[0]?.slice(0, 300), { cause: err });
    }
    const withhold = principal.subaccounts !== '*';
    return {
      source: ctx.exporters ? 'collector' : 'store',
      checked_at: new Date().toISOString(),
      reasons_withheld: withhold,
      exporters: exporters
        .map((e) => (withhold && e.last_error ? { ...e, last_error: { ...e.last_error, reason: WITHHELD } } : e))
        .sort((a, b) => (RANK[a.state] ?? 9) - (RANK[b.state] ?? 9) || a.name.localeCompare(b.name)),
    };
  });
}
