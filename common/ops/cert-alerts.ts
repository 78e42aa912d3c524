// Certificate expiry (docs/alerts.md): the certificates a process presents or trusts (the relay's tunnel
// server certificate, a connector's client certificate, their CA bundles) are checked at start and every
// cert_check_interval_ms: medium within cert_warn_days, high within cert_high_days or once expired.
//
// What counts is what the process loaded (at start, or at its last config reload where it can swap its
// certificate live), since it keeps using that: a file renewed on disk does not end the alert, but the alert
// says so ("restart or reload to load it"). One episode per
// certificate (its SHA-256 fingerprint), so the daily re-checks update one finding, and the restart that
// loads a new certificate clears it.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from '../log.js';
import type { OpsEvent, OpsSeverity } from './ops-events.js';
import type { Stoppable } from './spool-alerts.js';

const DAY_MS = 86_400_000;

export interface CertSource {
  /** The config key that names it, e.g. tunnel.tls.cert. */
  readonly name: string;
  /** The file (resolved). */
  readonly path: string;
  /** What the process presents now (loaded at start, or a function for one that a reload can swap); default: the file as it is now. */
  readonly loaded?: Buffer | (() => Buffer);
}

export interface CertThresholds {
  readonly warnDays: number;
  readonly highDays: number;
}

/** Every certificate of a PEM text (a bundle or chain holds several). */
export function pemCertificates(pem: string | Buffer): X509Certificate[] {
  const blocks = pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

/** The certificate of a bundle that expires first: the one that breaks the chain first. */
function soonest(certs: readonly X509Certificate[]): X509Certificate | undefined {
  return [...certs].sort((a, b) => Date.parse(a.validTo) - Date.parse(b.validTo))[0];
}

function cn(dn: string): string {
  return /(?:^|\n)CN=([^\n]*)/.exec(dn)?.[1] ?? dn.replace(/\n/g, ', ');
}

/** The state of the certificate alerts of one process; check() reads the files and says what changed. */
export class CertWatch {
  private readonly firing = new Map<string, { episode: string; severity: OpsSeverity; expired: boolean }>();
  private readonly checked = new Set<string>();

  constructor(private readonly emitterId: string, private readonly sources: readonly CertSource[], private readonly t: CertThresholds, private readonly log?: Logger) {}

  check(now: Date): OpsEvent[] {
    const events: OpsEvent[] = [];
    for (const s of this.sources) {
      const e = this.checkOne(s, now);
      if (e) events.push(e);
    }
    return events;
  }

  private checkOne(s: CertSource, now: Date): OpsEvent | undefined {
    const subject = `${this.emitterId}/${s.name}`;
    let cert: X509Certificate | undefined;
    let onDisk: X509Certificate | undefined;
    const loaded = typeof s.loaded === 'function' ? s.loaded() : s.loaded;
    try {
      const file = readFileSync(s.path);
      onDisk = soonest(pemCertificates(file));
      cert = loaded ? soonest(pemCertificates(loaded)) : onDisk;
    } catch (err) {
      // The process loaded it at start; a file gone or garbled now is worth a line, not an alert of its own.
      if (loaded) cert = soonest(pemCertificates(loaded));
      this.log?.warn({ file: s.path, key: s.name, err: (err as Error).message }, 'cannot read a certificate file for the expiry check');
    }
    if (!cert) return undefined;
    const at = now.toISOString();
    const validTo = new Date(Date.parse(cert.validTo));
    const daysLeft = Math.floor((validTo.getTime() - now.getTime()) / DAY_MS);
    const expired = validTo.getTime() <= now.getTime();
    const renewed = onDisk && onDisk.fingerprint256 !== cert.fingerprint256 && Date.parse(onDisk.validTo) > validTo.getTime() ? onDisk : undefined;
    const detail = {
      config_key: s.name,
      file: s.path,
      subject_cn: cn(cert.subject),
      issuer_cn: cn(cert.issuer),
      serial: cert.serialNumber,
      fingerprint256: cert.fingerprint256,
      valid_to: validTo.toISOString(),
      days_left: daysLeft,
      expired,
      warn_days: this.t.warnDays,
      // A renewed file waits for a restart: the process still presents the old certificate.
      renewed_on_disk_valid_to: renewed ? new Date(Date.parse(renewed.validTo)).toISOString() : '',
    };
    const first = !this.checked.has(s.name);
    this.checked.add(s.name);
    const severity: OpsSeverity | undefined = expired || daysLeft < this.t.highDays ? 'high' : daysLeft < this.t.warnDays ? 'medium' : undefined;
    const open = this.firing.get(s.name);
    const episode = cert.fingerprint256;
    if (severity) {
      // Re-sent only when it gets worse: higher, or expired.
      if (open && open.episode === episode && open.severity === severity && open.expired === expired) return undefined;
      this.firing.set(s.name, { episode, severity, expired });
      return { type: 'cert_expiring', state: 'firing', at, subject, episode, severity, detail };
    }
    if (open) {
      this.firing.delete(s.name);
      return { type: 'cert_expiring', state: 'resolved', at, subject, episode: open.episode, detail };
    }
    // A certificate that is fine at start closes what an earlier run left open (it was replaced).
    return first ? { type: 'cert_expiring', state: 'resolved', at, subject, detail } : undefined;
  }
}

export interface CertAlertsOptions extends CertThresholds {
  readonly emitterId: string;
  readonly sources: readonly CertSource[];
  readonly intervalMs: number;
  readonly report: (event: OpsEvent) => void;
  readonly log: Logger;
  readonly now?: () => Date;
}

/** Checks at start and every intervalMs. */
export function startCertAlerts(o: CertAlertsOptions): Stoppable {
  const watch = new CertWatch(o.emitterId, o.sources, { warnDays: o.warnDays, highDays: o.highDays }, o.log);
  const now = o.now ?? (() => new Date());
  const tick = (): void => {
    try {
      for (const e of watch.check(now())) o.report(e);
    } catch (err) {
      o.log.warn({ err: (err as Error).message }, 'certificate expiry check failed');
    }
  };
  tick();
  const timer = setInterval(tick, o.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
