// dashboard.yaml for `tunnelwatch dashboard`: a dashboard of its own, reading a ClickHouse server (the
// embedded store belongs to the collector's process; there the collector serves the dashboard).
import { Type, type Static } from '@sinclair/typebox';
import { LogSection } from '../common/config/schema-parts.js';
import { StoreSection } from '../collector/config-schema.js';
import { DashboardSection } from './config-schema.js';

export const DashboardConfigSchema = Type.Object(
  { dashboard: DashboardSection, store: StoreSection, log: LogSection },
  { additionalProperties: false },
);
export type DashboardConfig = Static<typeof DashboardConfigSchema>;
