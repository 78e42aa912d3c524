// One record as one complete syslog message (RFC 5424 header + body), as a string the transport encodes
// as UTF-8. What does not change between records (header fields, SD-ID) is worked out once per exporter.
import type { ExportRecord } from '../types.js';
import { cefAudit, cefFinding } from './cef.js';
import type { ResolvedSyslogConfig } from './config.js';
import { isoMillis, recordFields } from './fields.js';
import { leefAudit, leefFinding } from './leef.js';
import { enterpriseSdId, header, NILVALUE, sdElement, type HeaderParts } from './rfc5424.js';
import { createRowWriter, type RowWriter } from './rfc5424-rows.js';
import { auditUrgency, findingUrgency, type Urgency } from './severity.js';

export const SD_NAME = 'tunnelwatch';
export const MSGID = { audit: 'audit', findings: 'finding' } as const;
export const BOM = '\uFEFF';

export type MessageFormatter = (record: ExportRecord) => string;

type FormatConfig = Pick<ResolvedSyslogConfig, 'format' | 'facilityCode' | 'hostname' | 'app_name' | 'enterprise_number' | 'bom'>;

function headerParts(config: FormatConfig, procId: string): HeaderParts {
  return { facility: config.facilityCode, hostname: config.hostname, appName: config.app_name, procId };
}

/**
 * With format rfc5424, the writer of audit records straight from their stored bytes (rfc5424-rows.ts):
 * the same messages as createFormatter's, at a fraction of the CPU. Undefined for CEF and LEEF.
 */
export function createAuditRowWriter(config: FormatConfig, procId: string = String(process.pid)): RowWriter | undefined {
  if (config.format !== 'rfc5424') return undefined;
  return createRowWriter(headerParts(config, procId), enterpriseSdId(SD_NAME, config.enterprise_number), MSGID.audit);
}

export function createFormatter(config: FormatConfig, procId: string = String(process.pid)): MessageFormatter {
  const parts = headerParts(config, procId);
  const sdId = enterpriseSdId(SD_NAME, config.enterprise_number);
  const withBom = (body: string): string => {
    if (config.bom === 'never') return body;
    // More UTF-8 bytes than UTF-16 code units means a non-ASCII character (a native scan, no regex).
    return config.bom === 'always' || Buffer.byteLength(body, 'utf8') !== body.length ? BOM + body : body;
  };
  const body = (r: ExportRecord): string => {
    // RFC 5424 §6.4: a UTF-8 MSG starts with a BOM. The SD is the NILVALUE: the body carries every field.
    const text = config.format === 'cef'
      ? r.stream === 'audit' ? cefAudit(r.event) : cefFinding(r.id, r.finding)
      : r.stream === 'audit' ? leefAudit(r.event) : leefFinding(r.id, r.finding);
    return `${NILVALUE} ${withBom(text)}`;
  };
  return (r) => {
    const urgency: Urgency = r.stream === 'audit' ? auditUrgency(r.event) : findingUrgency(r.finding.severity);
    const time = isoMillis(r.stream === 'audit' ? r.event.ts : r.finding.detected_at);
    const head = header(parts, urgency.syslog, time, MSGID[r.stream]);
    // Structured data takes the header as its lead: the message is built as one flat string.
    return config.format === 'rfc5424' ? sdElement(sdId, recordFields(r), head) : head + body(r);
  };
}
