import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@tenantry/logger';
import { TENANT_TOPICS, tenantOfTopic } from '@tenantry/tenant-api';
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { type EventRow, type Ingestible, type RejectedRow, toIngestible } from './event-rows.ts';
import type { EventStore, StoredBatch } from './event-store.ts';

export interface IngesterOptions {
  kafka: Kafka;
  store: EventStore;
  groupId: string;
  /** Topics to follow; every tenant's events topic by default. */
  topicPattern?: RegExp;
  topicCheckIntervalMs: number;
  /** Insert once this many messages are buffered… */
  batchRows: number;
  /** …or once the oldest buffered message waited this long. */
  lingerMs: number;
  logger: Logger;
  /** Called after each stored batch (metrics, tests). */
  onStored?: (batch: StoredBatch) => void;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
}

export interface Ingester {
  start(): Promise<void>;
  /** Stores and commits what is buffered (when ClickHouse allows), then leaves the group. */
  stop(): Promise<void>;
  lag(): Promise<PartitionLag[]>;
}

const RETRY_MS = 500;
const FETCH_BYTES_PER_PARTITION = 8 * 1024 * 1024;
const FETCH_BYTES = 64 * 1024 * 1024;
const MAX_RETRY_MS = 10_000;

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Kafka → ClickHouse. Messages of every assigned partition accumulate in one buffer, stored in one
 * insert when it holds `batchRows` or its oldest message waited `lingerMs`; only then are the
 * partitions' offsets committed (autoCommit is off). A crash between the insert and the commit
 * redelivers events the store then recognises by id, so nothing is lost or counted twice. While
 * ClickHouse is down the consumer stops taking batches (backpressure) and retries with backoff.
 * Kafka's regex subscriptions only see topics that exist when subscribing, so topics are listed every
 * `topicCheckIntervalMs` and the consumer is replaced when they changed (a tenant created or deleted).
 */
export function createIngester(options: IngesterOptions): Ingester {
  const { kafka, store, groupId, logger } = options;
  const given = options.topicPattern ?? TENANT_TOPICS;
  const topicPattern = new RegExp(given.source, given.flags.replace(/[gy]/g, ''));

  /** Buffered records by `topic/partition/offset`: a batch kafkajs delivers again replaces, not doubles. */
  const buffer = new Map<string, Ingestible>();
  /** The highest buffered offset per partition: what a successful insert lets us commit. */
  const positions = new Map<string, { topic: string; partition: number; offset: bigint }>();
  let lingerTimer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();

  let admin: Admin | undefined;
  let consumer: Consumer | undefined;
  let subscribed: ReadonlySet<string> = new Set();
  let crashed = false;
  let stopping: AbortController | undefined;
  let checks: Promise<void> | undefined;

  async function flushNow(): Promise<void> {
    if (buffer.size === 0) return;
    const keys = [...buffer.keys()];
    const commits = [...positions.values()];
    const events: EventRow[] = [];
    const rejected: RejectedRow[] = [];
    for (const item of buffer.values()) {
      if (item.ok) events.push(item.row);
      else rejected.push(item.rejected);
    }
    const stored = await store.store(events, rejected);
    for (const key of keys) buffer.delete(key);
    for (const position of commits) {
      const key = `${position.topic}/${position.partition}`;
      if (positions.get(key)?.offset === position.offset) positions.delete(key);
    }
    if (rejected.length > 0) {
      logger.warn(
        { rejected: rejected.map((r) => ({ tenant: r.tenant, offset: r.offset, reason: r.reason })) },
        `${rejected.length} malformed event(s) recorded in rejected_events and skipped`,
      );
    }
    options.onStored?.(stored);
    try {
      await consumer?.commitOffsets(
        commits.map(({ topic, partition, offset }) => ({
          topic,
          partition,
          offset: (offset + 1n).toString(),
        })),
      );
    } catch (error) {
      // Stored already: a redelivery of these offsets is recognised by event id.
      logger.warn({ groupId, err: error }, `committing offsets failed: ${errorMessage(error)}`);
    }
  }

  /** One flush at a time, in order: a failed one leaves its records buffered for the next. */
  function flush(): Promise<void> {
    const run = flushing.then(flushNow);
    flushing = run.catch(() => {});
    return run;
  }

  function scheduleLinger(delayMs = options.lingerMs): void {
    if (lingerTimer || buffer.size === 0) return;
    lingerTimer = setTimeout(() => {
      lingerTimer = undefined;
      flush().then(
        () => scheduleLinger(),
        (error: unknown) => {
          logger.warn({ groupId, err: error }, `storing a batch failed, retrying: ${errorMessage(error)}`);
          scheduleLinger(Math.min(delayMs * 2, MAX_RETRY_MS));
        },
      );
    }, delayMs);
  }

  async function eachBatch({ batch, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const tenant = tenantOfTopic(batch.topic);
    if (tenant === undefined) return;
    for (const message of batch.messages) {
      buffer.set(
        `${batch.topic}/${batch.partition}/${message.offset}`,
        toIngestible({
          tenant,
          topic: batch.topic,
          partition: batch.partition,
          offset: message.offset,
          value: message.value,
        }),
      );
      const key = `${batch.topic}/${batch.partition}`;
      const offset = BigInt(message.offset);
      if ((positions.get(key)?.offset ?? -1n) < offset) {
        positions.set(key, { topic: batch.topic, partition: batch.partition, offset });
      }
    }
    scheduleLinger();
    // Backpressure: a full buffer is stored before another batch is taken, however long that takes.
    for (let attempt = 0; buffer.size >= options.batchRows && isRunning() && !isStale(); attempt++) {
      try {
        await flush();
      } catch (error) {
        const retryInMs = Math.min(RETRY_MS * 2 ** attempt, MAX_RETRY_MS);
        logger.warn({ groupId, err: error, retryInMs }, `storing a batch failed: ${errorMessage(error)}`);
        await sleep(retryInMs);
      }
      await heartbeat();
    }
  }

  async function stopConsumer(): Promise<void> {
    const current = consumer;
    // What the old assignment buffered is stored and committed while it is still this member's.
    await flush().catch((error: unknown) => {
      logger.warn({ groupId, err: error }, `storing the last batch failed: ${errorMessage(error)}`);
    });
    consumer = undefined;
    subscribed = new Set();
    await current?.disconnect().catch((error: unknown) => {
      logger.warn({ groupId, err: error }, `disconnecting the consumer failed: ${errorMessage(error)}`);
    });
  }

  async function startConsumer(topics: ReadonlySet<string>): Promise<void> {
    await stopConsumer();
    if (topics.size === 0) return;
    // Fetches large enough to fill a batch in one round trip (kafkajs defaults to 1 MiB per partition);
    // a fetch waits at most the linger, so a quiet topic's events are not held longer than that.
    const created = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: options.lingerMs,
      maxBytesPerPartition: FETCH_BYTES_PER_PARTITION,
      maxBytes: FETCH_BYTES,
    });
    crashed = false;
    created.on(created.events.CRASH, ({ payload }) => {
      if (!payload.restart && consumer === created) crashed = true;
    });
    consumer = created;
    await created.connect();
    // From the beginning: a topic without offsets of this group is a tenant created since the last
    // check, whose first events may already be there.
    await created.subscribe({ topics: [...topics], fromBeginning: true });
    await created.run({ autoCommit: false, eachBatch });
    subscribed = topics;
  }

  async function withAdmin<T>(use: (connected: Admin) => Promise<T>): Promise<T> {
    try {
      if (!admin) {
        const created = kafka.admin();
        await created.connect();
        admin = created;
      }
      return await use(admin);
    } catch (error) {
      const failed = admin;
      admin = undefined;
      await failed?.disconnect().catch(() => {});
      throw error;
    }
  }

  async function checkTopics(): Promise<void> {
    const all = await withAdmin((connected) => connected.listTopics()).catch((error: unknown) => {
      throw new Error(`while listing topics for consumer group ${groupId}: ${errorMessage(error)}`, {
        cause: error,
      });
    });
    const topics = new Set(
      all.filter((topic) => topicPattern.test(topic) && tenantOfTopic(topic) !== undefined),
    );
    if (topics.size === subscribed.size && [...topics].every((t) => subscribed.has(t)) && !crashed) return;
    logger.info(
      { groupId, topics: topics.size },
      `consumer group ${groupId}: subscribing to ${topics.size} topic(s)`,
    );
    try {
      await startConsumer(topics);
    } catch (error) {
      await stopConsumer();
      throw new Error(`while starting consumer group ${groupId}: ${errorMessage(error)}`, { cause: error });
    }
  }

  async function checkPeriodically(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(options.topicCheckIntervalMs, undefined, { signal }).catch(() => {});
      if (signal.aborted) break;
      await checkTopics().catch((error: unknown) =>
        logger.warn({ groupId, err: error }, errorMessage(error)),
      );
    }
  }

  return {
    async start() {
      if (stopping) throw new Error(`consumer group ${groupId} is already started`);
      const controller = new AbortController();
      stopping = controller;
      try {
        await checkTopics();
      } catch (error) {
        stopping = undefined;
        await admin?.disconnect().catch(() => {});
        admin = undefined;
        throw error;
      }
      checks = checkPeriodically(controller.signal);
    },
    async stop() {
      stopping?.abort();
      await checks;
      clearTimeout(lingerTimer);
      lingerTimer = undefined;
      await stopConsumer();
      await admin?.disconnect().catch(() => {});
      admin = undefined;
      checks = undefined;
      stopping = undefined;
    },
    async lag() {
      const topics = [...subscribed];
      if (topics.length === 0) return [];
      const [committed, ends] = await withAdmin((connected) =>
        Promise.all([
          connected.fetchOffsets({ groupId, topics }),
          Promise.all(
            topics.map(async (topic) => ({ topic, partitions: await connected.fetchTopicOffsets(topic) })),
          ),
        ]),
      );
      const committedOffset = new Map<string, number>();
      for (const { topic, partitions } of committed) {
        for (const { partition, offset } of partitions)
          committedOffset.set(`${topic}/${partition}`, Number(offset));
      }
      return ends.flatMap(({ topic, partitions }) =>
        partitions.map(({ partition, high, low }) => {
          const offset = committedOffset.get(`${topic}/${partition}`) ?? -1;
          return { topic, partition, lag: Math.max(0, Number(high) - (offset < 0 ? Number(low) : offset)) };
        }),
      );
    },
  };
}
