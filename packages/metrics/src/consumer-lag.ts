import { Gauge, type Registry } from 'prom-client';

/** How far a consumer group is behind one partition (EventConsumer.lag() of @tenantry/events). */
export interface ConsumerLag {
  topic: string;
  partition: number;
  lag: number;
}

/**
 * `kafka_consumer_lag{group, topic, partition}`, asked of Kafka at each scrape (prom-client
 * `collect`): what the "consumer lag" alert of the chart's PrometheusRule watches. When Kafka cannot
 * tell, the scrape carries no series rather than stale ones (a frozen value could hide a growing
 * lag), and `onError` hears why.
 */
export function registerConsumerLagMetrics(
  registry: Registry,
  group: string,
  lag: () => Promise<ConsumerLag[]>,
  onError: (error: unknown) => void,
): void {
  new Gauge({
    name: 'kafka_consumer_lag',
    help: 'Messages on a partition past the consumer group committed offset',
    labelNames: ['group', 'topic', 'partition'],
    registers: [registry],
    async collect() {
      // From scratch, before the read: a read that fails leaves no series behind.
      this.reset();
      try {
        for (const { topic, partition, lag: messages } of await lag()) {
          this.set({ group, topic, partition: String(partition) }, messages);
        }
      } catch (error) {
        onError(error);
      }
    },
  });
}
