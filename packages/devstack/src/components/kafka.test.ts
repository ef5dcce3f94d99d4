import { ConfigResourceTypes, Kafka, logLevel, Partitioners } from 'kafkajs';
import { expect } from 'vitest';
import { devstack, test } from '../testing/index.ts';

test('kafkajs creates a topic, produces, consumes in a group and describes configs', async ({
  topicPrefix,
}) => {
  const kafka = new Kafka({ clientId: 'smoke', brokers: devstack().kafka.brokers, logLevel: logLevel.WARN });
  const topic = `${topicPrefix}.events`;
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: `${topicPrefix}.group` });
  try {
    await admin.connect();
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
      waitForLeaders: true,
    });
    expect(created).toBe(true);

    const described = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
      includeSynonyms: false,
    });
    expect(described.resources[0]?.configEntries).toContainEqual(
      expect.objectContaining({ configName: 'retention.ms', configValue: '3600000' }),
    );
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0]?.partitions).toHaveLength(3);

    await producer.connect();
    const messages = Array.from({ length: 10 }, (_, i) => ({ key: `k${i % 3}`, value: `message-${i}` }));
    await producer.send({ topic, messages });

    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const received: string[] = [];
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          received.push(message.value?.toString() ?? '');
          if (received.length === messages.length) resolve();
        },
      });
    });
    await done;
    expect(received.sort()).toEqual(messages.map((m) => m.value).sort());

    // The group commits its offsets on the broker (after each batch, so shortly after the last message).
    await expect
      .poll(
        async () => {
          const offsets = await admin.fetchOffsets({ groupId: `${topicPrefix}.group`, topics: [topic] });
          return offsets[0]?.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
        },
        { timeout: 15_000, interval: 200 },
      )
      .toBe(messages.length);
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
});
