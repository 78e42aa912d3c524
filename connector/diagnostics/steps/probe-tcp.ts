// Step 4 for tcp/tcps: what the mapping's probe asks for, on the connection the earlier steps opened —
// the banner the service greets with (probe.expect_banner), or an LDAP simple bind (probe.ldap).
// Without either, TCP connect (and TLS for tcps) is the whole check.
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import { Client, ResultCodeError } from 'ldapts';
import type { ProbeConfig } from '../../agent/config-schema.js';
import { errorCode, errorMessage, fail, ok, printable, since, skipped, type StepResult } from './step-kit.js';

export interface TcpProbeOutcome {
  readonly result: StepResult;
  /** Request to answer, ms (0 when nothing was exchanged). */
  readonly responseMs: number;
  /** The DN an LDAP bind succeeded as ('' otherwise), for the auth step. */
  readonly boundAs: string;
}

const MAX_BANNER_BYTES = 4096;

export async function tcpProbeStep(
  socket: net.Socket,
  probe: ProbeConfig | undefined,
  o: { at: string; secure: boolean; timeoutMs: number; resolvePath: (p: string) => string },
): Promise<TcpProbeOutcome> {
  if (probe?.ldap) return ldapBind(socket, probe.ldap, o);
  if (probe?.expect_banner) return banner(socket, probe.expect_banner, o);
  return { result: skipped('no probe configured for this tcp mapping (set probe.expect_banner or probe.ldap): the TCP connection is the check'), responseMs: 0, boundAs: '' };
}

async function banner(socket: net.Socket, pattern: string, o: { at: string; timeoutMs: number }): Promise<TcpProbeOutcome> {
  let expected: RegExp;
  try {
    expected = new RegExp(pattern);
  } catch (err) {
    return { result: fail('banner_mismatch', `probe.expect_banner ${JSON.stringify(pattern)} is not a valid regular expression: ${errorMessage(err)}`), responseMs: 0, boundAs: '' };
  }
  const start = performance.now();
  const seen = await new Promise<{ text: string; how: 'match' | 'closed' | 'timeout' }>((resolve) => {
    let text = '';
    const done = (how: 'match' | 'closed' | 'timeout'): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve({ text, how });
    };
    const onData = (chunk: Buffer): void => {
      text = (text + chunk.toString('latin1')).slice(0, MAX_BANNER_BYTES);
      if (expected.test(text)) done('match');
      else if (text.length >= MAX_BANNER_BYTES) done('timeout');
    };
    const onClose = (): void => done('closed');
    const timer = setTimeout(() => done('timeout'), o.timeoutMs);
    timer.unref();
    socket.on('data', onData);
    socket.once('close', onClose);
    if (socket.destroyed) done('closed');
  });
  const responseMs = since(start);
  const detail = { expect_banner: pattern, banner: printable(seen.text) };
  const shown = printable(seen.text);
  if (seen.how === 'match') return { result: ok(`${o.at} greeted with "${shown}", which matches /${pattern}/`, detail), responseMs, boundAs: '' };
  if (seen.text === '' && seen.how === 'closed') {
    return { result: fail('probe_closed', `${o.at} closed the connection without sending a banner (expected one matching /${pattern}/)`, detail), responseMs, boundAs: '' };
  }
  if (seen.text === '') {
    return { result: fail('banner_mismatch', `${o.at} sent no banner within ${o.timeoutMs} ms (expected one matching /${pattern}/): the service waits for its client to speak first, or it is another service`, detail), responseMs, boundAs: '' };
  }
  return { result: fail('banner_mismatch', `${o.at} greeted with "${shown}", which does not match /${pattern}/: another service listens there`, detail), responseMs, boundAs: '' };
}

async function ldapBind(
  socket: net.Socket,
  ldap: NonNullable<ProbeConfig['ldap']>,
  o: { at: string; secure: boolean; timeoutMs: number; resolvePath: (p: string) => string },
): Promise<TcpProbeOutcome> {
  const detail: Record<string, unknown> = { bind_dn: ldap.bind_dn };
  let password: string;
  const file = o.resolvePath(ldap.password_file);
  try {
    password = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    return { result: fail('ldap_bind_failed', `cannot read probe.ldap.password_file ${file} (${errorCode(err) || errorMessage(err)}): no bind was tried`, detail), responseMs: 0, boundAs: '' };
  }
  // The URL only names the scheme for ldapts: the connection (and its TLS) is the one already checked.
  const client = new Client({
    url: `${o.secure ? 'ldaps' : 'ldap'}://check.invalid:389`,
    timeout: o.timeoutMs,
    connectTimeout: o.timeoutMs,
    createConnection: () => socket,
    createSecureConnection: () => socket as never,
  });
  const start = performance.now();
  try {
    await client.bind(ldap.bind_dn, password);
    const responseMs = since(start);
    return { result: ok(`${o.at} accepted a simple bind as ${ldap.bind_dn} in ${responseMs} ms`, { ...detail, response_ms: responseMs }), responseMs, boundAs: ldap.bind_dn };
  } catch (err) {
    const responseMs = since(start);
    if (err instanceof ResultCodeError) {
      const name = err.constructor.name.replace(/Error$/, '');
      return {
        result: fail('ldap_bind_failed', `${o.at} refused the simple bind as ${ldap.bind_dn}: result code ${err.code} (${name})`, { ...detail, result_code: err.code, result: name }),
        responseMs,
        boundAs: '',
      };
    }
    const message = errorMessage(err);
    if (/timeout|timed out/i.test(message)) {
      return { result: fail('probe_timeout', `${o.at} accepted the connection but did not answer the LDAP bind within ${o.timeoutMs} ms`, { ...detail, error: message }), responseMs, boundAs: '' };
    }
    return { result: fail('probe_closed', `the LDAP bind to ${o.at} failed before an answer: ${message.split('\n')[0] ?? message}`, { ...detail, error: message }), responseMs, boundAs: '' };
  } finally {
    await client.unbind().catch(() => {});
  }
}
