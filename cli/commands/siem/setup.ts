// Placeholder while `tunnelwatch siem setup` is being written (issue 6).
import type { SiemSubcommand } from '../siem.js';

export const setupSubcommand: SiemSubcommand = {
  name: 'setup',
  summary: 'install Elasticsearch index templates and data streams (tunnelwatch siem setup elasticsearch)',
  run() {
    return Promise.reject(new Error('siem setup is not built yet'));
  },
};
