// ExportLogsServiceRequest -> otel_logs rows, as the OpenTelemetry Collector's ClickHouse exporter writes them.
import type { LogRow } from '../ingest-store.js';
import { anyString, attributes, enumValue, list, message, resourceOf, scopeOf, str, u32, within, type Encoding } from './otlp-values.js';

const SEVERITY_NAMES = [
  'SEVERITY_NUMBER_UNSPECIFIED',
  ...['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].flatMap((s) => [`SEVERITY_NUMBER_${s}`, `SEVERITY_NUMBER_${s}2`, `SEVERITY_NUMBER_${s}3`, `SEVERITY_NUMBER_${s}4`]),
];

/**
 * Throws OtlpFormatError for a body that is not an ExportLogsServiceRequest. `receivedNs` stands in for
 * the observed time of records that carry no time at all (the spec lets a collector set it), so they do
 * not land in 1970 and fall to the retention TTL at once.
 */
export function logRows(request: unknown, enc: Encoding, receivedNs: bigint): LogRow[] {
  const rows: LogRow[] = [];
  const resourceLogs = list(message(request)?.resourceLogs, 'resourceLogs');
  for (let r = 0; r < resourceLogs.length; r++) {
    try {
      const rl = message(resourceLogs[r]) ?? {};
      const { attributes: resourceAttributes, serviceName } = resourceOf(rl, enc);
      const resourceSchemaUrl = str(rl.schemaUrl, 'schemaUrl');
      const scopeLogs = list(rl.scopeLogs, 'scopeLogs');
      for (let s = 0; s < scopeLogs.length; s++) {
        try {
          const sl = message(scopeLogs[s]) ?? {};
          const { name: scopeName, version: scopeVersion, attributes: scopeAttributes } = scopeOf(sl, enc, true);
          const scopeSchemaUrl = str(sl.schemaUrl, 'schemaUrl');
          const records = list(sl.logRecords, 'logRecords');
          for (let i = 0; i < records.length; i++) {
            try {
              const rec = message(records[i]) ?? {};
              let ns = enc.u64(rec.timeUnixNano, 'timeUnixNano');
              if (ns === 0n) ns = enc.u64(rec.observedTimeUnixNano, 'observedTimeUnixNano');
              if (ns === 0n) ns = receivedNs;
              let body: string;
              try {
                body = anyString(rec.body, enc);
              } catch (err) {
                within(err, 'body');
              }
              rows.push({
                Timestamp: ns,
                TraceId: enc.id(rec.traceId, 'traceId', 16),
                SpanId: enc.id(rec.spanId, 'spanId', 8),
                TraceFlags: u32(rec.flags, 'flags') & 0xff,
                SeverityText: str(rec.severityText, 'severityText'),
                SeverityNumber: enumValue(rec.severityNumber, 'severityNumber', SEVERITY_NAMES),
                ServiceName: serviceName,
                Body: body,
                ResourceSchemaUrl: resourceSchemaUrl,
                ResourceAttributes: resourceAttributes,
                ScopeSchemaUrl: scopeSchemaUrl,
                ScopeName: scopeName,
                ScopeVersion: scopeVersion,
                ScopeAttributes: scopeAttributes,
                LogAttributes: attributes(rec.attributes, enc, 'attributes'),
                EventName: str(rec.eventName, 'eventName'),
              });
            } catch (err) {
              within(err, 'logRecords', i);
            }
          }
        } catch (err) {
          within(err, 'scopeLogs', s);
        }
      }
    } catch (err) {
      within(err, 'resourceLogs', r);
    }
  }
  return rows;
}
