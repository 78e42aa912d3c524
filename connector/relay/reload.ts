// Reloading relay.yaml at run time (SIGHUP, or POST /admin/v1/reload): the whole file is read and validated,
// and every certificate and key it names read and tried as a TLS context, before anything changes. One bad
// key, unreadable file or mismatched certificate refuses the reload whole and the settings in force stay.
// What can change live is swapped in one synchronous step: the cloud app tokens, the admin tokens, and the
// certificate, key and CA of the tunnel listener and of the admin listener (setSecureContext: connections
// already made keep theirs, so calls in flight go on; new handshakes get the new certificate). Everything
// else (listen addresses, connector authorisations, audit, alerts, tracing, log, timeouts) is fixed for the
// life of the process: a change to it is named in the answer and the log as needing a restart.
//
// The audit: the relay reports its audited sections (secrets as fingerprints) to the collector at start and
// after each reload that changed one (POST /v1/config, tunnelwatch.config/1); the collector records each
// section that differs from its last record as an admin event `config.change` in its own hash chain, beside
// the connectors' `rules.change` (collector/config-audit.ts; the report's shape: common/config/config-report.ts). Without audit.collector the change is only logged.
import { hostname } from 'node:os';
import { createSecureContext } from 'node:tls';
import { canonicalJson } from '../../common/audit/canonical-json.js';
import { collectorTargetOf, createBatchPoster } from '../../common/collector-post.js';
import { readConfiguredFile } from '../../common/config/load-config.js';
import type { Logger } from '../../common/log.js';
import { pemCertificates } from '../../common/ops/cert-alerts.js';
import type { ReloadResult, ReloadSource } from '../../common/service.js';
import { restartNeeded } from '../../common/config/restart-needed.js';
import { CONFIG_REPORT_SCHEMA, fingerprint, type ConfigReport, type ConfigSnapshot } from '../../common/config/config-report.js';
import { readTlsFiles, type TlsMaterial } from '../tunnel/tls-files.js';
import { adminError, type AdminRoute } from './admin-server.js';
import type { RelayConfig } from './config-schema.js';
import { tokenListProblems } from './token-store.js';
import { cidrProblems } from './proxy-protocol.js';

/** What the relay has in force: its settings and the certificate material it presents. */
export interface RelayInForce {
  readonly config: RelayConfig;
  readonly tunnelTls: TlsMaterial;
  readonly adminTls: { readonly cert: Buffer; readonly key: Buffer } | undefined;
}

export interface RelayReloadTarget {
  /** The configuration the process started with (what "needs a restart" is compared with). */
  readonly started: RelayConfig;
  readonly configFile: string;
  current(): RelayInForce;
  /** Puts `next` in force in one synchronous step; `what` says which parts differ. */
  apply(next: RelayInForce, what: { tokens: boolean; adminTokens: boolean; tunnelTls: boolean; adminTls: boolean }, source: ReloadSource): void;
}

/** Settings a reload swaps live; any other difference needs a restart. */
const LIVE = new Set(['tokens', 'admin.tokens', 'tunnel.tls', 'admin.tls']);

function certSummary(pem: Buffer): Record<string, string> {
  const [cert] = pemCertificates(pem);
  if (!cert) return { certificate: 'none' };
  const cn = (dn: string): string => /(?:^|\n)CN=([^\n]*)/.exec(dn)?.[1] ?? dn.replace(/\n/g, ', ');
  return { subject_cn: cn(cert.subject), issuer_cn: cn(cert.issuer), serial: cert.serialNumber, valid_to: new Date(Date.parse(cert.validTo)).toISOString(), fingerprint256: cert.fingerprint256 };
}

/** The audited sections of what is in force, with token digests and keys reduced to fingerprints. */
export function relayAuditedSections(f: RelayInForce): Record<string, unknown> {
  const c = f.config;
  return {
    tokens: c.tokens.map((t) => ({ subaccount: t.subaccount, cloud_app: t.cloud_app, sha256: fingerprint(t.sha256), ...(t.expires_at === undefined ? {} : { expires_at: t.expires_at }) })),
    'admin.tokens': c.admin ? c.admin.tokens.map((t) => ({ name: t.name, sha256: fingerprint(t.sha256) })) : null,
    'tunnel.tls': { files: c.tunnel.tls, cert: certSummary(f.tunnelTls.cert), key: fingerprint(f.tunnelTls.key.toString('utf8')), ca: certSummary(f.tunnelTls.ca) },
    'admin.tls': c.admin?.tls && f.adminTls ? { files: c.admin.tls, cert: certSummary(f.adminTls.cert), key: fingerprint(f.adminTls.key.toString('utf8')) } : null,
    'tunnel.connectors': c.tunnel.connectors,
  };
}

/** Refuses a certificate and key that do not make a TLS context, or a certificate already expired. */
function tryContext(section: string, material: { cert: Buffer; key: Buffer; ca?: Buffer }): void {
  const [cert] = pemCertificates(material.cert);
  if (!cert) throw new Error(`${section}.cert: no PEM certificate in the file`);
  if (Date.parse(cert.validTo) <= Date.now()) throw new Error(`${section}.cert: the certificate expired at ${cert.validTo}; presenting it would break every new connection`);
  try {
    createSecureContext({ cert: material.cert, key: material.key, ...(material.ca ? { ca: material.ca } : {}), minVersion: 'TLSv1.2' });
  } catch (err) {
    throw new Error(`${section}: the certificate and key cannot be used together (${(err as Error).message})`, { cause: err });
  }
}

/** A live setting, unless it is the admin API's TLS added or removed: another kind of server, so a restart. */
const isLive = (path: string, before: unknown, after: unknown): boolean => LIVE.has(path) && !(path === 'admin.tls' && (before === undefined) !== (after === undefined));

const same = (a: Buffer | undefined, b: Buffer | undefined): boolean => (a === undefined || b === undefined ? a === b : a.equals(b));

export function reloadRelay(target: RelayReloadTarget, load: () => RelayConfig, source: ReloadSource): ReloadResult {
  const current = target.current();
  let next: RelayConfig;
  let tunnelTls: TlsMaterial;
  let adminTls = current.adminTls;
  try {
    next = load();
    const problems = [...tokenListProblems(next.tokens), ...cidrProblems(next.proxy.proxy_protocol_from)];
    if (problems.length > 0) throw new Error(problems.join('; '));
    tunnelTls = readTlsFiles(target.configFile, 'tunnel.tls', next.tunnel.tls);
    tryContext('tunnel.tls', tunnelTls);
    if (current.adminTls && next.admin?.tls) {
      adminTls = { cert: readConfiguredFile(target.configFile, 'admin.tls.cert', next.admin.tls.cert), key: readConfiguredFile(target.configFile, 'admin.tls.key', next.admin.tls.key) };
      tryContext('admin.tls', adminTls);
    }
  } catch (err) {
    return { applied: false, message: (err as Error).message };
  }
  const was = current.config;
  // The admin section is live only where it exists both before and after; added or removed, it needs a restart.
  const admin = was.admin && next.admin ? { ...was.admin, tokens: next.admin.tokens, ...(was.admin.tls && next.admin.tls ? { tls: next.admin.tls } : {}) } : was.admin;
  const config: RelayConfig = { ...was, tokens: next.tokens, tunnel: { ...was.tunnel, tls: next.tunnel.tls }, ...(admin ? { admin } : {}) };
  const inForce: RelayInForce = { config, tunnelTls, adminTls };
  const what = {
    tokens: canonicalJson(was.tokens) !== canonicalJson(config.tokens),
    adminTokens: canonicalJson(was.admin?.tokens ?? null) !== canonicalJson(config.admin?.tokens ?? null),
    tunnelTls: !(same(current.tunnelTls.cert, tunnelTls.cert) && same(current.tunnelTls.key, tunnelTls.key) && same(current.tunnelTls.ca, tunnelTls.ca)),
    adminTls: !(same(current.adminTls?.cert, adminTls?.cert) && same(current.adminTls?.key, adminTls?.key)),
  };
  const before = relayAuditedSections(current);
  const after = relayAuditedSections(inForce);
  const changed = Object.keys(after).filter((k) => canonicalJson(before[k] ?? null) !== canonicalJson(after[k] ?? null));
  const needs = restartNeeded(target.started, next, isLive);
  if (changed.length === 0) return { applied: true, message: 'nothing that can change live differs from what is in force', restartNeeded: needs, changed };
  target.apply(inForce, what, source);
  return { applied: true, message: `in force now: ${changed.join(', ')}`, restartNeeded: needs, changed };
}

/** A snapshot of what is in force, for the collector's audit. */
export function configSnapshot(f: RelayInForce, via: ConfigSnapshot['via'], who: { actor: string; actorRole: string; clientIp: string }): ConfigSnapshot {
  return { taken_at: new Date().toISOString(), via, actor: who.actor, actor_role: who.actorRole, client_ip: who.clientIp, sections: relayAuditedSections(f) };
}

export interface ConfigReporter {
  report(snapshot: ConfigSnapshot): void;
  close(): void;
}

/** Sends snapshots to the collector of audit.collector, in order, retried with backoff; undefined without one. */
export function configReporterOf(config: RelayConfig, configFile: string, log: Logger): ConfigReporter | undefined {
  const target = collectorTargetOf(config.audit, configFile);
  if (!target) return undefined;
  const l = log.child({ component: 'relay.config-audit' });
  const poster = createBatchPoster<ConfigSnapshot>({
    target,
    path: 'config',
    body: (snapshots): ConfigReport => ({ schema: CONFIG_REPORT_SCHEMA, emitter: 'relay', emitter_id: config.relay.id, snapshots }),
    // Each reload is one snapshot; a hundred waiting means the collector has been away for long. One per
    // request, in order: a retry then re-sends the state last recorded, which the collector finds unchanged.
    maxQueued: 100,
    maxBatch: 1,
    flushDelayMs: 50,
    closeReason: 'relay stopping',
    onEvent: (e) => {
      if (e.kind === 'delivered') l.info({ snapshots: e.items, attempts: e.failures + 1 }, 'configuration snapshot accepted by the collector');
      else if (e.kind === 'rejected') l.error({ snapshots: e.items, reason: e.reason }, 'the collector refused the configuration snapshot');
      else if (e.kind === 'retrying' && e.failures === 0) l.warn({ reason: e.reason, retry_in_ms: e.retryInMs }, 'configuration snapshot not delivered; retrying with backoff');
      else if (e.kind === 'dropped') l.error({ dropped: e.count }, 'configuration snapshots dropped: the collector has been unreachable too long');
      else if (e.kind === 'unsent') l.warn({ snapshots: e.items }, 'configuration snapshots not delivered before stopping');
    },
  });
  return { report: (s) => poster.enqueue(s), close: () => poster.close() };
}

/** Who started the process, for the snapshot sent at start. */
export function startActor(): { actor: string; actorRole: string; clientIp: string } {
  return { actor: `relay start on ${hostname()} (pid ${process.pid})`, actorRole: 'config-file', clientIp: '' };
}

/** POST /admin/v1/reload: the same reload as SIGHUP, by the holder of an admin token. */
export function reloadRoute(reload: (source: ReloadSource) => ReloadResult): AdminRoute {
  return {
    method: 'POST',
    path: '/admin/v1/reload',
    auth: 'token',
    handle(request) {
      const clientIp = request.remote.replace(/:\d+$/, '');
      const result = reload({ via: 'api', actor: `admin token ${request.tokenName}`, actorRole: 'relay-admin-token', clientIp, userAgent: String(request.headers['user-agent'] ?? '') });
      if (!result.applied) throw adminError('TW_ERR_RELAY_ADMIN_RELOAD_REFUSED', result.message);
      return { status: 200, body: { applied: true, message: result.message, changed: result.changed ?? [], restart_needed: result.restartNeeded ?? [] } };
    },
  };
}
