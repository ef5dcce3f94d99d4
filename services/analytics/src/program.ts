import type { TenantServiceProgram } from '@tenantry/service-runtime';
import { buildAnalyticsService, SERVICE_NAME } from './analytics-service.ts';
import { type AnalyticsConfig, loadAnalyticsConfig } from './config.ts';

/** The analytics service: it consumes every tenant's events and verifies tokens only. */
export const program: TenantServiceProgram<AnalyticsConfig> = {
  service: SERVICE_NAME,
  loadConfig: loadAnalyticsConfig,
  build: ({ consumers, ...parts }) =>
    buildAnalyticsService({ ...parts, ...(consumers ? { events: consumers } : {}) }),
};
