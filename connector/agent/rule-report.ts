// Reports the access rules this connector enforces to the collector (POST <audit.collector.url>/v1/rules,
// schema tunnelwatch.rules/1), so the dashboard can show every rule of every connector in one place. Sent
// at start, whenever the policy changes, and again every few hours so the dashboard can tell a connector
// that stopped reporting. Only the latest snapshot matters: a newer one replaces one still being retried.
// It runs beside the calls and never holds one up: report() returns at once; failures are retried with
// backoff until the collector accepts (or refuses the body for good).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { canonicalJson } from '../../common/audit/canonical-json.js';
import { parseRetryAfter, readBody, readTokenFile } from '../../common/audit/collector-client.js';
import { Backoff, type BackoffOptions } from '../../common/backoff.js';
import { resolveFrom } from '../../common/config/load-config.js';
import type { Logger } from '../../common/log.js';
import { describePolicy, type CompiledPolicy } from '../acl/policy.js';
import type { ConnectorConfig } from './config-schema.js';

const gzipAsync = promisify(gzip);

export const RULES_SCHEMA = 'tunnelwatch.rules/1';
/** Re-sent this often while the rules stay the same (the dashboard flags a snapshot older than a day). */
export const DEFAULT_REFRESH_MS = 6 * 3_600_000;
/** Bodies above this size go gzip-compressed. */
const GZIP_ABOVE_BYTES = 16 * 1024;
const MAX_RESPONSE_BYTES = 16 * 1024;

export interface RuleSnapshotBody {
  readonly schema: typeof RULES_SCHEMA;
  readonly connector_id: string;
  readonly location_id: string;
  /** RFC 3339 UTC: when these rules were read from the compiled policy. */
  readonly taken_at: string;
  /** SHA-256 (hex) of the rules' RFC 8785 canonical JSON. */
  readonly snapshot_hash: string;
  /** describePolicy() */
  readonly rules: unknown;
  readonly change?: RuleChangeSource;
}

/** What made the connector report (collector/rule-changes.ts records it with the change). */
export interface RuleChangeSource {
  readonly via: 'start' | 'reload' | 'ha_sync' | 'refresh';
  /** Who, as far as the connector knows: e.g. "SIGHUP to pid 123 on host-a". */
  readonly actor: string;
}

export function ruleSnapshotOf(policy: CompiledPolicy, connectorId: string, locationId: string, now = new Date(), change?: RuleChangeSource): RuleSnapshotBody {
  const rules = describePolicy(policy);
  return {
    schema: RULES_SCHEMA,
    connector_id: connectorId,
    location_id: locationId,
    taken_at: now.toISOString(),
    snapshot_hash: createHash('sha256').update(canonicalJson(rules)).digest('hex'),
    rules,
    ...(change ? { change } : {}),
  };
}

export interface RuleReporterOptions {
  /** Collector base URL (audit.collector.url). */
  readonly url: string;
  /** File with the ingest token; read before every attempt, so a fixed file takes effect at once. */
  readonly tokenFile: string;
  readonly ca?: Buffer;
  readonly connectorId: string;
  readonly locationId: string;
  readonly requestTimeoutMs: number;
  readonly log: Logger;
  /** 0 = never re-send unchanged rules. */
  readonly refreshMs?: number;
  readonly backoff?: Partial<BackoffOptions>;
}

export interface RuleReporter {
  /** Makes this policy the one to report; returns at once. */
  report(policy: CompiledPolicy, change?: RuleChangeSource): void;
  /** snapshot_hash of the last snapshot the collector accepted. */
  readonly acceptedHash: string | undefined;
  close(): void;
}

type Outcome =
  | { kind: 'ok'; known: boolean; rules: number }
  | { kind: 'rejected'; reason: string }
  | { kind: 'retry'; reason: string; retryAfterMs: number | undefined };

export function createRuleReporter(options: RuleReporterOptions): RuleReporter {
  return new CollectorRuleReporter(options);
}

/** With audit.collector: a reporter to the same collector, with the same token and CA. Else undefined. */
export function ruleReporterOf(config: ConnectorConfig, configFile: string, log: Logger): RuleReporter | undefined {
  const collector = config.audit.collector;
  if (!collector) return undefined;
  return createRuleReporter({
    url: collector.url,
    tokenFile: resolveFrom(configFile, collector.token_file),
    // The audit pipeline has read the same file a moment before and refuses to start when it cannot.
    ...(collector.ca_file ? { ca: readFileSync(resolveFrom(configFile, collector.ca_file)) } : {}),
    connectorId: config.connector.id,
    locationId: config.connector.location_id,
    requestTimeoutMs: collector.request_timeout_ms,
    log: log.child({ component: 'connector.rules' }),
  });
}

class CollectorRuleReporter implements RuleReporter {
  private readonly endpoint: URL;
  private readonly backoff: Backoff;
  private current: RuleSnapshotBody | undefined;
  private policy: CompiledPolicy | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inflight: ClientRequest | undefined;
  private sending = false;
  private closed = false;
  private failures = 0;
  acceptedHash: string | undefined;

  constructor(private readonly o: RuleReporterOptions) {
    const base = new URL(o.url);
    this.endpoint = new URL(`${base.pathname.replace(/\/+$/, '')}/v1/rules`, base);
    this.backoff = new Backoff({ initialDelayMs: 500, maxDelayMs: 60_000, jitter: 0.5, ...o.backoff });
  }

  report(policy: CompiledPolicy, change?: RuleChangeSource): void {
    if (this.closed) return;
    this.policy = policy;
    this.current = ruleSnapshotOf(policy, this.o.connectorId, this.o.locationId, new Date(), change);
    this.backoff.reset();
    this.schedule(0);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.inflight?.destroy(new Error('connector stopping'));
  }

  /** The next attempt after delayMs; an attempt in flight picks up a newer snapshot when it ends. */
  private schedule(delayMs: number): void {
    if (this.closed || this.sending) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.attempt(), delayMs);
    this.timer.unref();
  }

  private async attempt(): Promise<void> {
    this.timer = undefined;
    const body = this.current;
    if (!body || this.closed) return;
    this.sending = true;
    let outcome: Outcome;
    try {
      outcome = await this.send(body);
    } catch (err) {
      outcome = { kind: 'retry', reason: (err as Error).message, retryAfterMs: undefined };
    } finally {
      this.sending = false;
    }
    if (this.closed) return;
    const log = this.o.log;
    const fields = { snapshot_hash: body.snapshot_hash, endpoint: this.endpoint.href };
    if (this.current !== body) {
      // The policy changed while this one was on its way: send the newer one now.
      this.schedule(0);
      return;
    }
    if (outcome.kind === 'ok') {
      log.info({ ...fields, rules: outcome.rules, known: outcome.known, attempts: this.failures + 1 }, 'rule snapshot accepted by the collector');
      this.failures = 0;
      this.acceptedHash = body.snapshot_hash;
      this.backoff.reset();
      this.scheduleRefresh(body);
      return;
    }
    if (outcome.kind === 'rejected') {
      // Sending the same body again cannot help; the next policy change (or restart) sends a new one.
      log.error({ ...fields, reason: outcome.reason }, 'the collector refused the rule snapshot');
      this.failures = 0;
      return;
    }
    const delay = outcome.retryAfterMs ?? this.backoff.next();
    // The first failure of a streak is worth a warning; the retries after it are not worth a line each.
    if (this.failures === 0) log.warn({ ...fields, reason: outcome.reason, retry_in_ms: delay }, 'rule snapshot not delivered; retrying with backoff');
    else log.debug({ ...fields, reason: outcome.reason, retry_in_ms: delay, failures: this.failures }, 'rule snapshot still not delivered');
    this.failures++;
    this.schedule(delay);
  }

  private scheduleRefresh(sent: RuleSnapshotBody): void {
    const refreshMs = this.o.refreshMs ?? DEFAULT_REFRESH_MS;
    if (refreshMs <= 0 || !this.policy) return;
    const policy = this.policy;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closed || this.current !== sent) return;
      this.current = ruleSnapshotOf(policy, this.o.connectorId, this.o.locationId, new Date(), { via: 'refresh', actor: 'connector' });
      void this.attempt();
    }, refreshMs);
    this.timer.unref();
  }

  private async send(snapshot: RuleSnapshotBody): Promise<Outcome> {
    let token: string;
    try {
      token = readTokenFile(this.o.tokenFile);
    } catch (err) {
      return { kind: 'retry', reason: (err as Error).message, retryAfterMs: undefined };
    }
    const json = Buffer.from(JSON.stringify(snapshot));
    const compress = json.length > GZIP_ABOVE_BYTES;
    const body = compress ? await gzipAsync(json) : json;
    const request = this.endpoint.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Outcome>((resolve) => {
      const req = request(this.endpoint, {
        method: 'POST',
        ...(this.o.ca ? { ca: this.o.ca } : {}),
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': body.length,
          ...(compress ? { 'content-encoding': 'gzip' } : {}),
        },
      });
      this.inflight = req;
      let settled = false;
      const settle = (outcome: Outcome): void => {
        if (settled) return;
        settled = true;
        if (this.inflight === req) this.inflight = undefined;
        resolve(outcome);
      };
      req.setTimeout(this.o.requestTimeoutMs, () => req.destroy(new Error(`no answer within ${this.o.requestTimeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => settle({ kind: 'retry', reason: err.code ? `${err.code}: ${err.message}` : err.message, retryAfterMs: undefined }));
      req.on('response', (res) => void readBody(res, MAX_RESPONSE_BYTES).then((text) => settle(interpret(res, text))));
      req.end(body);
    });
  }
}

function interpret(res: IncomingMessage, text: string): Outcome {
  const status = res.statusCode ?? 0;
  let body: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed !== null && typeof parsed === 'object') body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  if (status === 200) return { kind: 'ok', known: body.known === true, rules: Number(body.rules ?? 0) || 0 };
  const error = (body.error ?? {}) as Record<string, unknown>;
  const said = typeof error.reason === 'string' ? error.reason : typeof error.message === 'string' ? error.message : text.slice(0, 300);
  const reason = `HTTP ${status}${said ? `: ${said}` : ''}`;
  // 404: a collector older than /v1/rules. Keep trying (slowly, as the backoff grows) until it is upgraded.
  if (status === 400 || status === 413 || status === 415) return { kind: 'rejected', reason };
  const retryAfter = res.headers['retry-after'];
  return { kind: 'retry', reason, retryAfterMs: status === 429 || status === 503 ? parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter) : undefined };
}
