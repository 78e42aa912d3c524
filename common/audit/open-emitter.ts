// Builds an emitter's audit pipeline from its config section: rotating files, optional stdout.
import type { Logger } from '../log.js';
import { resolveFrom } from '../config/load-config.js';
import type { AuditConfig } from '../config/schema-parts.js';
import { AuditEmitter } from './emitter.js';
import type { Emitter } from './event.js';
import { createFileSink } from './file-sink.js';
import { createStdoutSink, type AuditSink } from './sink.js';

export function openAuditEmitter(options: { emitter: Emitter; emitterId: string; audit: AuditConfig; configFile: string; log: Logger }): AuditEmitter {
  const dir = resolveFrom(options.configFile, options.audit.dir);
  const files = createFileSink({
    dir,
    emitterId: options.emitterId,
    maxFileBytes: options.audit.max_file_bytes,
    onTornTail: (file, bytes) => options.log.warn({ file, bytes }, 'cut a torn last line left by a crash from an audit file'),
    onFailure: (err, pending) => options.log.error({ err: err.message, pending }, 'audit events cannot be written; holding them, retrying every second, refusing new calls'),
    onRecovered: () => options.log.warn('audit events are written again'),
    onDrop: (dropped) => options.log.error({ dropped }, 'audit events dropped: too many held while the disk refused writes'),
  });
  const sinks: AuditSink[] = [files];
  if (options.audit.stdout) sinks.push(createStdoutSink());
  options.log.info({ dir, seq: files.recovered.seq }, 'audit chain opened');
  return new AuditEmitter({
    emitter: options.emitter,
    emitterId: options.emitterId,
    sinks,
    chain: files.recovered,
    onCopyError: (err) => options.log.error({ err: err.message }, 'an audit sink after the file sink failed; the event is kept in the file'),
  });
}
