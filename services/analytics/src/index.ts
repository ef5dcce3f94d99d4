export { ANALYTICS_ERROR_CODES } from './analytics-errors.ts';
export {
  type AnalyticsServiceOptions,
  buildAnalyticsService,
  CONSUMER_GROUP,
  clickhouseTarget,
  SERVICE_NAME,
} from './analytics-service.ts';
export { applyClickHouseSchema } from './clickhouse-schema.ts';
export { type AnalyticsConfig, loadAnalyticsConfig } from './config.ts';
export { ENDPOINTS } from './endpoints.ts';
export { type EventRow, eventRow, toIngestible } from './event-rows.ts';
export { createEventStore, type EventStore } from './event-store.ts';
export { createIngester, type Ingester } from './ingester.ts';
export { program } from './program.ts';
export { createQueryRunner, type QueryRunner } from './query-runner.ts';
export {
  invoiceIssued,
  messageCompleted,
  paymentSucceeded,
  signedUp,
  subscriptionChanged,
} from './test-events.ts';
