// Placeholder while `tunnelwatch siem dead-letters` is being written (issue 6).
import type { SiemSubcommand } from '../siem.js';

export const deadLettersSubcommand: SiemSubcommand = {
  name: 'dead-letters',
  summary: 'list dead-lettered records of an exporter, or replay them',
  run() {
    return Promise.reject(new Error('siem dead-letters is not built yet'));
  },
};
