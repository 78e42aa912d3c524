// Forwards an allowed CONNECT stream to a tcp or tcps backend as raw bytes.
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import type { CompiledMapping } from '../acl/policy.js';
import { nowUs } from '../tunnel/protocol.js';
import type { BackendPool } from './backend-pool.js';
import { isIp } from './backend-pool.js';
import { CONNECT_TIMEOUT, classifyBackendError, timeoutError } from './backend-errors.js';
import type { ConnectorCall } from './connector-call.js';
import type { BackendTimeouts } from './forward-http.js';

export function forwardTcp(call: ConnectorCall, mapping: CompiledMapping, pool: BackendPool, timeouts: BackendTimeouts): void {
  const stream = call.stream;
  const rec = call.record;
  const target = `${mapping.internalHost}:${mapping.internalPort}`;
  const startedUs = nowUs();
  call.backendTraceparent(mapping, '');
  const socket: Socket =
    mapping.protocol === 'tcps'
      ? tls.connect({ host: mapping.internalHost, port: mapping.internalPort, ca: pool.ca(mapping), servername: isIp(mapping.internalHost) ? undefined : mapping.internalHost })
      : net.connect({ host: mapping.internalHost, port: mapping.internalPort });
  const connectTimer = setTimeout(() => socket.destroy(timeoutError(CONNECT_TIMEOUT, timeouts.connectTimeoutMs)), timeouts.connectTimeoutMs);
  let connected = false;
  socket.once(mapping.protocol === 'tcps' ? 'secureConnect' : 'connect', () => {
    clearTimeout(connectTimer);
    connected = true;
    rec.backend_connect_us = nowUs() - startedUs;
    socket.setNoDelay(true);
    if (stream.destroyed) {
      socket.destroy();
      return;
    }
    stream.respond({ ':status': 200, ...call.traceHeader() });
    socket.on('data', (chunk: Buffer) => {
      if (rec.backend_ttfb_us === 0) rec.backend_ttfb_us = nowUs() - startedUs - rec.backend_connect_us;
      rec.bytes_out += chunk.length;
    });
    stream.on('data', (chunk: Buffer) => (rec.bytes_in += chunk.length));
    socket.pipe(stream);
    stream.pipe(socket, { end: false });
    stream.on('end', () => {
      if (!stream.aborted) socket.end();
    });
  });
  stream.on('aborted', () => {
    call.abandoned();
    socket.destroy();
  });
  socket.on('error', (err: NodeJS.ErrnoException) => {
    clearTimeout(connectTimer);
    if (!connected) call.failBackend(classifyBackendError(err, target));
    else {
      rec.error_type = classifyBackendError(err, target).errorType;
      stream.close();
    }
  });
  socket.on('close', () => {
    if (connected && !stream.destroyed) stream.end();
  });
  stream.on('close', () => {
    clearTimeout(connectTimer);
    socket.destroy();
  });
  stream.on('error', () => socket.destroy());
}
