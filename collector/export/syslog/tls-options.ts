// The TLS client options of a syslog exporter (RFC 5425): our trust anchors, an optional client
// certificate, and the name the receiver's certificate must carry. Files are read at start() (and again
// at each restart after a failure, so a replaced CA file is picked up), relative to the config file.
import { isIP } from 'node:net';
import tls from 'node:tls';
import { readConfiguredFile } from '../../../common/config/load-config.js';
import type { ResolvedSyslogConfig } from './config.js';

export function tlsOptions(config: Pick<ResolvedSyslogConfig, 'host' | 'tls'>, configFile: string, keyPrefix: string): tls.ConnectionOptions {
  const { ca, cert, key, server_name: serverName, reject_unauthorized: rejectUnauthorized } = config.tls;
  const read = (name: string, path: string): Buffer => readConfiguredFile(configFile, `${keyPrefix}.tls.${name}`, path);
  const name = serverName ?? config.host;
  const options: tls.ConnectionOptions = {
    // RFC 9662 (updating RFC 5425): TLS 1.2 or later.
    minVersion: 'TLSv1.2',
    rejectUnauthorized,
    ...(ca ? { ca: read('ca', ca) } : {}),
    ...(cert && key ? { cert: read('cert', cert), key: read('key', key) } : {}),
  };
  if (isIP(name)) {
    // SNI must not carry an IP address (RFC 6066 §3): check the certificate's IP SANs ourselves.
    options.checkServerIdentity = (_host, peer) => tls.checkServerIdentity(name, peer);
  } else {
    options.servername = name;
  }
  return options;
}
