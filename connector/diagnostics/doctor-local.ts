// Doctor's checks that do not depend on reaching the relay: the connector's own certificate (relay.tls)
// and this host's clock.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { resolveFrom } from '../../common/config/load-config.js';
import type { ConnectorConfig } from '../agent/config-schema.js';
import { readTlsFiles, type TlsMaterial } from '../tunnel/tls-files.js';
import { oneLine } from './steps/tls-judge.js';
import { daysUntil, errorCode, errorMessage, fail, ok, skipped, warn, type StepResult } from './steps/step-kit.js';

export interface ClientCertOutcome {
  readonly result: StepResult;
  /** The files, when they could be read (also when the certificate has a problem the relay will judge). */
  readonly material?: TlsMaterial;
}

export function clientCertStep(config: ConnectorConfig, configFile: string, now: Date, warnDays: number): ClientCertOutcome {
  let material: TlsMaterial;
  try {
    material = readTlsFiles(configFile, 'relay.tls', config.relay.tls);
  } catch (err) {
    return { result: fail('client_cert_unreadable', errorMessage(err)) };
  }
  const certFile = resolveFrom(configFile, config.relay.tls.cert);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(material.cert);
  } catch (err) {
    return { result: fail('client_cert_unreadable', `relay.tls.cert ${certFile} is not a PEM certificate (${errorMessage(err)})`) };
  }
  try {
    new X509Certificate(material.ca);
  } catch (err) {
    return { result: fail('client_cert_unreadable', `relay.tls.ca ${resolveFrom(configFile, config.relay.tls.ca)} is not a PEM certificate (${errorMessage(err)})`) };
  }
  const validTo = new Date(cert.validTo);
  const validFrom = new Date(cert.validFrom);
  const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1] ?? '';
  const days = daysUntil(validTo, now);
  const detail = { file: certFile, subject: oneLine(cert.subject), issuer: oneLine(cert.issuer), valid_from: validFrom.toISOString(), valid_to: validTo.toISOString(), days_left: days, cn };
  try {
    if (!cert.checkPrivateKey(createPrivateKey(material.key))) {
      return { result: fail('client_cert_key_mismatch', `relay.tls.key ${resolveFrom(configFile, config.relay.tls.key)} is not the private key of ${certFile}`, detail), material };
    }
  } catch (err) {
    return { result: fail('client_cert_unreadable', `relay.tls.key ${resolveFrom(configFile, config.relay.tls.key)} is not a usable private key (${errorCode(err) || errorMessage(err)})`, detail), material };
  }
  const of = `this connector's certificate ${certFile} (CN=${cn})`;
  if (validTo < now) {
    const ago = Math.floor((now.getTime() - validTo.getTime()) / 86_400_000);
    return { result: fail('client_cert_expired', `${of} expired on ${validTo.toISOString()} (${ago === 0 ? 'less than a day' : `${ago} day${ago === 1 ? '' : 's'}`} ago)`, detail), material };
  }
  if (validFrom > now) return { result: fail('client_cert_not_yet_valid', `${of} is valid only from ${validFrom.toISOString()} (this host's clock says ${now.toISOString()})`, detail), material };
  if (cn !== config.connector.id) {
    return { result: fail('client_cert_cn_mismatch', `${of} names "${cn}", but connector.id is "${config.connector.id}": the relay routes nothing to a connector whose certificate CN differs`, detail), material };
  }
  if (days < warnDays) {
    return { result: warn('client_cert_expiring_soon', `${of} expires on ${validTo.toISOString()}, in ${days} day${days === 1 ? '' : 's'} (warning below ${warnDays})`, detail), material };
  }
  return { result: ok(`${of}, issued by ${oneLine(cert.issuer)}, matches its key and is valid ${days} more days`, detail), material };
}

/** Beyond this the skew is worth a warning: audit timestamps and traces of the two ends disagree. */
export const CLOCK_WARN_MS = 2_000;
/** Beyond this certificates issued just now look not yet valid (pki.ts backdates them by 5 minutes). */
export const CLOCK_FAIL_MS = 300_000;

const UNMEASURABLE = 'the relay\'s tunnel port sends no time (TLS 1.3 hellos carry no timestamp, and the relay\'s HTTP/2 requests carry no Date header)';

/**
 * Clock skew against the collector's HTTP Date header (1 s resolution). The relay cannot be asked: see
 * UNMEASURABLE. Without audit.collector the skew is reported as not measurable.
 */
export async function clockStep(config: ConnectorConfig, configFile: string, timeoutMs: number, now: () => Date): Promise<StepResult> {
  const collector = config.audit.collector;
  if (!collector) return skipped(`cannot be measured: ${UNMEASURABLE}, and no audit.collector is configured whose Date header could serve instead`);
  let ca: Buffer | undefined;
  if (collector.ca_file) {
    try {
      ca = readFileSync(resolveFrom(configFile, collector.ca_file));
    } catch (err) {
      return skipped(`cannot be measured: audit.collector.ca_file cannot be read (${errorCode(err) || errorMessage(err)})`);
    }
  }
  const sent = now().getTime();
  let date: string | undefined;
  try {
    date = await dateHeader(collector.url, ca, timeoutMs);
  } catch (err) {
    return skipped(`cannot be measured: ${UNMEASURABLE}, and the collector at ${collector.url} did not answer (${errorCode(err) || errorMessage(err)})`);
  }
  const received = now().getTime();
  const theirs = date ? Date.parse(date) : NaN;
  if (Number.isNaN(theirs)) return skipped(`cannot be measured: the collector at ${collector.url} sent no valid Date header`);
  // The header is truncated to the second: the collector's time lies in [theirs, theirs + 1 s).
  const skewMs = Math.round((sent + received) / 2 - (theirs + 500));
  const marginMs = Math.round(500 + (received - sent) / 2);
  const detail = { reference: `${collector.url} (HTTP Date header)`, skew_ms: skewMs, margin_ms: marginMs, collector_date: date, relay: `not measurable: ${UNMEASURABLE}` };
  const beyond = Math.abs(skewMs) - marginMs;
  const how = `${formatSeconds(Math.abs(skewMs))} ${skewMs > 0 ? 'ahead of' : 'behind'} the collector's (±${formatSeconds(marginMs)}, from its HTTP Date header)`;
  if (beyond > CLOCK_FAIL_MS) return fail('clock_skew', `this host's clock runs ${how}: certificates and audit timestamps cannot be trusted`, detail);
  if (beyond > CLOCK_WARN_MS) return warn('clock_skew', `this host's clock runs ${how}`, detail);
  return ok(`this host's clock agrees with the collector's within ±${formatSeconds(Math.max(marginMs, Math.abs(skewMs)))} (the relay's clock cannot be measured: ${UNMEASURABLE})`, detail);
}

function formatSeconds(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}

function dateHeader(url: string, ca: Buffer | undefined, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const get = target.protocol === 'https:' ? https.get : http.get;
    // Any answer carries a Date header (a 404 too), so no token is needed and none is sent.
    const req = get(target, { ca, timeout: timeoutMs, headers: { 'user-agent': 'tunnelwatch-doctor/1' } }, (res) => {
      res.on('error', () => {});
      res.resume();
      resolve(res.headers.date);
    });
    req.once('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
  });
}
