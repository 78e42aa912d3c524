// Placeholder while the syslog exporter is being written (issue 6); replaced by its real factory.
import { Type } from '@sinclair/typebox';
import type { ExporterFactory } from '../types.js';

export const syslogExporter: ExporterFactory = {
  type: 'syslog',
  summary: 'syslog (not built yet)',
  configSchema: Type.Object({}, { additionalProperties: false }),
  create() {
    throw new Error('the syslog exporter is not built yet');
  },
};
