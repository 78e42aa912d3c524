// pino with secrets redacted; one child logger per component ({ component: 'relay.session' }).
import { pino, type Logger } from 'pino';

export type { Logger };

const REDACT = [
  'authorization', 'proxyAuthorization', 'token', 'password', 'cookie', 'secret', 'key',
  '*.authorization', '*.proxyAuthorization', '*.token', '*.password', '*.cookie', '*.secret', '*.key',
  'headers.authorization', 'headers["proxy-authorization"]', 'headers.cookie',
  '*.headers.authorization', '*.headers["proxy-authorization"]', '*.headers.cookie',
];

export function createLogger(options: { level?: string; name: string; destination?: NodeJS.WritableStream | number }): Logger {
  const dest = options.destination ?? 2;
  return pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      redact: { paths: REDACT, censor: '[REDACTED]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    typeof dest === 'number' ? pino.destination({ fd: dest, sync: false }) : dest,
  );
}
