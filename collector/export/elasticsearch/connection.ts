// The @elastic/elasticsearch client of an exporter entry, shared by the exporter and `siem setup`: nodes,
// credentials read from their file or environment variable (each time a client is built, so a rotated key
// is picked up after a failure), TLS. Errors name where a secret was looked for, never what was found.
import { readFileSync } from 'node:fs';
import { Client, Serializer } from '@elastic/elasticsearch';
import { readConfiguredFile, resolveFrom } from '../../../common/config/load-config.js';
import { TunnelwatchError } from '../../../common/errors.js';
import type { EsConfig } from './config.js';

// The ESM build of the client does not re-export ClientOptions.
type ClientOptions = ConstructorParameters<typeof Client>[0];

export type EsConnectionConfig = Pick<EsConfig, 'name' | 'nodes' | 'auth' | 'tls' | 'request_timeout_ms' | 'compression'>;

function readSecret(name: string, what: string, file: string | undefined, envName: string | undefined, configFile: string, env: NodeJS.ProcessEnv): string {
  let text: string;
  if (file !== undefined) {
    const path = resolveFrom(configFile, file);
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new TunnelwatchError('TW_ERR_ES_CREDENTIALS', `exporter ${name}: cannot read auth.${what}_file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } else {
    text = env[envName ?? ''] ?? '';
  }
  // A trailing newline from `echo key > file` is not part of the secret.
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '') {
    const where = file !== undefined ? `auth.${what}_file ${file}` : `environment variable ${envName}`;
    throw new TunnelwatchError('TW_ERR_ES_CREDENTIALS', `exporter ${name}: ${where} is empty or unset`);
  }
  return secret;
}

/** The client's `auth`, or undefined without one. Throws TW_ERR_ES_CREDENTIALS on an unclear or unreadable one. */
export function clientAuth(config: EsConnectionConfig, configFile: string, env: NodeJS.ProcessEnv = process.env): ClientOptions['auth'] {
  const a = config.auth;
  if (!a) return undefined;
  const basic = a.username !== undefined || a.password_file !== undefined || a.password_env !== undefined;
  const key = a.api_key_file !== undefined || a.api_key_env !== undefined;
  const fail = (why: string) => new TunnelwatchError('TW_ERR_ES_CREDENTIALS', `exporter ${config.name}: ${why}`);
  if (basic && key) throw fail('set either an API key (api_key_file/api_key_env) or basic auth (username with password_file/password_env), not both');
  if (key) {
    if ((a.api_key_file === undefined) === (a.api_key_env === undefined)) throw fail('set exactly one of auth.api_key_file and auth.api_key_env');
    const apiKey = readSecret(config.name, 'api_key', a.api_key_file, a.api_key_env, configFile, env);
    const colon = apiKey.indexOf(':');
    return colon > 0 ? { apiKey: { id: apiKey.slice(0, colon), api_key: apiKey.slice(colon + 1) } } : { apiKey };
  }
  if (a.username === undefined) throw fail('auth needs username (basic auth) or api_key_file/api_key_env (API key)');
  if ((a.password_file === undefined) === (a.password_env === undefined)) throw fail('set exactly one of auth.password_file and auth.password_env');
  return { username: a.username, password: readSecret(config.name, 'password', a.password_file, a.password_env, configFile, env) };
}

/** A description of where and how it connects, safe to print and log. */
export function describeConnection(config: EsConnectionConfig): string {
  const a = config.auth;
  const how = !a ? 'no authentication' : a.username !== undefined ? `basic auth as ${a.username}` : 'an API key';
  return `${config.nodes.join(', ')} with ${how}`;
}

/** NDJSON lines (text, or UTF-8 bytes taken as they are), each followed by a newline, as one buffer of exactly their size. */
export function ndjsonBody(lines: readonly (string | Uint8Array)[]): Buffer {
  let bytes = 0;
  for (const line of lines) bytes += (typeof line === 'string' ? Buffer.byteLength(line, 'utf8') : line.length) + 1;
  const body = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const line of lines) {
    if (typeof line === 'string') at += body.write(line, at, 'utf8');
    else {
      body.set(line, at);
      at += line.length;
    }
    body[at++] = 0x0a;
  }
  return body;
}

/**
 * The client's serializer, with each _bulk body written once into a buffer of its exact size. The stock
 * one appends the lines to a string (a tree of thousands of pieces), which the transport then measures
 * for Content-Length and the HTTP client encodes again: both walk the whole tree, which cost more CPU
 * than mapping the documents (docs/benchmarks.md, "Export"). The transport takes a Buffer body as it is
 * (Content-Length is its length; gzip with `compression`), so only the declared return type differs.
 *
 * A document that is already its UTF-8 bytes (ecs-rows.ts) passes serialize() as it is: helpers.bulk
 * measures each line with Buffer.byteLength, which takes bytes too, keeps it in its list of lines, and
 * hands the list to ndserialize(), which copies the bytes in. Where the helper parses a line back (the
 * document of a dropped item), deserialize() reads bytes as UTF-8 JSON.
 */
class BulkBufferSerializer extends Serializer {
  override serialize(object: Record<string, unknown>): string {
    return object instanceof Uint8Array ? (object as unknown as string) : super.serialize(object);
  }

  override deserialize<T = unknown>(json: string): T {
    return super.deserialize<T>((json as unknown) instanceof Uint8Array ? Buffer.from(json as unknown as Uint8Array).toString('utf8') : json);
  }

  override ndserialize(array: Array<Record<string, unknown> | string>): string {
    return ndjsonBody(array.map((item) => (typeof item === 'string' || item instanceof Uint8Array ? item : this.serialize(item)))) as unknown as string;
  }
}

export function createClient(config: EsConnectionConfig, configFile: string, env: NodeJS.ProcessEnv = process.env): Client {
  const key = (k: string) => `exporters: ${config.name}.tls.${k}`;
  const tls = config.tls;
  const options: ClientOptions = {
    nodes: [...config.nodes],
    name: `tunnelwatch-${config.name}`,
    requestTimeout: config.request_timeout_ms,
    // The runner owns retries (with backoff and jitter); the client must answer at once.
    maxRetries: 0,
    compression: config.compression,
    Serializer: BulkBufferSerializer,
    tls: {
      ...(tls.ca_file ? { ca: readConfiguredFile(configFile, key('ca_file'), tls.ca_file) } : {}),
      ...(tls.cert_file ? { cert: readConfiguredFile(configFile, key('cert_file'), tls.cert_file) } : {}),
      ...(tls.key_file ? { key: readConfiguredFile(configFile, key('key_file'), tls.key_file) } : {}),
      rejectUnauthorized: tls.verify,
      ...(tls.verify ? {} : { checkServerIdentity: () => undefined }),
    },
  };
  const auth = clientAuth(config, configFile, env);
  if (auth) options.auth = auth;
  return new Client(options);
}
