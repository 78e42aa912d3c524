// Reads the PEM files a TLS section names, with an error that says which key to fix.
import { readFileSync } from 'node:fs';
import type { TlsFilesConfig } from '../../common/config/schema-parts.js';
import { resolveFrom } from '../../common/config/load-config.js';
import { TunnelwatchError } from '../../common/errors.js';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

export function readTlsFiles(configFile: string, section: string, tls: TlsFilesConfig): TlsMaterial {
  const read = (key: 'cert' | 'key' | 'ca'): Buffer => {
    const path = resolveFrom(configFile, tls[key]);
    try {
      return readFileSync(path);
    } catch (err) {
      throw new TunnelwatchError('TW_ERR_CONFIG_READ', `${section}.${key}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); create it with \`tunnelwatch pki init\``, { cause: err });
    }
  };
  return { cert: read('cert'), key: read('key'), ca: read('ca') };
}
