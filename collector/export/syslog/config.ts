// The keys of a `type: syslog` entry of `exporters:` (docs/siem-syslog.md), with their defaults. The
// framework merges them with the common keys (name, streams, batch_size, ...) and validates the entry at
// start-up; resolveSyslogConfig() validates again so that an exporter built directly (tests, the CLI)
// gets the same defaults and the same errors.
import { hostname as osHostname } from 'node:os';
import { Type, type Static } from '@sinclair/typebox';
import { ConfigError, validateConfig } from '../../../common/config/load-config.js';
import type { ExporterBaseConfig } from '../types.js';

/** RFC 5424 §6.2.1 facility codes, by the names rsyslog and syslog-ng use. */
export const FACILITIES = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10,
  ftp: 11, ntp: 12, security: 13, console: 14, 'solaris-cron': 15,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
} as const;
export type FacilityName = keyof typeof FACILITIES;

/** RFC 5612: the private enterprise number IANA reserves for documentation; replace it with your own. */
export const DOCUMENTATION_PEN = 32473;

// PRINTUSASCII (%d33-126) runs of the lengths RFC 5424 §6 allows for each header field.
const printable = (max: number): string => `^[\\x21-\\x7e]{1,${max}}$`;

export const SyslogConfigSchema = Type.Object(
  {
    // Redefines the common key for a larger default: each send waits confirm_ms once, two sends at a
    // time, so records per second are at most 2 * batch_size / confirm_ms.
    batch_size: Type.Integer({ minimum: 1, maximum: 50_000, default: 5000, description: 'records per send (one write); a send waits confirm_ms once, two at a time (tcp, tls), so at most 2 × batch_size / confirm_ms records a second' }),
    host: Type.String({ minLength: 1, description: 'the syslog receiver: a host name or an IP address' }),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'receiver port; absent = 6514 for tls (RFC 5425), 514 for tcp and udp' })),
    transport: Type.Union([Type.Literal('tls'), Type.Literal('tcp'), Type.Literal('udp')], {
      default: 'tls',
      description: 'tls and tcp: octet-counting framing (RFC 5425, RFC 6587 §3.4.1), at least once; udp: one datagram per message (RFC 5426), messages can be lost and long ones are truncated (udp_max_bytes)',
    }),
    format: Type.Union([Type.Literal('rfc5424'), Type.Literal('cef'), Type.Literal('leef')], {
      default: 'rfc5424',
      description: 'message body: rfc5424 = every field as RFC 5424 structured data (SD-ID tunnelwatch@<enterprise_number>), cef = ArcSight CEF, leef = IBM QRadar LEEF 2.0 (field mappings in docs/siem-syslog.md)',
    }),
    facility: Type.Union(Object.keys(FACILITIES).map((f) => Type.Literal(f)), { default: 'local0', description: 'syslog facility of every message (PRI = facility * 8 + severity; the severity comes from each record, see docs/siem-syslog.md)' }),
    app_name: Type.String({ pattern: printable(48), default: 'tunnelwatch', description: 'RFC 5424 APP-NAME: 1-48 printable ASCII characters, no spaces' }),
    hostname: Type.Optional(Type.String({ pattern: printable(255), description: 'RFC 5424 HOSTNAME: 1-255 printable ASCII characters; absent = this machine\'s host name' })),
    enterprise_number: Type.Integer({ minimum: 1, maximum: 4_294_967_295, default: DOCUMENTATION_PEN, description: 'IANA private enterprise number in the SD-ID tunnelwatch@<number>; the default 32473 is the one RFC 5612 reserves for documentation' }),
    bom: Type.Union([Type.Literal('auto'), Type.Literal('always'), Type.Literal('never')], {
      default: 'auto',
      description: 'UTF-8 BOM before a CEF or LEEF body: auto = only when the body has non-ASCII characters (RFC 5424 §6.4 requires it for UTF-8 MSG), always, or never (for receivers that choke on it)',
    }),
    tls: Type.Object(
      {
        ca: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA bundle that signs the receiver\'s certificate (relative to the config file); absent = the system CAs' })),
        cert: Type.Optional(Type.String({ minLength: 1, description: 'PEM client certificate, when the receiver asks for one (mutual TLS); needs key' })),
        key: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key of the client certificate' })),
        server_name: Type.Optional(Type.String({ minLength: 1, description: 'the name the receiver\'s certificate must carry (and the SNI sent); absent = host' })),
        reject_unauthorized: Type.Boolean({ default: true, description: 'refuse a receiver whose certificate does not verify; false only for a test bench, never in production' }),
      },
      { additionalProperties: false, default: {}, description: 'with transport tls: how the receiver is verified and how we authenticate' },
    ),
    connect_timeout_ms: Type.Integer({ minimum: 100, default: 10_000, description: 'tcp and tls: a connection (TLS handshake included) not up after this long is abandoned and the batch retried (ms)' }),
    write_timeout_ms: Type.Integer({ minimum: 100, default: 30_000, description: 'tcp and tls: a batch the receiver has not taken in after this long (its window stays full) counts as failed and is retried on a new connection (ms)' }),
    confirm_ms: Type.Integer({ minimum: 0, maximum: 10_000, default: 20, description: 'tcp and tls: after a batch is written, how long the connection must stay healthy before the batch counts as delivered (ms); catches a receiver that reset the connection under the batch' }),
    replay_window_ms: Type.Integer({ minimum: 0, maximum: 600_000, default: 5000, description: 'tcp and tls: when a connection fails, batches written on it this recently are sent again first on the next connection, since TCP cannot say whether the receiver read them (ms; 0 = off)' }),
    udp_max_bytes: Type.Integer({ minimum: 480, maximum: 65_000, default: 8192, description: 'udp: longest datagram; a longer message is cut at this size on a UTF-8 character boundary (counted and logged)' }),
  },
  { additionalProperties: false },
);

export type SyslogSettings = Static<typeof SyslogConfigSchema>;
export type SyslogExporterConfig = ExporterBaseConfig & SyslogSettings;

/** Settings with every default filled in and the derived values computed once. */
export interface ResolvedSyslogConfig extends Omit<SyslogSettings, 'port' | 'hostname'> {
  readonly port: number;
  readonly hostname: string;
  readonly facilityCode: number;
}

const BASE_KEYS = new Set(['name', 'type', 'enabled', 'streams', 'batch_size']);

/** An RFC 5424 HOSTNAME from the machine's name: non-printable characters become '_'. */
export function defaultHostname(name = osHostname()): string {
  const clean = name.replace(/[^\x21-\x7e]/g, '_').slice(0, 255);
  return clean === '' ? '-' : clean;
}

export function resolveSyslogConfig(config: Record<string, unknown> & { name?: string }): ResolvedSyslogConfig {
  const own = Object.fromEntries(Object.entries(config).filter(([k]) => !BASE_KEYS.has(k)));
  const source = `exporter "${config.name ?? 'syslog'}"`;
  const s = validateConfig(SyslogConfigSchema, own, source, { env: {} });
  if ((s.tls.cert === undefined) !== (s.tls.key === undefined)) throw new ConfigError(source, ['tls.cert and tls.key go together: give both, or neither']);
  return {
    ...s,
    port: s.port ?? (s.transport === 'tls' ? 6514 : 514),
    hostname: s.hostname ?? defaultHostname(),
    facilityCode: FACILITIES[s.facility as FacilityName],
  };
}
