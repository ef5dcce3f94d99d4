import { type ClickHouseClient, type ClickHouseTarget, createClickHouse } from '@tenantry/clickhouse';
import { keepConsumerRunning } from '@tenantry/events';
import type { Logger } from '@tenantry/logger';
import { registerConsumerLagMetrics } from '@tenantry/metrics';
import { buildService, type ServiceInstance } from '@tenantry/service-kit';
import { type ConsumerOverrides, serviceConfig, type TenantRuntime } from '@tenantry/service-runtime';
import { applyClickHouseSchema } from './clickhouse-schema.ts';
import type { AnalyticsConfig } from './config.ts';
import { createEventStore, type StoredBatch } from './event-store.ts';
import { createIngester, type Ingester } from './ingester.ts';
import { createQueryRunner } from './query-runner.ts';
import { analyticsRoutes } from './routes.ts';

export const SERVICE_NAME = 'analytics';
/** The Kafka consumer group of every replica. */
export const CONSUMER_GROUP = 'analytics';

export interface AnalyticsServiceOptions {
  runtime: TenantRuntime;
  config: AnalyticsConfig;
  logger: Logger;
  /**
   * A client to use instead of one from the config; the service leaves it open. Tests share one: the
   * embedded engine binds one data directory per process.
   */
  clickhouse?: ClickHouseClient;
  /** Tests and the local platform narrow the topics and give each run its own group. */
  events?: ConsumerOverrides;
  /** Called after each batch stored (tests, benchmarks). */
  onStored?: (batch: StoredBatch) => void;
  onClose?: () => Promise<void>;
}

export function clickhouseTarget(config: AnalyticsConfig): ClickHouseTarget {
  // @clickhouse/client reads the credentials from the URL.
  if (config.CLICKHOUSE_URL) return { mode: 'http', url: config.CLICKHOUSE_URL };
  return { mode: 'embedded', path: config.CLICKHOUSE_PATH };
}

/** The ingester whose lag each metrics registry reports. */
const lagSources = new WeakMap<TenantRuntime['metrics']['registry'], { current: Ingester }>();

/**
 * The kafka_consumer_lag gauge, registered once per registry: a service rebuilt over the same runtime
 * (a restart in tests) reports its new ingester's lag rather than failing on a duplicate metric.
 */
function registerLag(runtime: TenantRuntime, groupId: string, ingester: Ingester, logger: Logger): void {
  const registry = runtime.metrics.registry;
  const known = lagSources.get(registry);
  if (known) {
    known.current = ingester;
    return;
  }
  const source = { current: ingester };
  lagSources.set(registry, source);
  registerConsumerLagMetrics(
    registry,
    groupId,
    () => source.current.lag(),
    (error) => logger.warn({ err: error }, 'kafka_consumer_lag left out of this scrape'),
  );
}

/**
 * The analytics service, ready to listen: the schema applied, the API under /api/analytics, and the
 * Kafka → ClickHouse ingester, which starts with the app and stops (storing what it buffered) when it
 * closes.
 */
export async function buildAnalyticsService(options: AnalyticsServiceOptions): Promise<ServiceInstance> {
  const { runtime, config, logger, events = {} } = options;
  const database = config.CLICKHOUSE_DATABASE;
  const client =
    options.clickhouse ?? (await createClickHouse(clickhouseTarget(config), { application: SERVICE_NAME }));
  const ownsClient = options.clickhouse === undefined;
  try {
    await applyClickHouseSchema(client, database, logger);
  } catch (error) {
    if (ownsClient) await client.close();
    throw error;
  }
  const groupId = events.groupId ?? CONSUMER_GROUP;
  const ingester: Ingester = createIngester({
    kafka: runtime.kafka,
    store: createEventStore(client, database),
    groupId,
    ...(events.topicPattern ? { topicPattern: events.topicPattern } : {}),
    topicCheckIntervalMs: events.topicCheckIntervalMs ?? config.TOPIC_CHECK_INTERVAL_MS,
    batchRows: config.INGEST_BATCH_ROWS,
    lingerMs: config.INGEST_LINGER_MS,
    logger,
    ...(options.onStored ? { onStored: options.onStored } : {}),
  });
  registerLag(runtime, groupId, ingester, logger);

  return buildService({
    name: SERVICE_NAME,
    config: serviceConfig(config),
    logger,
    metrics: runtime.metrics,
    dependencies: {
      ...runtime.dependencies,
      clickhouse: async () => {
        const ping = await client.ping();
        if (!ping.success) throw ping.error;
      },
    },
    routes: async (app) => {
      let running: { stop(): Promise<void> } | undefined;
      app.addHook('onReady', async () => {
        running = keepConsumerRunning(ingester, logger, 'the event ingester');
      });
      app.addHook('onClose', async () => {
        try {
          await running?.stop();
          if (ownsClient) await client.close();
        } finally {
          await options.onClose?.();
        }
      });
      await app.register(analyticsRoutes, {
        identity: runtime.identity,
        run: createQueryRunner({ client, timeoutSeconds: config.QUERY_TIMEOUT_SECONDS, logger }),
        database,
        maxRows: config.QUERY_MAX_ROWS,
      });
    },
  });
}
