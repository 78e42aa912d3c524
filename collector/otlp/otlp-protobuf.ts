// OTLP/HTTP protobuf bodies (application/x-protobuf): decoded with protobufjs from the .proto files
// vendored under collector/otlp/proto/, which are read once at start-up.
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { OtlpFormatError } from './otlp-values.js';

// Compiled code runs from dist/collector/otlp/; the .proto files stay in the source tree.
const PROTO_DIR = fileURLToPath(new URL('../../../collector/otlp/proto/', import.meta.url));
const FILES = [
  'opentelemetry/proto/collector/trace/v1/trace_service.proto',
  'opentelemetry/proto/collector/logs/v1/logs_service.proto',
  'google/rpc/status.proto',
];

export interface OtlpProtobuf {
  decodeTraces(body: Uint8Array): unknown;
  decodeLogs(body: Uint8Array): unknown;
  /** An ExportTraceServiceResponse; partial success when rejected > 0. */
  traceResponse(rejected: number, message: string): Uint8Array;
  logsResponse(rejected: number, message: string): Uint8Array;
  /** A google.rpc.Status, the body of OTLP/HTTP failure responses. */
  status(code: number, message: string): Uint8Array;
}

let loaded: OtlpProtobuf | undefined;

export function otlpProtobuf(): OtlpProtobuf {
  loaded ??= load();
  return loaded;
}

let root: protobuf.Root | undefined;

/** The vendored OTLP definitions, loaded once (also for tests that encode requests). */
export function otlpProtoRoot(): protobuf.Root {
  if (!root) {
    root = new protobuf.Root();
    root.resolvePath = (_origin, target) => PROTO_DIR + target;
    root.loadSync(FILES, { keepCase: false });
    root.resolveAll();
  }
  return root;
}

function load(): OtlpProtobuf {
  const root = otlpProtoRoot();
  const traceRequest = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  const traceResponse = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
  const logsRequest = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
  const logsResponse = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');
  const status = root.lookupType('google.rpc.Status');

  const decode = (type: protobuf.Type, body: Uint8Array): unknown => {
    try {
      return type.decode(body);
    } catch (err) {
      throw new OtlpFormatError(`not a protobuf ${type.name}: ${(err as Error).message}`);
    }
  };
  return {
    decodeTraces: (body) => decode(traceRequest, body),
    decodeLogs: (body) => decode(logsRequest, body),
    traceResponse: (rejected, message) =>
      traceResponse.encode(traceResponse.create(rejected > 0 ? { partialSuccess: { rejectedSpans: rejected, errorMessage: message } } : {})).finish(),
    logsResponse: (rejected, message) =>
      logsResponse.encode(logsResponse.create(rejected > 0 ? { partialSuccess: { rejectedLogRecords: rejected, errorMessage: message } } : {})).finish(),
    status: (code, message) => status.encode(status.create({ code, message })).finish(),
  };
}
