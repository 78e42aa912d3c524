// GET /api/v1/integrity: the hash-chain state of every emitter (relays, connectors, and the dashboard's
// admin trail) as stored: events, seq range, gaps, broken links and forks, with what each state means and
// what to do. GET /api/v1/integrity/:emitter_id/gaps and .../links page through all of one emitter's.
// It is about emitters, not tenants: it carries seq numbers and times, never a path, principal or
// subaccount, so every signed-in role sees it whatever its subaccount scope.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { TunnelwatchError } from '../../common/errors.js';
import type { DashboardContext } from '../context.js';
import { chainGaps, chainLinks, chainSummaries, FIRST_FEW, type ChainScope } from './integrity-chain.js';
import { ErrorResponse } from './query-kit.js';

/** What each state means and what to do: in every answer, so the API explains itself as the page does. */
export const STATES = {
  ok: {
    meaning: 'Every stored event links to the one before it (prev_hash = hash of seq - 1) and no seq is missing between the first and the last stored event.',
    action: 'Nothing to do. The store checks links, not each event\'s own hash: to prove that no event was altered in place, run `tunnelwatch audit verify <audit dir>` on the emitter\'s files from time to time.',
  },
  gaps: {
    meaning: 'Events are missing between stored events. Either they are not shipped yet (the emitter or the collector was down, or the shipper is behind) or they were lost (dead-lettered as malformed, dropped with audit.spool_full: drop_oldest, or deleted).',
    action: 'Wait for the shipper to catch up and reload. If a gap stays, look on the emitter host: the shipper\'s dead-letter and dropped-ranges files in the audit dir name what it gave up; run `tunnelwatch audit verify <audit dir>` to see whether the files still hold those seqs, and `tunnelwatch ingest` them if they do.',
  },
  broken: {
    meaning: 'The chain is broken: an event\'s prev_hash is not the hash of the stored event before it (that event or this one was altered, replaced or re-hashed), or two different events carry the same seq (a fork: the emitter\'s state was restored from a backup, two instances share an emitter id, or events were forged). This is what tampering or corruption looks like.',
    action: 'Treat it as a security incident until explained. Run `tunnelwatch audit verify <audit dir>` on the emitter\'s own files: if the files verify, the store was changed after ingest (check who can write to ClickHouse); if they do not, the emitter host\'s files were changed. Keep copies of both before anything else.',
  },
} as const;

const Range = Type.Object({
  from: Type.Optional(Type.String({ format: 'date-time', description: 'only events with ts from here (RFC 3339); needs `to`. Default: the whole store' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'only events with ts before this; needs `from`' })),
});

const PageQuery = Type.Object({
  ...Range.properties,
  source: Type.Optional(Type.Union([Type.Literal('audit'), Type.Literal('admin')], { default: 'audit', description: 'audit: call events (audit_events); admin: the dashboard\'s admin trail (admin_events)' })),
  offset: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'rows to skip' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'rows to return' })),
});

const EmitterParams = Type.Object({
  emitter_id: Type.String({ minLength: 1, maxLength: 200, description: 'the emitter id (a relay or connector id)' }),
});

const Int = (description: string) => Type.Integer({ description });
const Time = (description: string) => Type.String({ format: 'date-time', description });
const SeqRange = Type.Object({
  from_seq: Int('first missing seq'),
  to_seq: Int('last missing seq'),
  missing: Int('events missing in this gap'),
  after_ts: Time('ts of the stored event just before the gap'),
  before_ts: Time('ts of the stored event just after the gap'),
});
const SeqMark = Type.Object({ seq: Int('seq of the event'), ts: Time('its ts') });

const Emitter = Type.Object({
  source: Type.String({ description: 'audit (call events) or admin (the dashboard\'s admin trail)' }),
  emitter: Type.String({ description: 'relay, connector, or the admin trail\'s emitter' }),
  emitter_id: Type.String(),
  status: Type.String({ description: 'ok, gaps or broken (see `states`)' }),
  events: Int('distinct events stored'),
  first_seq: Int('lowest seq stored; above 1 when older events are past the retention, in audit_events_archive, or were never shipped'),
  last_seq: Int('highest seq stored (events after it may not be shipped yet)'),
  last_ts: Time('ts of the newest event'),
  gaps: Int('seq jumps between stored events'),
  missing_events: Int('seqs missing in those gaps'),
  first_gaps: Type.Array(SeqRange, { description: `the first ${FIRST_FEW} gaps by seq` }),
  broken_links: Int('events whose prev_hash is not the hash of the stored event seq - 1 (or seq 1 with a prev_hash)'),
  first_broken: Type.Array(SeqMark, { description: `the first ${FIRST_FEW}: the event named, or the one before it, was altered` }),
  forks: Int('seqs held by two different events'),
  first_forks: Type.Array(SeqMark, { description: `the first ${FIRST_FEW}` }),
});

const State = Type.Object({ meaning: Type.String(), action: Type.String() });
const States = Type.Object({ ok: State, gaps: State, broken: State }, { description: 'what each status means and what to do' });

const IntegrityResponse = Type.Object({
  from: Type.Union([Time('range start'), Type.Null()], { description: 'range start; null for the whole store' }),
  to: Type.Union([Time('range end'), Type.Null()], { description: 'range end; null for the whole store' }),
  checked_at: Time('when this was computed'),
  totals: Type.Object({ emitters: Int('emitters with events'), ok: Int('ok'), gaps: Int('with gaps'), broken: Int('broken') }),
  emitters: Type.Array(Emitter, { description: 'broken first, then with gaps, then ok' }),
  states: States,
}, { description: 'Hash-chain state per emitter, from the stored events.' });

const GapsResponse = Type.Object({
  emitter: Emitter,
  offset: Int('rows skipped'),
  limit: Int('page size'),
  gaps: Type.Array(SeqRange, { description: 'in seq order' }),
}, { description: 'One page of an emitter\'s gaps; emitter.gaps is the total.' });

const LinksResponse = Type.Object({
  emitter: Emitter,
  offset: Int('rows skipped'),
  limit: Int('page size'),
  links: Type.Array(Type.Object({ seq: Int('seq of the event'), ts: Time('its ts'), kind: Type.String({ description: 'broken_link or fork' }) }), { description: 'in seq order' }),
}, { description: 'One page of an emitter\'s broken links and forks; emitter.broken_links + emitter.forks is the total.' });

const ERRORS = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 503: ErrorResponse };
const RANK = { broken: 0, gaps: 1, ok: 2 } as const;

function scopeOf(q: Static<typeof Range>): ChainScope {
  if (q.from === undefined && q.to === undefined) return {};
  if (q.from === undefined || q.to === undefined) throw new TunnelwatchError('TW_ERR_DASH_BAD_REQUEST', 'give both from and to, or neither (the whole store)');
  const from = new Date(q.from);
  const to = new Date(q.to);
  if (!(from.getTime() < to.getTime())) throw new TunnelwatchError('TW_ERR_DASH_BAD_REQUEST', `from (${q.from}) must be before to (${q.to})`);
  return { from, to };
}

export async function integrityRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  app.get('/api/v1/integrity', {
    config: { access: 'viewer' },
    schema: {
      tags: ['integrity'],
      summary: 'Hash-chain state per emitter',
      description: 'For each emitter: events stored, seq range, gaps (missing seqs), broken links (prev_hash not the hash of the event before) and forks (one seq, two events), with a status ok / gaps / broken and what to do. Optionally over a time range (ts); by default the whole store.',
      querystring: Range,
      response: { 200: IntegrityResponse, ...ERRORS },
    },
  }, async (request) => {
    const q = request.query as Static<typeof Range>;
    const scope = scopeOf(q);
    const emitters = (await chainSummaries(ctx, scope)).sort((a, b) => RANK[a.status] - RANK[b.status]);
    return {
      from: scope.from?.toISOString() ?? null,
      to: scope.to?.toISOString() ?? null,
      checked_at: new Date().toISOString(),
      totals: {
        emitters: emitters.length,
        ok: emitters.filter((e) => e.status === 'ok').length,
        gaps: emitters.filter((e) => e.status === 'gaps').length,
        broken: emitters.filter((e) => e.status === 'broken').length,
      },
      emitters,
      states: STATES,
    };
  });

  const emitterOf = async (emitterId: string, q: Static<typeof PageQuery>) => {
    const scope = { ...scopeOf(q), emitterId };
    const source = q.source ?? 'audit';
    const emitter = (await chainSummaries(ctx, scope)).find((e) => e.source === source);
    if (!emitter) throw new TunnelwatchError('TW_ERR_DASH_NOT_FOUND', `no ${source} events of emitter ${emitterId}${scope.from ? ' in this range' : ''}`);
    return { scope, source, emitter, page: { offset: q.offset ?? 0, limit: q.limit ?? 100 } };
  };

  app.get('/api/v1/integrity/:emitter_id/gaps', {
    config: { access: 'viewer' },
    schema: {
      tags: ['integrity'],
      summary: 'All gaps of one emitter, paged',
      description: 'Every run of missing seqs of one emitter, in seq order, with the times of the events around it.',
      params: EmitterParams,
      querystring: PageQuery,
      response: { 200: GapsResponse, ...ERRORS },
    },
  }, async (request) => {
    const { emitter_id: emitterId } = request.params as Static<typeof EmitterParams>;
    const { scope, source, emitter, page } = await emitterOf(emitterId, request.query as Static<typeof PageQuery>);
    return { emitter, ...page, gaps: emitter.gaps === 0 ? [] : await chainGaps(ctx, scope, source, page) };
  });

  app.get('/api/v1/integrity/:emitter_id/links', {
    config: { access: 'viewer' },
    schema: {
      tags: ['integrity'],
      summary: 'All broken links and forks of one emitter, paged',
      description: 'Every event whose prev_hash does not match the stored event before it, and every seq held by two different events, in seq order.',
      params: EmitterParams,
      querystring: PageQuery,
      response: { 200: LinksResponse, ...ERRORS },
    },
  }, async (request) => {
    const { emitter_id: emitterId } = request.params as Static<typeof EmitterParams>;
    const { scope, source, emitter, page } = await emitterOf(emitterId, request.query as Static<typeof PageQuery>);
    return { emitter, ...page, links: emitter.broken_links + emitter.forks === 0 ? [] : await chainLinks(ctx, scope, source, page) };
  });
}
