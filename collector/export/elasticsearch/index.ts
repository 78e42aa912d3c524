// Placeholder while the elasticsearch exporter is being written (issue 6); replaced by its real factory.
import { Type } from '@sinclair/typebox';
import type { ExporterFactory } from '../types.js';

export const elasticsearchExporter: ExporterFactory = {
  type: 'elasticsearch',
  summary: 'elasticsearch (not built yet)',
  configSchema: Type.Object({}, { additionalProperties: false }),
  create() {
    throw new Error('the elasticsearch exporter is not built yet');
  },
};
