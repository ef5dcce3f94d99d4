import { devstack, test } from '@tenantry/devstack/testing';
import type { PlanSpec } from '@tenantry/tenant-api';
import { type Admin, ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, onTestFinished } from 'vitest';
import { deleteTopics, reconcileTopics, type TopicPolicy, topicPolicy } from './topics.ts';

const HOUR_MS = 3_600_000;
const policy: TopicPolicy = { partitions: 2, retentionMs: 24 * HOUR_MS };
const unchanged = { ok: true, created: [], updatedConfig: [], addedPartitions: [] };

describe('topicPolicy', () => {
  test('takes partitions from the plan and converts retention hours to milliseconds', () => {
    const plan: PlanSpec = {
      rateLimit: { requestsPerMinute: 100 },
      chat: { monthlyTokens: 1000 },
      kafka: { partitions: 6, retentionHours: 168 },
      postgres: { connectionLimit: 10 },
    };
    expect(topicPolicy(plan)).toEqual({ partitions: 6, retentionMs: 168 * HOUR_MS });
  });
});

describe('reconcileTopics against the devstack broker', () => {
  let admin: Admin;

  beforeAll(async () => {
    const kafka = new Kafka({
      clientId: 'topics-test',
      brokers: devstack().kafka.brokers,
      logLevel: logLevel.NOTHING,
    });
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin.disconnect();
  });

  /** A topic name unique to the test, deleted when the test ends whatever its result. */
  function testTopic(prefix: string): string {
    const topic = `${prefix}.events`;
    onTestFinished(() => deleteTopics(admin, [topic]));
    return topic;
  }

  async function partitionCount(topic: string): Promise<number | undefined> {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0]?.partitions.length;
  }

  async function topicConfig(topic: string): Promise<Record<string, string>> {
    const { resources } = await admin.describeConfigs({
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms', 'cleanup.policy'] },
      ],
      includeSynonyms: false,
    });
    return Object.fromEntries((resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]));
  }

  test('creates a missing topic with the policy', async ({ topicPrefix }) => {
    const topic = testTopic(topicPrefix);

    const outcome = await reconcileTopics(admin, [topic], policy);

    expect(outcome).toEqual({ ok: true, created: [topic], updatedConfig: [], addedPartitions: [] });
    expect(await partitionCount(topic)).toBe(2);
    expect(await topicConfig(topic)).toEqual({
      'retention.ms': String(24 * HOUR_MS),
      'cleanup.policy': 'delete',
    });
  });

  test('a second run changes nothing', async ({ topicPrefix }) => {
    const topic = testTopic(topicPrefix);
    await reconcileTopics(admin, [topic], policy);

    expect(await reconcileTopics(admin, [topic], policy)).toEqual(unchanged);
  });

  test('concurrent runs both succeed and the topic is created once', async ({ topicPrefix }) => {
    const topic = testTopic(topicPrefix);

    // Both runs usually see the topic missing, so one of them gets TOPIC_ALREADY_EXISTS from the broker.
    const outcomes = await Promise.all([
      reconcileTopics(admin, [topic], policy),
      reconcileTopics(admin, [topic], policy),
    ]);

    expect(outcomes.map((o) => o.ok)).toEqual([true, true]);
    expect(outcomes.flatMap((o) => o.created)).toEqual([topic]);
    expect(await partitionCount(topic)).toBe(2);
  });

  test('corrects configuration changed out of band', async ({ topicPrefix }) => {
    const topic = testTopic(topicPrefix);
    await reconcileTopics(admin, [topic], policy);
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: [
            { name: 'retention.ms', value: '60000' },
            { name: 'cleanup.policy', value: 'compact' },
          ],
        },
      ],
    });
    expect(await topicConfig(topic)).toEqual({ 'retention.ms': '60000', 'cleanup.policy': 'compact' });

    const outcome = await reconcileTopics(admin, [topic], policy);

    expect(outcome).toEqual({ ok: true, created: [], updatedConfig: [topic], addedPartitions: [] });
    expect(await topicConfig(topic)).toEqual({
      'retention.ms': String(24 * HOUR_MS),
      'cleanup.policy': 'delete',
    });
    expect(await reconcileTopics(admin, [topic], policy)).toEqual(unchanged);
  });

  test('a plan with a new retention updates the topic', async ({ topicPrefix }) => {
    const topic = testTopic(topicPrefix);
    await reconcileTopics(admin, [topic], policy);

    const outcome = await reconcileTopics(admin, [topic], { ...policy, retentionMs: 72 * HOUR_MS });

    expect(outcome).toEqual({ ok: true, created: [], updatedConfig: [topic], addedPartitions: [] });
    expect(await topicConfig(topic)).toMatchObject({ 'retention.ms': String(72 * HOUR_MS) });
  });

  test('grows partitions from 1 to 3', async ({ topicPrefix }) => {
    const topic = testTopic(topicPrefix);
    await reconcileTopics(admin, [topic], { ...policy, partitions: 1 });
    expect(await partitionCount(topic)).toBe(1);

    const outcome = await reconcileTopics(admin, [topic], { ...policy, partitions: 3 });

    expect(outcome).toEqual({ ok: true, created: [], updatedConfig: [], addedPartitions: [topic] });
    expect(await partitionCount(topic)).toBe(3);
  });

  test('refuses to shrink partitions from 3 to 1 and still applies the other corrections', async ({
    topicPrefix,
  }) => {
    const topic = testTopic(topicPrefix);
    await reconcileTopics(admin, [topic], { ...policy, partitions: 3 });

    const outcome = await reconcileTopics(admin, [topic], { partitions: 1, retentionMs: 48 * HOUR_MS });

    expect(outcome).toMatchObject({
      ok: false,
      reason: 'PartitionDecreaseRefused',
      created: [],
      updatedConfig: [topic],
      addedPartitions: [],
    });
    expect(outcome.ok ? '' : outcome.message).toMatch(new RegExp(`${topic}.* 3 partitions.* asks for 1`));
    expect(await partitionCount(topic)).toBe(3);
    expect(await topicConfig(topic)).toMatchObject({ 'retention.ms': String(48 * HOUR_MS) });
  });

  test('recreates a topic deleted out of band', async ({ topicPrefix }) => {
    const topic = testTopic(topicPrefix);
    await reconcileTopics(admin, [topic], policy);
    await admin.deleteTopics({ topics: [topic] });
    await expect.poll(() => admin.listTopics()).not.toContain(topic);

    const outcome = await reconcileTopics(admin, [topic], policy);

    expect(outcome).toEqual({ ok: true, created: [topic], updatedConfig: [], addedPartitions: [] });
    expect(await partitionCount(topic)).toBe(2);
  });

  test('deleteTopics removes existing topics and accepts missing ones', async ({ topicPrefix }) => {
    const topic = testTopic(topicPrefix);
    const missing = `${topicPrefix}.never-created`;
    await reconcileTopics(admin, [topic], policy);

    await deleteTopics(admin, [topic, missing]);
    expect(await admin.listTopics()).not.toContain(topic);

    await expect(deleteTopics(admin, [topic, missing])).resolves.toBeUndefined();
  });

  test('wraps broker errors with what was being done', async ({ topicPrefix }) => {
    const topic = testTopic(topicPrefix);

    // The broker rejects a negative retention other than -1 (unlimited).
    await expect(reconcileTopics(admin, [topic], { partitions: 1, retentionMs: -5 })).rejects.toThrow(
      `while creating topic ${topic}: `,
    );
  });
});
