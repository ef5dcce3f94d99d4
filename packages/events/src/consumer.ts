import { setTimeout as sleep } from 'node:timers/promises';
import { type Context, context } from '@opentelemetry/api';
import { TENANT_TOPICS, tenantOfTopic } from '@tenantry/tenant-api';
import type { Admin, Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import type { Sql, TransactionSql } from 'postgres';
import { type EventEnvelope, InvalidEventError, parseEvent } from './envelope.ts';
import { type EventsLogger, errorMessage } from './events-logger.ts';
import { contextFromHeaders } from './trace-context.ts';

/**
 * Consumes the events topics of every tenant and runs `handle` once per event and consumer.
 *
 * Idempotence: each event is handled in one transaction on its tenant's database that first inserts
 * (consumer, event id) into `processed_events`; a redelivered event finds the row and is skipped, and
 * a handler error rolls the row back with the handler's own changes, so the event is tried again.
 *
 * Poison events: a failing handler is retried in place `maxAttempts` times with doubling backoff
 * (the partition waits meanwhile, which keeps the aggregate's order). Then the event is recorded in
 * `processed_events` with `failure` set, logged as an error and skipped; the record keeps it
 * from being retried on a later redelivery and shows what to replay by hand. A message that is not a
 * valid envelope, or whose envelope names another tenant than its topic, is logged and skipped (it
 * has no tenant database to be recorded in).
 *
 * An unavailable tenant is not a poison event: when its database cannot be had (no credentials, a
 * suspended tenant's locked role, a database down: an error with statusCode 503 anywhere in its
 * causes), or even the recording fails, the partition is paused for `unavailablePauseMs` and the
 * offset left uncommitted, so the event is tried again afterwards, as often as it takes. Pausing
 * frees the consumer for the other tenants' partitions, which a retry loop in place would hold up.
 *
 * New tenants: kafkajs resolves a topic subscription once, when the consumer starts. The topic list
 * is therefore checked every `topicCheckIntervalMs`; when the matching topics changed (a tenant was
 * created or deleted), the kafkajs consumer is replaced by one subscribed to the new list. A new
 * tenant's events are handled after at most that interval plus one group rebalance (a few seconds),
 * and none is missed: topics without committed offsets are read from the beginning. Every member of
 * the group pauses during such a rebalance.
 */
export interface EventConsumerOptions {
  kafka: Kafka;
  groupId: string;
  /** Key in `processed_events`: the services sharing a tenant database each have their own. */
  consumerName: string;
  /** The tenant's database; rejecting leaves the message unconsumed, to be retried. */
  tenantSql: (tenant: string) => Sql | Promise<Sql>;
  /** Runs inside the transaction that records the event as processed: use `tx` for its writes. */
  handle: (event: EventEnvelope, tx: TransactionSql) => Promise<void>;
  /** Which tenant events topics to consume; every one by default. */
  topicPattern?: RegExp;
  /**
   * Whether this service serves the tenant now (has its database credentials). Topics of tenants it
   * does not serve are left alone until it does: a deleted tenant whose topic was retained is not
   * retried for ever, and a new tenant's topic is read from the beginning once it is served, so
   * nothing is missed. Every tenant by default.
   */
  serves?: (tenant: string) => boolean;
  /**
   * The event types `handle` acts on; others are passed over without a transaction or a
   * `processed_events` row (a topic carries every event of its tenant). Every type by default.
   */
  types?: readonly string[];
  topicCheckIntervalMs?: number;
  /** Handler attempts before an event is skipped as poison. */
  maxAttempts?: number;
  /** Pause after the first failed attempt; doubles after each, up to MAX_RETRY_BACKOFF_MS. */
  retryBackoffMs?: number;
  /** Partitions (of any tenants) handled at once; events of one partition are always sequential. */
  partitionsConsumedConcurrently?: number;
  /** How long a partition whose tenant database is unavailable waits before its event is tried again. */
  unavailablePauseMs?: number;
  logger?: EventsLogger;
}

/** How far the group is behind one partition it consumes. */
export interface PartitionLag {
  topic: string;
  partition: number;
  /** Messages on the partition past the group's committed offset (all of them before any commit). */
  lag: number;
}

export interface EventConsumer {
  /** Resolves once subscribed to the topics that exist now (joined the group when there are some). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * The group's lag on every partition of the topics it is subscribed to now (none before start()),
   * asked of the brokers: the committed offsets and each partition's end. Rejects, naming the group,
   * when Kafka cannot tell.
   */
  lag(): Promise<PartitionLag[]>;
}

export const DEFAULT_TOPIC_CHECK_INTERVAL_MS = 5_000;
export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_RETRY_BACKOFF_MS = 200;
export const MAX_RETRY_BACKOFF_MS = 5_000;
export const DEFAULT_PARTITIONS_CONSUMED_CONCURRENTLY = 4;
export const DEFAULT_UNAVAILABLE_PAUSE_MS = 15_000;

/** The tenant's database cannot be had now: the event waits (see EventConsumerOptions), it is not poison. */
class TenantUnavailableError extends Error {}

/** A dependency that is down says so with statusCode 503 (tenant-db's errors, service-kit's convention). */
function isUnavailable(error: unknown): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if ((cause as { statusCode?: unknown }).statusCode === 503) return true;
  }
  return false;
}

function assertPositiveInteger(option: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(`createEventConsumer: ${option} must be an integer from 1 to ${max}, got ${value}`);
  }
}

function sameTopics(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((topic) => b.has(topic));
}

export function createEventConsumer(options: EventConsumerOptions): EventConsumer {
  const { kafka, groupId, consumerName, tenantSql, handle, logger } = options;
  // Without g or y: RegExp.test would otherwise carry lastIndex from one topic to the next.
  const given = options.topicPattern ?? TENANT_TOPICS;
  const topicPattern = new RegExp(given.source, given.flags.replace(/[gy]/g, ''));
  const topicCheckIntervalMs = options.topicCheckIntervalMs ?? DEFAULT_TOPIC_CHECK_INTERVAL_MS;
  const types = options.types ? new Set(options.types) : undefined;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const retryBackoffMs = options.retryBackoffMs ?? DEFAULT_RETRY_BACKOFF_MS;
  const concurrency = options.partitionsConsumedConcurrently ?? DEFAULT_PARTITIONS_CONSUMED_CONCURRENTLY;
  const unavailablePauseMs = options.unavailablePauseMs ?? DEFAULT_UNAVAILABLE_PAUSE_MS;
  if (groupId === '') throw new Error('createEventConsumer: groupId must not be empty');
  if (consumerName === '') throw new Error('createEventConsumer: consumerName must not be empty');
  assertPositiveInteger('topicCheckIntervalMs', topicCheckIntervalMs, 3_600_000);
  assertPositiveInteger('maxAttempts', maxAttempts, 100);
  assertPositiveInteger('retryBackoffMs', retryBackoffMs, MAX_RETRY_BACKOFF_MS);
  assertPositiveInteger('partitionsConsumedConcurrently', concurrency, 1_000);
  assertPositiveInteger('unavailablePauseMs', unavailablePauseMs, 3_600_000);

  let admin: Admin | undefined;
  let consumer: Consumer | undefined;
  /** The topics `consumer` was started with; empty when it is not running. */
  let subscribed: ReadonlySet<string> = new Set();
  /** Set when kafkajs gave up on the consumer without restarting it itself. */
  let crashed = false;
  let stopping: AbortController | undefined;
  let checks: Promise<void> | undefined;

  /** Handles the event unless this consumer already did: a redelivery commits nothing new. */
  async function processOnce(sql: Sql, event: EventEnvelope, trace: Context): Promise<void> {
    await sql.begin(async (tx) => {
      const claimed = await tx`
        insert into processed_events (consumer, event_id) values (${consumerName}, ${event.id})
        on conflict do nothing
        returning event_id
      `;
      if (claimed.length === 0) return;
      await context.with(trace, () => handle(event, tx));
    });
  }

  async function recordPoison(sql: Sql, event: EventEnvelope, failure: string): Promise<void> {
    await sql`
      insert into processed_events (consumer, event_id, failure) values (${consumerName}, ${event.id}, ${failure})
      on conflict do nothing
    `;
  }

  async function processWithRetries(
    event: EventEnvelope,
    trace: Context,
    heartbeat: () => Promise<void>,
    signal: AbortSignal,
  ): Promise<void> {
    const where = `event ${event.id} (${event.type}) of tenant ${event.tenant}`;
    const unavailable = (error: unknown) =>
      new TenantUnavailableError(
        `the database of tenant ${event.tenant} is unavailable: ${errorMessage(error)}`,
        {
          cause: error,
        },
      );
    let sql: Sql;
    try {
      sql = await tenantSql(event.tenant);
    } catch (error) {
      throw unavailable(error);
    }
    let failure = '';
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      try {
        await processOnce(sql, event, trace);
        return;
      } catch (error) {
        if (isUnavailable(error)) throw unavailable(error);
        failure = errorMessage(error);
        if (attempt === maxAttempts) break;
        const delayMs = Math.min(retryBackoffMs * 2 ** (attempt - 1), MAX_RETRY_BACKOFF_MS);
        logger?.warn(
          { tenant: event.tenant, eventId: event.id, attempt, retryInMs: delayMs, err: error },
          `handling ${where} failed, retrying: ${failure}`,
        );
        // Rejects when stopping: the offset is not committed, so the event is redelivered.
        await sleep(delayMs, undefined, { signal });
        await heartbeat();
      }
    }
    await recordPoison(sql, event, failure).catch((error: unknown) => {
      throw unavailable(
        new Error(`while recording ${where} as failed: ${errorMessage(error)}`, { cause: error }),
      );
    });
    logger?.error(
      { tenant: event.tenant, eventId: event.id, type: event.type, attempts: maxAttempts, failure },
      `skipped ${where} after ${maxAttempts} failed attempts: ${failure}`,
    );
  }

  async function eachMessage(payload: EachMessagePayload, signal: AbortSignal): Promise<void> {
    try {
      await handleMessage(payload, signal);
    } catch (error) {
      if (!(error instanceof TenantUnavailableError)) throw error;
      // kafkajs's way to wait on a dependency: pause this partition, throw so the offset stays.
      const resume = payload.pause();
      setTimeout(resume, unavailablePauseMs).unref();
      logger?.warn(
        { topic: payload.topic, partition: payload.partition, retryInMs: unavailablePauseMs, err: error },
        `${error.message}; its events wait, trying again in ${unavailablePauseMs / 1000} s`,
      );
      throw error;
    }
  }

  async function handleMessage(
    { topic, partition, message, heartbeat }: EachMessagePayload,
    signal: AbortSignal,
  ): Promise<void> {
    let event: EventEnvelope;
    try {
      event = parseEvent(message.value);
      const tenant = tenantOfTopic(topic);
      if (event.tenant !== tenant) {
        throw new InvalidEventError('tenant', `event of tenant ${event.tenant} on topic ${topic}`);
      }
    } catch (error) {
      logger?.error(
        { topic, partition, offset: message.offset, err: error },
        `skipped an invalid message on ${topic}: ${errorMessage(error)}`,
      );
      return;
    }
    if (types && !types.has(event.type)) return;
    await processWithRetries(event, contextFromHeaders(message.headers), heartbeat, signal);
  }

  async function stopConsumer(): Promise<void> {
    const current = consumer;
    consumer = undefined;
    subscribed = new Set();
    // Leaves the group and commits what was processed, so the next member resumes after it.
    await current?.disconnect().catch((error: unknown) => {
      logger?.warn({ groupId, err: error }, `disconnecting the consumer failed: ${errorMessage(error)}`);
    });
  }

  async function startConsumer(topics: ReadonlySet<string>, signal: AbortSignal): Promise<void> {
    await stopConsumer();
    if (topics.size === 0) return;
    const created = kafka.consumer({ groupId, allowAutoTopicCreation: false });
    crashed = false;
    created.on(created.events.CRASH, ({ payload }) => {
      // A late crash of a consumer already replaced says nothing about the current one.
      if (!payload.restart && consumer === created) crashed = true;
    });
    consumer = created;
    await created.connect();
    // From the beginning: a topic the group has no offsets for is a tenant created since the last
    // check, whose first events may already be there.
    await created.subscribe({ topics: [...topics], fromBeginning: true });
    await created.run({
      partitionsConsumedConcurrently: concurrency,
      eachMessage: (payload) => eachMessage(payload, signal),
    });
    subscribed = topics;
  }

  async function connectedAdmin(): Promise<Admin> {
    if (!admin) {
      const created = kafka.admin();
      await created.connect();
      admin = created;
    }
    return admin;
  }

  /** Runs `use` on the admin client; a failure drops the client, so the next call connects anew. */
  async function withAdmin<T>(use: (connected: Admin) => Promise<T>): Promise<T> {
    try {
      return await use(await connectedAdmin());
    } catch (error) {
      const failed = admin;
      admin = undefined;
      await failed?.disconnect().catch(() => {});
      throw error;
    }
  }

  /** Restarts the kafkajs consumer when the matching topics changed or it died. */
  async function checkTopics(signal: AbortSignal): Promise<void> {
    let topics: ReadonlySet<string>;
    try {
      const all = await withAdmin((connected) => connected.listTopics());
      topics = new Set(
        all.filter((topic) => {
          const tenant = tenantOfTopic(topic);
          return topicPattern.test(topic) && tenant !== undefined && (options.serves?.(tenant) ?? true);
        }),
      );
    } catch (error) {
      throw new Error(`while listing topics for consumer group ${groupId}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    if (sameTopics(topics, subscribed) && !crashed) return;
    logger?.info(
      { groupId, topics: [...topics] },
      `consumer group ${groupId}: subscribing to ${topics.size} topic(s)`,
    );
    try {
      await startConsumer(topics, signal);
    } catch (error) {
      await stopConsumer();
      throw new Error(`while starting consumer group ${groupId}: ${errorMessage(error)}`, { cause: error });
    }
  }

  async function lag(): Promise<PartitionLag[]> {
    const topics = [...subscribed];
    if (topics.length === 0) return [];
    try {
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
          // -1: nothing committed yet, so everything still on the partition is to be consumed.
          const offset = committedOffset.get(`${topic}/${partition}`) ?? -1;
          const from = offset < 0 ? Number(low) : offset;
          return { topic, partition, lag: Math.max(0, Number(high) - from) };
        }),
      );
    } catch (error) {
      throw new Error(`while reading the lag of consumer group ${groupId}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }

  async function checkPeriodically(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(topicCheckIntervalMs, undefined, { signal }).catch(() => {});
      if (signal.aborted) break;
      await checkTopics(signal).catch((error: unknown) => {
        logger?.warn({ groupId, err: error }, errorMessage(error));
      });
    }
  }

  return {
    async start() {
      if (stopping) throw new Error(`consumer group ${groupId} is already started`);
      const controller = new AbortController();
      stopping = controller;
      try {
        await checkTopics(controller.signal);
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
      await stopConsumer();
      await admin?.disconnect().catch(() => {});
      admin = undefined;
      checks = undefined;
      stopping = undefined;
    },
    lag,
  };
}
