import { openConfiguredStore } from '../../collector/store-adapter.js';
import { startDashboard } from '../../dashboard/dashboard.js';
import { DashboardConfigSchema } from '../../dashboard/standalone-schema.js';
import type { Command } from '../command.js';
import { runService, SERVICE_HELP } from '../run-service.js';

export const dashboardCommand: Command = {
  name: 'dashboard',
  summary: 'run the dashboard on its own, against a ClickHouse server (store.url)',
  help: `Usage: tunnelwatch dashboard --config dashboard.yaml [options]

Runs the dashboard (pages and the /api/v1 JSON API) by itself, reading the store a collector writes.
Meant for a ClickHouse server (store.url), where dashboards and collectors are separate processes.
With the embedded store the collector serves the dashboard (a dashboard: section in collector.yaml):
an embedded data directory belongs to one process, and a second one gets TW_ERR_STORE_LOCKED.
dashboard.yaml holds the dashboard:, store: and log: sections (docs/configuration.md).
See docs/dashboard.md, docs/dashboard-security.md and docs/dashboard-api.md.

${SERVICE_HELP}`,
  run: (args) =>
    runService('dashboard', DashboardConfigSchema, args, async (config, configFile, log) => {
      const store = await openConfiguredStore(config, configFile, log);
      try {
        const dashboard = await startDashboard(config.dashboard, store, configFile, log);
        return {
          async close() {
            await dashboard.close();
            await store.close();
          },
        };
      } catch (err) {
        await store.close();
        throw err;
      }
    }),
};
