import { setTimeout as sleep } from 'node:timers/promises';
import { eventsTopic } from '@tenantry/tenant-api';
import type { Kafka, Message, Producer } from 'kafkajs';
import type { Sql } from 'postgres';
import { type EventEnvelope, serializeEvent } from './envelope.ts';
import { type EventsLogger, errorMessage } from './events-logger.ts';

/**
 * Publishes the outbox of every tenant database to the tenant's topic, `tenantry.<tenant>.events`,
 * keyed by aggregate id.
 *
 * Guarantees: every committed event is published at least once, in append order per tenant (so per
 * aggregate). A row is marked published only after Kafka acknowledged it (acks from all in-sync
 * replicas); a failed send leaves it unpublished, records `attempts`/`last_error`, and the tenant is
 * retried with exponential backoff. Duplicates remain possible (the acknowledgement arrives but the
 * marking transaction does not commit), which is why consumers deduplicate by event id.
 *
 * Order holds when one relay publishes a tenant at a time: each claim takes a transaction-scoped
 * advisory lock in the tenant database, so relays of several replicas (or services sharing the
 * database) take turns instead of publishing neighbouring batches concurrently. Across appending
 * transactions the order is the order in which they appended (`seq`), which is their commit order
 * whenever they conflict on the aggregate's own row first, as a state change does.
 */
export interface RelayTenant {
  tenant: string;
  /** The tenant database, with credentials that may read and update `outbox`. */
  sql: Sql;
}

export interface OutboxRelayOptions {
  kafka: Kafka;
  /** Called every round, so tenants created or removed while the relay runs are followed. */
  tenants: () => Iterable<RelayTenant>;
  /** Events claimed and sent per transaction. */
  batchSize?: number;
  /** Pause between rounds when every outbox is drained. */
  pollIntervalMs?: number;
  /** Cap of the per-tenant backoff after failures (it doubles from pollIntervalMs). */
  maxBackoffMs?: number;
  logger?: EventsLogger;
}

export interface OutboxRelay {
  /** Starts polling in the background; stop() ends it. */
  start(): void;
  /** Ends polling after the current round and disconnects from Kafka. */
  stop(): Promise<void>;
  /**
   * Publishes at most one batch of `tenant`'s outbox now and returns how many events it published
   * (0 also when another relay holds the tenant). Rejects when Kafka failed, after recording it.
   */
  relayOnce(tenant: string): Promise<number>;
}

export const DEFAULT_BATCH_SIZE = 100;
export const DEFAULT_POLL_INTERVAL_MS = 500;
export const DEFAULT_MAX_BACKOFF_MS = 30_000;
/** Advisory lock (hashtext of it, scoped to the tenant database) held by the relay claiming a batch. */
export const RELAY_LOCK = 'tenantry.outbox-relay';
/** PostgreSQL's SQLSTATE for a missing relation. */
const UNDEFINED_TABLE = '42P01';
/**
 * Short kafkajs retries: the claimed rows stay locked while kafkajs retries, and the relay's own
 * backoff is what retries a tenant for long. kafkajs refuses an idempotent producer without retries.
 */
const PRODUCER_RETRY = { retries: 3, initialRetryTime: 200, maxRetryTime: 2_000 };

interface OutboxRow {
  id: string;
  type: string;
  aggregateId: string;
  occurredAt: Date | string;
  version: number;
  payload: unknown;
  headers: Record<string, string>;
}

function assertPositiveInteger(option: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(`createOutboxRelay: ${option} must be an integer from 1 to ${max}, got ${value}`);
  }
}

function toMessage(tenant: string, row: OutboxRow): Message {
  const event: EventEnvelope = {
    id: row.id,
    type: row.type,
    tenant,
    aggregateId: row.aggregateId,
    occurredAt: new Date(row.occurredAt).toISOString(),
    version: row.version,
    payload: row.payload,
  };
  return { key: row.aggregateId, value: serializeEvent(event), headers: row.headers };
}

type BatchOutcome = { published: number } | { failed: { error: unknown; ids: string[] } };

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { kafka, tenants, logger } = options;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const maxBackoffMs = options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
  assertPositiveInteger('batchSize', batchSize, 10_000);
  assertPositiveInteger('pollIntervalMs', pollIntervalMs, 3_600_000);
  assertPositiveInteger('maxBackoffMs', maxBackoffMs, 3_600_000);

  let producer: Promise<Producer> | undefined;
  /** Tenants that failed: when to try again, and how many failures in a row. */
  const backoff = new Map<string, { failures: number; retryAt: number }>();
  let stopping: AbortController | undefined;
  let loop: Promise<void> | undefined;

  function connectedProducer(): Promise<Producer> {
    if (!producer) {
      const created = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        retry: PRODUCER_RETRY,
      });
      producer = created.connect().then(() => created);
    }
    return producer;
  }

  /**
   * After a failure the producer is replaced: a fresh producer id starts clean sequence numbers, so a
   * broker that lost the old producer's state cannot wedge it, and a kafkajs producer fails every
   * metadata refresh once any topic it ever sent to is deleted (a tenant removed). Sends in flight on
   * the old one fail and are retried like any failure.
   */
  async function dropProducer(failed?: Promise<Producer>): Promise<void> {
    const current = producer;
    if (failed !== undefined && failed !== current) return;
    producer = undefined;
    await current?.then((p) => p.disconnect()).catch(() => {});
  }

  async function relayBatch({ tenant, sql }: RelayTenant): Promise<number> {
    const topic = eventsTopic(tenant);
    let used: Promise<Producer> | undefined;
    const outcome = await sql.begin(async (tx): Promise<BatchOutcome> => {
      const [lock] = await tx<{ locked: boolean }[]>`
        select pg_try_advisory_xact_lock(hashtext(${RELAY_LOCK})) as locked
      `;
      if (!lock?.locked) return { published: 0 };
      // Only the database's own tenant: an event appended with another tenant's name (a bug) is
      // never published, to any topic.
      const rows = await tx<OutboxRow[]>`
        select id, type, aggregate_id as "aggregateId", occurred_at as "occurredAt", version, payload, headers
        from outbox
        where published_at is null and tenant = ${tenant}
        order by seq
        limit ${batchSize}
        for update skip locked
      `;
      if (rows.length === 0) return { published: 0 };
      const ids = rows.map((row) => row.id);
      try {
        used = connectedProducer();
        await (await used).send({
          topic,
          acks: -1,
          messages: rows.map((row) => toMessage(tenant, row)),
        });
      } catch (error) {
        // Committed with the rows still unpublished: the next claim takes them again, in order.
        await tx`
          update outbox set attempts = attempts + 1, last_error = ${errorMessage(error)}
          where id = any(${ids}::uuid[])
        `;
        return { failed: { error, ids } };
      }
      await tx`
        update outbox set published_at = now(), attempts = attempts + 1
        where id = any(${ids}::uuid[])
      `;
      return { published: rows.length };
    });
    if ('failed' in outcome) {
      await dropProducer(used);
      const { error, ids } = outcome.failed;
      throw new Error(
        `while publishing ${ids.length} event(s) (first ${ids[0]}) of tenant ${tenant} to ${topic}: ${errorMessage(error)}`,
        { cause: error },
      );
    }
    return outcome.published;
  }

  /** Drains the tenant's outbox, unless it is backing off; never rejects. */
  async function relayTenant(target: RelayTenant, signal: AbortSignal): Promise<void> {
    const state = backoff.get(target.tenant);
    if (state && Date.now() < state.retryAt) return;
    try {
      while (!signal.aborted && (await relayBatch(target)) === batchSize) {
        // A full batch: more may be waiting.
      }
      if (state) {
        backoff.delete(target.tenant);
        logger?.info({ tenant: target.tenant }, 'outbox relay recovered');
      }
    } catch (error) {
      const failures = (state?.failures ?? 0) + 1;
      const delayMs = Math.min(pollIntervalMs * 2 ** failures, maxBackoffMs);
      backoff.set(target.tenant, { failures, retryAt: Date.now() + delayMs });
      // A tenant whose events migrations have not run yet (just created, or an upgrade adding the
      // set) has no outbox: expected for a moment, so not a warning with a stack trace.
      if ((error as { code?: unknown }).code === UNDEFINED_TABLE) {
        logger?.info(
          { tenant: target.tenant, retryInMs: delayMs },
          'outbox relay waiting: no outbox table yet',
        );
        return;
      }
      logger?.warn(
        { tenant: target.tenant, failures, retryInMs: delayMs, err: error },
        `outbox relay failed: ${errorMessage(error)}`,
      );
    }
  }

  function currentTenants(): RelayTenant[] {
    try {
      return [...tenants()];
    } catch (error) {
      logger?.error({ err: error }, `outbox relay: listing tenants failed: ${errorMessage(error)}`);
      return [];
    }
  }

  async function run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const round = currentTenants();
      const present = new Set(round.map((t) => t.tenant));
      for (const tenant of backoff.keys()) if (!present.has(tenant)) backoff.delete(tenant);
      await Promise.all(round.map((target) => relayTenant(target, signal)));
      await sleep(pollIntervalMs, undefined, { signal }).catch(() => {});
    }
  }

  return {
    start() {
      if (loop) return;
      stopping = new AbortController();
      loop = run(stopping.signal);
    },
    async stop() {
      stopping?.abort();
      await loop;
      loop = undefined;
      stopping = undefined;
      await dropProducer();
    },
    async relayOnce(tenant) {
      const target = currentTenants().find((t) => t.tenant === tenant);
      if (!target) throw new Error(`relayOnce: tenant ${tenant} is not among the relay's tenants`);
      return relayBatch(target);
    },
  };
}
