// A throwaway rsyslog (Debian's rsyslogd 8.x with the ossl TLS driver) as the receiver of syslog exporter
// tests: its own config, pid file and output file in a temp dir, imtcp (plain or TLS) and optionally imudp
// on free 127.0.0.1 ports, never the system rsyslog. Every received message becomes one JSON line in
// out.ndjson with the raw message and what rsyslog's RFC 5424 parser made of it; control-character
// escaping on receive is off, so JSON escaping alone keeps newlines apart from line ends. restart() stops
// it (SIGTERM, an orderly shutdown) and starts it again on the same ports.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueConnectorCertificate, issueRelayCertificate } from '../../connector/pki/pki.js';
import { freePort, isPortOpen } from './ports.js';
import { startProcess, type StartedProcess } from './processes.js';

export const RSYSLOGD_BIN = '/usr/sbin/rsyslogd';

export interface RsyslogTls {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** anon: any client; x509/certvalid: clients must present a certificate the CA signed. */
  readonly authMode: 'anon' | 'x509/certvalid';
}

export interface RsyslogOptions {
  readonly tls?: RsyslogTls;
  /** Also listen on UDP. */
  readonly udp?: boolean;
}

/** One message as rsyslog received and parsed it. */
export interface ReceivedMessage {
  /** The message as sent, without the octet count. */
  readonly raw: string;
  readonly pri: string;
  readonly timestamp: string;
  readonly hostname: string;
  readonly appName: string;
  readonly procId: string;
  readonly msgId: string;
  readonly sd: string;
  readonly msg: string;
  /** rsyslog's own reading of the structured data (mmpstrucdata) as JSON text, '' when there is none
   *  (snake case: rsyslog lower-cases the outname of a $! property). */
  readonly sd_json: string;
  /** imtcp or imudp. */
  readonly input: string;
}

export interface Rsyslog {
  readonly dir: string;
  /** imtcp port (TLS when options.tls). */
  readonly port: number;
  readonly udpPort: number | undefined;
  readonly outFile: string;
  /** Everything received so far, in arrival order. */
  messages(): Promise<ReceivedMessage[]>;
  /** Waits until at least n messages arrived; returns them. */
  waitForMessages(n: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const FIELDS: readonly [string, string, string?][] = [
  ['raw', 'rawmsg'], ['pri', 'pri'], ['timestamp', 'timereported', 'rfc3339'], ['hostname', 'hostname'],
  ['appName', 'app-name'], ['procId', 'procid'], ['msgId', 'msgid'], ['sd', 'structured-data'], ['msg', 'msg'],
  ['sd_json', '$!rfc5424-sd'], ['input', 'inputname'],
];

function config(dir: string, port: number, udpPort: number | undefined, options: RsyslogOptions): string {
  const t = options.tls;
  const template = FIELDS.map(([out, name, date], i) =>
    `  property(outname="${out}" name="${name}"${date ? ` dateFormat="${date}"` : ''} format="jsonf")${i < FIELDS.length - 1 ? ' constant(value=",")' : ''}`,
  ).join('\n');
  return `global(
  workDirectory="${dir}"
  maxMessageSize="256k"
  net.enableDNS="off"
  parser.escapeControlCharactersOnReceive="off"
${t ? `  defaultNetstreamDriver="ossl"\n  defaultNetstreamDriverCAFile="${t.caFile}"\n  defaultNetstreamDriverCertFile="${t.certFile}"\n  defaultNetstreamDriverKeyFile="${t.keyFile}"\n` : ''})
# direct: a message is written before the next one is read, so an orderly shutdown loses nothing it read.
main_queue(queue.type="direct")
module(load="mmpstrucdata")
module(load="imtcp"${t ? ` streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="${t.authMode}"` : ''})
input(type="imtcp" address="127.0.0.1" port="${port}" maxFrameSize="262144" ruleset="tw")
${udpPort ? `module(load="imudp")\ninput(type="imudp" address="127.0.0.1" port="${udpPort}" ruleset="tw")\n` : ''}template(name="tw" type="list") {
  constant(value="{")
${template}
  constant(value="}\\n")
}
# Only what the inputs received: rsyslog's own start and stop messages go to the default ruleset.
ruleset(name="tw" queue.type="direct") {
  # rsyslog's own structured-data parser, as a second, independent reading of our escaping
  action(type="mmpstrucdata")
  action(type="omfile" file="${join(dir, 'out.ndjson')}" template="tw" flushOnTXEnd="on")
}
`;
}

export async function startRsyslog(options: RsyslogOptions = {}): Promise<Rsyslog> {
  const dir = await mkdtemp(join(tmpdir(), 'tw-rsyslog-'));
  const port = await freePort();
  const udpPort = options.udp ? await freePort() : undefined;
  const conf = join(dir, 'rsyslog.conf');
  const outFile = join(dir, 'out.ndjson');
  await writeFile(conf, config(dir, port, udpPort, options));
  await writeFile(outFile, '');
  const launch = (): Promise<StartedProcess> =>
    startProcess(RSYSLOGD_BIN, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], {
      readyWhen: () => isPortOpen(port, '127.0.0.1', 500),
      timeoutMs: 15_000,
    });
  let proc: StartedProcess | undefined = await launch().catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  const messages = async (): Promise<ReceivedMessage[]> => {
    const text = await readFile(outFile, 'utf8');
    return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as ReceivedMessage);
  };
  return {
    dir, port, udpPort, outFile, messages,
    async waitForMessages(n, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = await messages();
        if (got.length >= n) return got;
        if (Date.now() > deadline) throw new Error(`rsyslog received ${got.length} of ${n} messages within ${timeoutMs} ms\n${proc?.stderr().slice(-2000) ?? ''}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async restart() {
      await proc?.stop('SIGTERM', 10_000);
      proc = await launch();
    },
    async stop() {
      await proc?.stop('SIGTERM', 10_000);
      proc = undefined;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface SyslogPki {
  readonly caFile: string;
  /** The receiver's certificate: CN and SANs localhost, 127.0.0.1 and syslog.test. */
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  /** A client certificate for mutual TLS (x509/certvalid). */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
}

/** A CA, a receiver certificate and a client certificate, as PEM files in dir. */
export async function writeSyslogPki(dir: string): Promise<SyslogPki> {
  const ca = await createCa({ commonName: 'Syslog Test CA' });
  const server = await issueRelayCertificate(ca, { hosts: ['localhost', '127.0.0.1', 'syslog.test'] });
  const client = await issueConnectorCertificate(ca, { name: 'tunnelwatch-exporter' });
  const files: SyslogPki = {
    caFile: join(dir, 'ca.pem'), serverCertFile: join(dir, 'server.pem'), serverKeyFile: join(dir, 'server.key'),
    clientCertFile: join(dir, 'client.pem'), clientKeyFile: join(dir, 'client.key'),
  };
  await writeFile(files.caFile, ca.certPem);
  await writeFile(files.serverCertFile, server.certPem);
  await writeFile(files.serverKeyFile, server.keyPem, { mode: 0o600 });
  await writeFile(files.clientCertFile, client.certPem);
  await writeFile(files.clientKeyFile, client.keyPem, { mode: 0o600 });
  return files;
}
