import { createEventConsumer, type EventConsumer, type EventConsumerOptions } from '@tenantry/events';
import type { Logger } from '@tenantry/logger';
import { registerConsumerLagMetrics } from '@tenantry/metrics';
import { TENANT_TOPICS } from '@tenantry/tenant-api';
import type { ConsumerOverrides } from './run-program.ts';
import type { TenantRuntime } from './tenant-runtime.ts';

/**
 * A service's consumer of its tenants' events topics, on its runtime: each event handled in the
 * database of the topic's tenant (with that tenant's credentials), only topics of tenants the runtime
 * serves, and `kafka_consumer_lag` of its group exported with the service's metrics. `name` is the
 * consumer group and the consumer's key in processed_events; `overrides` narrow group and topics
 * (tests and the local platform share one Kafka with other runs).
 */
export function createTenantEventConsumer(
  runtime: TenantRuntime,
  options: {
    name: string;
    types: readonly string[];
    handle: EventConsumerOptions['handle'];
    logger: Logger;
    overrides?: ConsumerOverrides;
  },
): EventConsumer {
  const { name, types, handle, logger, overrides = {} } = options;
  const groupId = overrides.groupId ?? name;
  const consumer = createEventConsumer({
    kafka: runtime.kafka,
    groupId,
    consumerName: name,
    types,
    tenantSql: (tenant) => runtime.databases.sql(tenant),
    serves: (tenant) => runtime.databases.has(tenant),
    handle,
    topicPattern: overrides.topicPattern ?? TENANT_TOPICS,
    ...(overrides.topicCheckIntervalMs === undefined
      ? {}
      : { topicCheckIntervalMs: overrides.topicCheckIntervalMs }),
    logger,
  });
  // A service rebuilt on the same runtime (a restart in tests) replaces its predecessor's gauge.
  runtime.metrics.registry.removeSingleMetric('kafka_consumer_lag');
  registerConsumerLagMetrics(
    runtime.metrics.registry,
    groupId,
    () => consumer.lag(),
    (error) => logger.warn({ err: error }, 'kafka_consumer_lag left out of this scrape'),
  );
  return consumer;
}
