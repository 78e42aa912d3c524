// The webhook's HMAC secret, from a file or an environment variable. Errors name where it was looked
// for, never what was found: the secret is not logged and not put in any message.
import { readFileSync } from 'node:fs';
import { resolveFrom } from '../../../common/config/load-config.js';
import { TunnelwatchError } from '../../../common/errors.js';

export interface SecretSource {
  readonly secret_file?: string | undefined;
  readonly secret_env?: string | undefined;
}

export function readSecret(name: string, source: SecretSource, configFile: string, env: NodeJS.ProcessEnv = process.env): Buffer {
  if ((source.secret_file === undefined) === (source.secret_env === undefined)) {
    throw new TunnelwatchError('TW_ERR_EXPORT_SECRET', `exporter ${name}: set exactly one of secret_file and secret_env`);
  }
  let text: string;
  if (source.secret_file !== undefined) {
    const file = resolveFrom(configFile, source.secret_file);
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new TunnelwatchError('TW_ERR_EXPORT_SECRET', `exporter ${name}: cannot read secret_file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } else {
    text = env[source.secret_env as string] ?? '';
  }
  // A trailing newline from `echo secret > file` is not part of the secret.
  const secret = text.replace(/\r?\n$/, '');
  if (secret.length < 16) {
    const where = source.secret_file !== undefined ? `secret_file ${source.secret_file}` : `environment variable ${source.secret_env}`;
    throw new TunnelwatchError('TW_ERR_EXPORT_SECRET', `exporter ${name}: the secret in ${where} is missing or shorter than 16 characters`);
  }
  return Buffer.from(secret, 'utf8');
}
