// Shared start-up for long-running commands: load and validate config, log, run until a signal.
import { hostname } from 'node:os';
import type { Static, TSchema } from '@sinclair/typebox';
import { loadConfigFile } from '../common/config/load-config.js';
import { createLogger, type Logger } from '../common/log.js';
import type { RunningService, ServiceHooks } from '../common/service.js';
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
A wrong key or value stops the process and names the key and what is expected.
SIGHUP reloads the file (with the same --set and environment): applied whole, or refused whole and
logged when invalid; what can only change with a restart is named in the log.`;

export async function runService<S extends TSchema>(
  name: string,
  schema: S,
  args: string[],
  start: (config: Static<S>, configFile: string, log: Logger, hooks: ServiceHooks<Static<S>>) => Promise<RunningService<Static<S>>>,
): Promise<number> {
  const { values } = parseOptions(args, SERVICE_OPTIONS);
  if (!values.config) throw new UsageError('--config FILE is required');
  const config = loadConfigFile(schema, values.config, { set: values.set ?? [] }) as Static<S> & { log: { level: string } };
  const log = createLogger({ name, level: values['log-level'] ?? config.log.level });
  const load = (): Static<S> => loadConfigFile(schema, values.config as string, { set: values.set ?? [] }) as Static<S>;
  const running = await start(config, values.config, log, { load });
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
    // Without a listener Node would exit on SIGHUP; with one, a reload, or a clear word that it needs a restart.
    process.on('SIGHUP', () => {
      if (!running.reload) {
        log.warn(`${name} does not reload its configuration: restart it to apply changes`);
        return;
      }
      // A signal does not say who sent it; the host and pid at least say where (the system log may say who).
      const actor = `SIGHUP to pid ${process.pid} on ${hostname()}`;
      running.reload(load, { via: 'sighup', actor }).then(
        (r) => (r.applied ? log.info({ restart_needed: r.restartNeeded ?? [] }, `configuration reloaded: ${r.message}`) : log.error(`configuration reload refused, nothing changed: ${r.message}`)),
        (err: unknown) => log.error({ err: (err as Error).message }, 'configuration reload failed, nothing changed'),
      );
    });
  });
}

