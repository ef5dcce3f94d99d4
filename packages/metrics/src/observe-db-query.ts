import type { ServiceMetrics } from './service-metrics.ts';

/** The `operation` label of every query TenantDatabases times: it reports no finer kind. */
export const DB_QUERY_OPERATION = 'query';

/**
 * TenantDatabases' `onQuery`, recording into `db_query_duration_seconds`. The tenant is left out on
 * purpose: as a label it would multiply every bucket's series by the number of tenants.
 */
export function observeDbQuery(metrics: ServiceMetrics): (tenant: string, ms: number) => void {
  return (_tenant, ms) => {
    metrics.dbQueryDuration.observe({ operation: DB_QUERY_OPERATION }, ms / 1000);
  };
}
