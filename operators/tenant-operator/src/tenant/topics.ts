import kafkajs, { type Admin, type IResourceConfigEntry } from 'kafkajs';

// kafkajs is CommonJS: Node's ESM loader exposes only its default export reliably.
const { ConfigResourceTypes } = kafkajs;

import type { PlanSpec } from '@tenantry/tenant-api';

/**
 * The tenant's Kafka topics, converged on the plan's policy: created when missing, their managed
 * configuration corrected when it drifted, partitions added when the plan grew. Kafka cannot remove
 * partitions, so a plan asking for fewer is refused and reported, never applied by recreating the
 * topic (that would drop the tenant's events).
 */
export interface TopicPolicy {
  partitions: number;
  retentionMs: number;
}

interface TopicChanges {
  created: string[];
  updatedConfig: string[];
  addedPartitions: string[];
}

export type TopicOutcome =
  | ({ ok: true } & TopicChanges)
  | ({ ok: false; reason: 'PartitionDecreaseRefused'; message: string } & TopicChanges);

const HOUR_MS = 3_600_000;

export function topicPolicy(plan: PlanSpec): TopicPolicy {
  return { partitions: plan.kafka.partitions, retentionMs: plan.kafka.retentionHours * HOUR_MS };
}

/**
 * Every topic-level config the operator owns. `alterConfigs` replaces a topic's whole dynamic config
 * set, so a correction must always send all of them, or it would reset the ones left out.
 */
function managedConfig(policy: TopicPolicy): IResourceConfigEntry[] {
  return [
    { name: 'retention.ms', value: String(policy.retentionMs) },
    { name: 'cleanup.policy', value: 'delete' },
  ];
}

function reasonOf(error: unknown): string {
  // kafkajs reports per-topic failures as an aggregate whose own message ("Topic creation errors")
  // says nothing; the inner errors carry the broker's reason.
  if (error instanceof Error && 'errors' in error && Array.isArray(error.errors) && error.errors.length > 0) {
    return error.errors.map(reasonOf).join('; ');
  }
  return error instanceof Error ? error.message : String(error);
}

async function withContext<T>(context: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw new Error(`${context}: ${reasonOf(error)}`, { cause: error });
  }
}

async function existingAmong(admin: Admin, topics: string[]): Promise<string[]> {
  const existing = new Set(await withContext('while listing topics', () => admin.listTopics()));
  return topics.filter((t) => existing.has(t));
}

/** True when this call created the topic, false when it already existed (created concurrently). */
function createTopic(admin: Admin, topic: string, policy: TopicPolicy): Promise<boolean> {
  return withContext(`while creating topic ${topic}`, () =>
    // No replicationFactor: the broker's default.replication.factor applies (kafkajs sends -1).
    // kafkajs resolves to false, not an error, when the broker answers TOPIC_ALREADY_EXISTS.
    admin.createTopics({
      topics: [{ topic, numPartitions: policy.partitions, configEntries: managedConfig(policy) }],
      waitForLeaders: true,
    }),
  );
}

async function partitionCounts(admin: Admin, topics: string[]): Promise<Map<string, number>> {
  const { topics: metadata } = await withContext(
    `while reading metadata of topics ${topics.join(', ')}`,
    () => admin.fetchTopicMetadata({ topics }),
  );
  return new Map(metadata.map((t) => [t.name, t.partitions.length]));
}

/** The current values of the managed configs, per topic. */
async function managedConfigValues(
  admin: Admin,
  topics: string[],
  names: string[],
): Promise<Map<string, Map<string, string>>> {
  const { resources } = await withContext(`while reading configuration of topics ${topics.join(', ')}`, () =>
    admin.describeConfigs({
      resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: names })),
      includeSynonyms: false,
    }),
  );
  return new Map(
    resources.map((r) => [
      r.resourceName,
      new Map(r.configEntries.map((e) => [e.configName, e.configValue])),
    ]),
  );
}

/**
 * Converges `topics` on `policy`. Every correction that can be applied is applied even when a
 * partition decrease is refused, so the outcome lists what changed in both cases.
 */
export async function reconcileTopics(
  admin: Admin,
  topics: string[],
  policy: TopicPolicy,
): Promise<TopicOutcome> {
  const changes: TopicChanges = { created: [], updatedConfig: [], addedPartitions: [] };
  const refusals: string[] = [];
  const desiredConfig = managedConfig(policy);

  const existing = new Set(await existingAmong(admin, topics));
  // Topics that existed before this call (or appeared concurrently) must be checked for drift; the
  // ones created here carry the policy already.
  const toVerify: string[] = [];
  for (const topic of topics) {
    if (existing.has(topic)) toVerify.push(topic);
    else if (await createTopic(admin, topic, policy)) changes.created.push(topic);
    else toVerify.push(topic);
  }
  if (toVerify.length === 0) return { ok: true, ...changes };

  const counts = await partitionCounts(admin, toVerify);
  const configs = await managedConfigValues(
    admin,
    toVerify,
    desiredConfig.map((e) => e.name),
  );
  for (const topic of toVerify) {
    const current = configs.get(topic);
    if (desiredConfig.some((e) => current?.get(e.name) !== e.value)) {
      await withContext(`while updating configuration of topic ${topic}`, () =>
        admin.alterConfigs({
          validateOnly: false,
          resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: desiredConfig }],
        }),
      );
      changes.updatedConfig.push(topic);
    }

    const partitions = counts.get(topic);
    if (partitions === undefined) {
      throw new Error(`while reading metadata of topic ${topic}: the topic is missing from the response`);
    }
    if (partitions < policy.partitions) {
      await withContext(`while adding partitions to topic ${topic}`, () =>
        admin.createPartitions({ topicPartitions: [{ topic, count: policy.partitions }] }),
      );
      changes.addedPartitions.push(topic);
    } else if (partitions > policy.partitions) {
      refusals.push(
        `topic ${topic} has ${partitions} partitions and the plan asks for ${policy.partitions}: Kafka cannot decrease the partitions of a topic`,
      );
    }
  }

  if (refusals.length > 0) {
    return { ok: false, reason: 'PartitionDecreaseRefused', message: refusals.join('; '), ...changes };
  }
  return { ok: true, ...changes };
}

/** Deletes the topics that exist; a topic already gone is the desired state, not an error. */
export async function deleteTopics(admin: Admin, topics: string[]): Promise<void> {
  const present = await existingAmong(admin, topics);
  if (present.length === 0) return;
  try {
    await admin.deleteTopics({ topics: present });
  } catch (error) {
    // Deleted by someone else since the listing: the broker answers UNKNOWN_TOPIC_OR_PARTITION for the
    // whole request. Only the end state matters, so look again before reporting a failure.
    const remaining = await existingAmong(admin, present);
    if (remaining.length > 0) {
      throw new Error(`while deleting topics ${remaining.join(', ')}: ${reasonOf(error)}`, { cause: error });
    }
  }
}
