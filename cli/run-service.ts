// Shared start-up for long-running commands: load and validate config, log, run until a signal.
import type { Static, TSchema } from '@sinclair/typebox';
import { loadConfigFile } from '../common/config/load-config.js';
import { createLogger, type Logger } from '../common/log.js';
import { parseOptions, UsageError } from './command.js';

export const SERVICE_OPTIONS = {
  config: { type: 'string', short: 'c' },
  set: { type: 'string', multiple: true },
  'log-level': { type: 'string' },
} as const;

export const SERVICE_HELP = `Options:
  -c, --config FILE     YAML config file (required)
  --set KEY=VALUE       override one config key, e.g. --set proxy.listen=127.0.0.1:9000 (repeatable)
  --log-level LEVEL     fatal|error|warn|info|debug|trace|silent (overrides log.level)

Precedence: --set, then environment TUNNELWATCH_<KEY> with __ between levels
(e.g. TUNNELWATCH_PROXY__LISTEN=127.0.0.1:9000), then the file, then the default.
A wrong key or value stops the process and names the key and what is expected.`;

export async function runService<S extends TSchema>(
  name: string,
  schema: S,
  args: string[],
  start: (config: Static<S>, configFile: string, log: Logger) => Promise<{ close(): Promise<void> }>,
): Promise<number> {
  const { values } = parseOptions(args, SERVICE_OPTIONS);
  if (!values.config) throw new UsageError('--config FILE is required');
  const config = loadConfigFile(schema, values.config, { set: values.set ?? [] }) as Static<S> & { log: { level: string } };
  const log = createLogger({ name, level: values['log-level'] ?? config.log.level });
  const running = await start(config, values.config, log);
  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, `${name} stopping`);
      running.close().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err: (err as Error).message }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
