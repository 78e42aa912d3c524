// Reports the access rules this connector enforces to the collector (POST <audit.collector.url>/v1/rules,
// schema tunnelwatch.rules/1), so the dashboard can show every rule of every connector in one place. Sent
// at start, whenever the policy changes, and again every few hours so the dashboard can tell a connector
// that stopped reporting. Only the latest snapshot matters: a newer one replaces one still being retried.
// It runs beside the calls and never holds one up: report() returns at once; failures are retried with
// backoff until the collector accepts (or refuses the body for good).
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../common/audit/canonical-json.js';
import { Backoff, type BackoffOptions } from '../../common/backoff.js';
import { collectorTargetOf, createCollectorPoster, type CollectorPoster } from '../../common/collector-post.js';
import type { Logger } from '../../common/log.js';
import { describePolicy, type CompiledPolicy } from '../acl/policy.js';
import type { ConnectorConfig } from './config-schema.js';

export const RULES_SCHEMA = 'tunnelwatch.rules/1';
/** Re-sent this often while the rules stay the same (the dashboard flags a snapshot older than a day). */
export const DEFAULT_REFRESH_MS = 6 * 3_600_000;
/** Bodies above this size go gzip-compressed. */
const GZIP_ABOVE_BYTES = 16 * 1024;

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

export function createRuleReporter(options: RuleReporterOptions): RuleReporter {
  return new CollectorRuleReporter(options);
}

/** With audit.collector: a reporter to the same collector, with the same token and CA. Else undefined. */
export function ruleReporterOf(config: ConnectorConfig, configFile: string, log: Logger): RuleReporter | undefined {
  const target = collectorTargetOf(config.audit, configFile);
  if (!target) return undefined;
  return createRuleReporter({
    ...target,
    connectorId: config.connector.id,
    locationId: config.connector.location_id,
    log: log.child({ component: 'connector.rules' }),
  });
}

class CollectorRuleReporter implements RuleReporter {
  private readonly poster: CollectorPoster;
  private readonly backoff: Backoff;
  private current: RuleSnapshotBody | undefined;
  private policy: CompiledPolicy | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sending = false;
  private closed = false;
  private failures = 0;
  acceptedHash: string | undefined;

  constructor(private readonly o: RuleReporterOptions) {
    this.poster = createCollectorPoster(o, 'rules', { gzipAboveBytes: GZIP_ABOVE_BYTES });
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
    this.poster.abort('connector stopping');
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
    const outcome = await this.poster.post(body);
    this.sending = false;
    if (this.closed) return;
    const log = this.o.log;
    const fields = { snapshot_hash: body.snapshot_hash, endpoint: this.poster.endpoint.href };
    if (this.current !== body) {
      // The policy changed while this one was on its way: send the newer one now.
      this.schedule(0);
      return;
    }
    if (outcome.kind === 'ok') {
      const rules = Number(outcome.body.rules ?? 0) || 0;
      log.info({ ...fields, rules, known: outcome.body.known === true, attempts: this.failures + 1 }, 'rule snapshot accepted by the collector');
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
}
