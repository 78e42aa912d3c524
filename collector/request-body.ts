// Request bodies as ingest routes get them: fastify collects the raw bytes (bounded by
// collector.max_body_bytes as sent); this undoes Content-Encoding, bounded by the same limit after
// gunzip, so a small gzip bomb cannot expand into memory.
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { IngestError } from './ingest-error.js';

const gunzipAsync = promisify(gunzip);

/** The media type without parameters, lower case: `application/json; charset=utf-8` -> `application/json`. */
export function mediaType(contentType: string | undefined): string {
  if (!contentType) return '';
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

export async function decodedBody(raw: unknown, contentEncoding: string | string[] | undefined, limit: number): Promise<Buffer> {
  const body = Buffer.isBuffer(raw) ? raw : Buffer.alloc(0);
  const encoding = (Array.isArray(contentEncoding) ? contentEncoding.join(',') : (contentEncoding ?? '')).trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return body;
  if (encoding !== 'gzip' && encoding !== 'x-gzip') {
    throw new IngestError('TW_ERR_INGEST_UNSUPPORTED_MEDIA_TYPE', `Content-Encoding ${JSON.stringify(encoding)} is not supported; send gzip or identity`);
  }
  try {
    return await gunzipAsync(body, { maxOutputLength: limit });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new IngestError('TW_ERR_INGEST_TOO_LARGE', `the body exceeds collector.max_body_bytes (${limit} bytes) after gunzip`);
    }
    throw new IngestError('TW_ERR_INGEST_MALFORMED', `Content-Encoding is gzip but the body is not valid gzip: ${e.message}`);
  }
}
