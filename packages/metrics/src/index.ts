export { type ConsumerLag, registerConsumerLagMetrics } from './consumer-lag.ts';
export {
  DEFAULT_METRICS_PATH,
  type MetricsPluginOptions,
  metricsPlugin,
  UNMATCHED_ROUTE,
} from './metrics-plugin.ts';
export { createMetricsRegistry } from './metrics-registry.ts';
export { DB_QUERY_OPERATION, observeDbQuery } from './observe-db-query.ts';
export { type PoolStats, registerPoolMetrics } from './pool-metrics.ts';
export {
  createServiceMetrics,
  DB_QUERY_DURATION_BUCKETS,
  HTTP_DURATION_BUCKETS,
  type ServiceMetrics,
} from './service-metrics.ts';
