// Step 1: does the host name resolve, as the connector host's resolver sees it (getaddrinfo, so /etc/hosts
// and nsswitch count, exactly as for real calls)?
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { errorCode, errorMessage, fail, ok, STEP_TIMEOUT, withTimeout, type StepResult } from './step-kit.js';

export interface DnsOutcome {
  readonly result: StepResult;
  /** Addresses to connect to, in the resolver's order ([] when the step failed). */
  readonly addresses: string[];
}

const NOT_FOUND = new Set(['ENOTFOUND', 'EAI_NONAME', 'ENODATA', 'EAI_NODATA']);
const TIMEOUT = new Set([STEP_TIMEOUT, 'EAI_AGAIN', 'ETIMEOUT', 'ETIMEDOUT']);

export async function dnsStep(host: string, timeoutMs: number): Promise<DnsOutcome> {
  if (net.isIP(host)) {
    return { result: ok(`${host} is an IP address: nothing to resolve`, { addresses: [host], resolved: false }), addresses: [host] };
  }
  try {
    // getaddrinfo cannot be cancelled; the race only stops us waiting for it.
    const found = await withTimeout(lookup(host, { all: true }), timeoutMs, `DNS lookup of ${host}`);
    const addresses = [...new Set(found.map((a) => a.address))];
    if (addresses.length === 0) return { result: fail('dns_not_found', `${host} resolves to no address`, { addresses }), addresses };
    return { result: ok(`${host} resolves to ${addresses.join(', ')}`, { addresses, resolved: true }), addresses };
  } catch (err) {
    const code = errorCode(err);
    const detail = { code, error: errorMessage(err) };
    if (NOT_FOUND.has(code)) {
      return { result: fail('dns_not_found', `${host} does not resolve (${code}): the connector host's DNS has no address for this name`, detail), addresses: [] };
    }
    if (TIMEOUT.has(code)) {
      const why = code === STEP_TIMEOUT ? `no answer within ${timeoutMs} ms` : `temporary failure (${code})`;
      return { result: fail('dns_timeout', `DNS lookup of ${host} failed: ${why}; the resolver did not get an answer from its DNS servers`, detail), addresses: [] };
    }
    return { result: fail('dns_error', `DNS lookup of ${host} failed: ${code || errorMessage(err)}`, detail), addresses: [] };
  }
}
