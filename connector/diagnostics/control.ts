// The connector's side of an on-demand check: the relay opens a stream to CHECK_PATH with
// {subaccount, virtual_host, requested_by}; the connector checks that mapping of its own rules and answers
// the CheckReport. Trust: only the relay can open streams on the tunnel (it is the HTTP/2 client on the
// connection the connector dialled, authenticated by mTLS), and tunnel-client routes a stream here only if
// it carries no call metadata, which the relay strips from cloud apps. Even so the request only *names* a
// mapping: a host that is not a mapping of that subaccount in connector.yaml is never contacted.
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { Type, type Static } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import { SUBACCOUNT_PATTERN } from '../../common/config/schema-parts.js';
import type { Logger } from '../../common/log.js';
import { mappingKey } from '../acl/policy.js';
import { normalizeAuthority } from '../acl/normalize-path.js';
import type { ConnectorConfig, DiagnosticsConfig, MappingConfig } from '../agent/config-schema.js';
import type { CheckOptions, CheckTarget } from './run-check.js';
import type { CheckReport } from './types.js';

/** runCheck() of run-check.ts; injected so the channel can be tested with a stand-in engine. */
export type RunCheck = (target: CheckTarget, options: CheckOptions) => Promise<CheckReport>;

const CheckRequestSchema = Type.Object(
  {
    subaccount: Type.String({ pattern: SUBACCOUNT_PATTERN }),
    virtual_host: Type.String({ minLength: 1, maxLength: 300 }),
    requested_by: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);
type CheckRequestBody = Static<typeof CheckRequestSchema>;
const validate = new Ajv({ strict: false }).compile<CheckRequestBody>(CheckRequestSchema);

/** The request is three short strings; anything larger is not from a well-behaved relay. */
export const MAX_CHECK_REQUEST_BYTES = 4096;

/** subaccount -> normalised "host:port" -> the mapping as configured (what runCheck takes). */
export type MappingIndex = ReadonlyMap<string, ReadonlyMap<string, MappingConfig>>;

/** Indexes the mappings of connector.yaml by normalised virtual host:port, as decide() matches them. */
export function indexMappings(subaccounts: ConnectorConfig['subaccounts']): MappingIndex {
  const index = new Map<string, Map<string, MappingConfig>>();
  for (const [name, rules] of Object.entries(subaccounts)) {
    const byKey = new Map<string, MappingConfig>();
    for (const m of rules.mappings) {
      const a = normalizeAuthority(m.virtual);
      // compilePolicy() refused to start on a bad or duplicate virtual, so the first one is the one in force.
      if (a.ok && !byKey.has(mappingKey(a.host, a.port))) byKey.set(mappingKey(a.host, a.port), m);
    }
    index.set(name, byKey);
  }
  return index;
}

/** The mapping of this subaccount with this virtual host:port (host case-insensitive), or undefined. */
export function findMapping(index: MappingIndex, subaccount: string, virtualHost: string): MappingConfig | undefined {
  const a = normalizeAuthority(virtualHost);
  if (!a.ok) return undefined;
  return index.get(subaccount)?.get(mappingKey(a.host, a.port));
}

/** At most `limit` holders at once, at most `maxWaiting` in line; acquire() resolves false when the line is full. */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number, private readonly maxWaiting = Number.POSITIVE_INFINITY) {}

  get running(): number {
    return this.active;
  }

  acquire(): Promise<boolean> {
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve(true);
    }
    if (this.waiting.length >= this.maxWaiting) return Promise.resolve(false);
    return new Promise((resolve) => this.waiting.push(() => resolve(true)));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

export interface ControlHandlerOptions {
  readonly connectorId: string;
  readonly locationId: string;
  readonly mappings: MappingIndex;
  readonly diagnostics: DiagnosticsConfig;
  readonly resolvePath: (p: string) => string;
  readonly run: RunCheck;
  /** Every report produced here (to ship to the collector). */
  readonly onReport?: (report: CheckReport) => void;
  readonly log: Logger;
}

export interface ControlHandler {
  /** Answers one CHECK_PATH stream. */
  handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void;
  /** Checks running now. */
  readonly running: number;
}

export function createControlHandler(options: ControlHandlerOptions): ControlHandler {
  const log = options.log.child({ component: 'connector.control' });
  const d = options.diagnostics;
  // A flood of control requests queues a few and refuses the rest with 429, so it cannot take the
  // connector's sockets or memory; each waiting request also holds a relay deadline that ends it.
  const limiter = new Limiter(d.concurrency, d.concurrency * 4);
  const checkOptions: CheckOptions = { timeoutMs: d.timeout_ms, latencyWarnMs: d.latency_warn_ms, certWarnDays: d.cert_warn_days, resolvePath: options.resolvePath };

  const answer = (stream: ServerHttp2Stream, status: number, body: unknown): void => {
    if (stream.destroyed || stream.closed || stream.headersSent) return;
    stream.respond({ ':status': status, 'content-type': 'application/json' });
    stream.end(JSON.stringify(body));
  };

  const run = async (stream: ServerHttp2Stream, req: CheckRequestBody): Promise<void> => {
    const mapping = findMapping(options.mappings, req.subaccount, req.virtual_host);
    if (!mapping) {
      log.info({ subaccount: req.subaccount, virtual_host: req.virtual_host, requested_by: req.requested_by ?? '' }, 'check refused: no such mapping');
      answer(stream, 404, { error: `connector ${options.connectorId} has no mapping ${req.virtual_host} for subaccount ${req.subaccount}` });
      return;
    }
    if (!(await limiter.acquire())) {
      log.warn({ subaccount: req.subaccount, virtual_host: req.virtual_host, running: limiter.running }, 'check refused: too many on-demand checks at once');
      answer(stream, 429, { error: `connector ${options.connectorId} is running ${d.concurrency} checks and has a full waiting line` });
      return;
    }
    try {
      // The relay gave up while this waited in line: nobody would read the report.
      if (stream.destroyed || stream.closed) return;
      const target: CheckTarget = {
        connectorId: options.connectorId,
        locationId: options.locationId,
        subaccount: req.subaccount,
        mapping,
        trigger: 'dashboard',
        requestedBy: req.requested_by ?? '',
      };
      const report = await options.run(target, checkOptions);
      log.info({ subaccount: req.subaccount, virtual_host: mapping.virtual, requested_by: req.requested_by ?? '', state: report.state, classification: report.classification, duration_ms: report.duration_ms }, 'on-demand check');
      options.onReport?.(report);
      answer(stream, 200, report);
    } finally {
      limiter.release();
    }
  };

  return {
    get running() {
      return limiter.running;
    },
    handle(stream, headers) {
      stream.on('error', (err) => log.debug({ err: err.message }, 'check stream error'));
      if (headers[':method'] !== 'POST') {
        stream.resume();
        answer(stream, 405, { error: 'POST only' });
        return;
      }
      readBody(stream, MAX_CHECK_REQUEST_BYTES, (text) => {
        if (text === undefined) {
          answer(stream, 413, { error: `the check request exceeds ${MAX_CHECK_REQUEST_BYTES} bytes` });
          return;
        }
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          answer(stream, 400, { error: 'the check request is not JSON' });
          return;
        }
        if (!validate(body)) {
          answer(stream, 400, { error: `the check request is not valid: ${describe(validate.errors?.[0])}` });
          return;
        }
        run(stream, body).catch((err: unknown) => {
          log.error({ err: (err as Error).message }, 'on-demand check failed');
          answer(stream, 500, { error: 'the check failed on the connector; see its log' });
        });
      });
    },
  };
}

/** The body as text, or undefined as soon as it exceeds max (the rest is drained, not kept). */
function readBody(stream: ServerHttp2Stream, max: number, done: (text: string | undefined) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= max) chunks.push(chunk);
    else if (size - chunk.length <= max) done(undefined);
  });
  stream.once('end', () => {
    if (size <= max) done(Buffer.concat(chunks).toString('utf8'));
  });
}

function describe(e: ErrorObject | undefined): string {
  if (!e) return 'unexpected shape';
  const at = e.instancePath === '' ? 'body' : e.instancePath.slice(1);
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return `${at}: unknown field ${JSON.stringify(p.additionalProperty)}`;
  if (e.keyword === 'required') return `${at}: missing field ${JSON.stringify(p.missingProperty)}`;
  return `${at}: ${e.message ?? 'is not valid'}`;
}
