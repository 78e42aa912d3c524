// Placeholder while the webhook exporter is being written (issue 6); replaced by its real factory.
import { Type } from '@sinclair/typebox';
import type { ExporterFactory } from '../types.js';

export const webhookExporter: ExporterFactory = {
  type: 'webhook',
  summary: 'webhook (not built yet)',
  configSchema: Type.Object({}, { additionalProperties: false }),
  create() {
    throw new Error('the webhook exporter is not built yet');
  },
};
