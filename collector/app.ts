// The collector's HTTP server: ingest routes behind a token check and the queue's admission check,
// error responses in each route's protocol. buildApp() is separate from listen() so tests can inject.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { ErrorCode } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { IngestHolder, IngestTokens } from './ingest-auth.js';
import { IngestError, refusalError, toIngestError } from './ingest-error.js';
import type { IngestQueue, RejectionKind } from './ingest-queue.js';
import type { IngestStore } from './ingest-store.js';
import { otlpProtobuf } from './otlp/otlp-protobuf.js';
import { PROTOBUF } from './otlp/otlp-values.js';
import { auditRoute } from './routes/audit-route.js';
import { healthRoutes } from './routes/health-routes.js';
import type { IngestContext } from './routes/ingest-context.js';
import { otlpEncodingOf, otlpRoutes } from './routes/otlp-routes.js';
import { rulesRoute } from './routes/rules-route.js';
import { checksRoute } from './routes/checks-route.js';
import type { CheckIngest } from './diagnostics/state-changes.js';
import type { OpsIngest } from './diagnostics/ops-findings.js';
import { opsRoute } from './routes/ops-route.js';
import { configRoute } from './routes/config-route.js';
import type { ConfigReport } from '../common/config/config-report.js';
import type { RuleSnapshot } from './store/rule-snapshots.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set on ingest routes: they need a token, pass the queue's admission check, and answer errors in this protocol. */
    ingest?: 'otlp' | 'audit';
  }
  interface FastifyRequest {
    /** Who sent an ingest request (set once its token is checked): routes bind records to its emitters. */
    ingestHolder?: IngestHolder;
  }
}

export interface CollectorAppOptions {
  readonly store: IngestStore;
  readonly queue: IngestQueue;
  readonly tokens: IngestTokens;
  readonly maxBodyBytes: number;
  readonly log: Logger;
  readonly https?: { readonly cert: Buffer; readonly key: Buffer };
  /** Backend check reports (POST /v1/checks): stored with their state changes; the route exists only with it. */
  readonly checks?: CheckIngest;
  /** Operational alerts from relays and connectors (POST /v1/ops, docs/alerts.md); the route exists only with it. */
  readonly ops?: OpsIngest;
  /** Told of each valid rule snapshot before it is stored (the collector records rule changes). */
  readonly onRules?: (snapshot: RuleSnapshot) => Promise<void>;
  /** Records a relay's reported configuration as admin events (POST /v1/config); the route exists only with it. */
  readonly onConfig?: (report: ConfigReport) => Promise<string[]>;
}

const REJECTION_KIND: Partial<Record<ErrorCode, RejectionKind>> = {
  TW_ERR_INGEST_UNAUTHENTICATED: 'unauthenticated',
  TW_ERR_INGEST_FORBIDDEN_EMITTER: 'forbidden_emitter',
  TW_ERR_INGEST_MALFORMED: 'malformed',
  TW_ERR_INGEST_TOO_LARGE: 'too_large',
  TW_ERR_INGEST_UNSUPPORTED_MEDIA_TYPE: 'unsupported_media_type',
  TW_ERR_INGEST_OVERLOADED: 'overloaded',
  TW_ERR_INGEST_STORE_UNAVAILABLE: 'store_unavailable',
  TW_ERR_INGEST_STORE_FAILED: 'store_failed',
};

export async function buildApp(options: CollectorAppOptions): Promise<FastifyInstance> {
  const { queue, tokens, log } = options;
  const app = Fastify({
    // Our own logger, used where something is worth a line; no per-request logging.
    logger: false,
    bodyLimit: options.maxBodyBytes,
    // The routes take bytes and decide for themselves (after gunzip) how to parse them.
    ...(options.https ? { https: { cert: options.https.cert, key: options.https.key } } : {}),
  });

  // Every body arrives as a Buffer: OTLP protobuf, OTLP JSON and NDJSON are parsed by the routes after
  // gunzip, and an unsupported type is answered by the route, in its protocol's error format.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.decorateRequest('ingestHolder', undefined);

  app.addHook('onRequest', async (request) => {
    if (!request.routeOptions.config.ingest) return;
    const holder = tokens.authenticate(request.headers.authorization);
    if (holder === undefined) {
      throw new IngestError('TW_ERR_INGEST_UNAUTHENTICATED', 'no known bearer token in the Authorization header');
    }
    request.ingestHolder = holder;
    // Refuse before reading the body when the queue is full or the store is down.
    const refusal = queue.refusal();
    if (refusal) throw refusalError(refusal);
  });

  const pb = otlpProtobuf();
  const sendError = (request: FastifyRequest, reply: FastifyReply, err: IngestError): FastifyReply => {
    const kind = REJECTION_KIND[err.code];
    if (kind) queue.rejected(kind);
    reply.header('x-tunnel-error', err.code);
    if (err.retryAfterS !== undefined) reply.header('retry-after', String(err.retryAfterS));
    reply.code(err.status);
    if (request.routeOptions.config.ingest === 'otlp') {
      // OTLP/HTTP failures carry a google.rpc.Status in the request's encoding.
      const message = `${err.code}: ${err.reason}`;
      return otlpEncodingOf(request) === PROTOBUF
        ? reply.type('application/x-protobuf').send(Buffer.from(pb.status(err.grpcCode, message)))
        : reply.type('application/json').send(JSON.stringify({ code: err.grpcCode, message }));
    }
    return reply.type('application/json').send(JSON.stringify(err.toJSON()));
  };

  app.setErrorHandler((error, request, reply) => {
    const known = toIngestError(error);
    if (known) return sendError(request, reply, known);
    log.error({ err: error, url: request.url }, 'ingest request failed');
    return sendError(request, reply, new IngestError('TW_ERR_INGEST_INTERNAL', (error as Error).message ?? 'internal error'));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).type('application/json').send(JSON.stringify({ error: { code: 'not_found', status: 404, message: `no route ${request.method} ${request.url.split('?')[0]}` } })),
  );

  const ctx: IngestContext = { store: options.store, queue, maxBodyBytes: options.maxBodyBytes, ...(options.onRules ? { onRules: options.onRules } : {}) };
  await app.register(async (scope) => {
    await otlpRoutes(scope, ctx);
    await auditRoute(scope, ctx);
    await rulesRoute(scope, ctx);
    if (options.checks) await checksRoute(scope, ctx, options.checks);
    if (options.ops) await opsRoute(scope, ctx, options.ops);
    if (options.onConfig) await configRoute(scope, ctx, options.onConfig);
    await healthRoutes(scope, ctx);
  });
  return app;
}
