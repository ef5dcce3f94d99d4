import { sql } from 'drizzle-orm';
import {
  bigserial,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';

/**
 * The tables of the `events` migration set, in every tenant database (drizzle-kit generates
 * `migrations/events` from this file; see drizzle.config.ts). A change ships only as a newly
 * generated migration, never by editing an applied one.
 */

/**
 * Events waiting to be published, written in the transaction of the state change they describe, so a
 * row exists exactly when that change committed. The relay publishes rows in `seq` order and stamps
 * `published_at` once Kafka acknowledged them; rows are kept afterwards as a record.
 */
export const outbox = pgTable(
  'outbox',
  {
    id: uuid('id').primaryKey(),
    /**
     * Append order, the order of publication. `created_at` cannot be it: now() is the transaction's
     * start time, the same for every event a transaction appends.
     */
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    /** The relay publishes only rows of the tenant whose database this is. */
    tenant: text('tenant').notNull(),
    type: text('type').notNull(),
    aggregateId: text('aggregate_id').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
    version: integer('version').notNull(),
    payload: jsonb('payload').notNull(),
    /** Kafka headers to publish with the event: the trace context of the appending request. */
    headers: jsonb('headers').$type<Record<string, string>>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    publishedAt: timestamp('published_at', { withTimezone: true }),
    /** Publication attempts, failed ones included; with `last_error`, what an outage left behind. */
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
  },
  // The relay's claim reads only this index: unpublished rows in append order.
  (t) => [index('outbox_unpublished_idx').on(t.seq).where(sql`${t.publishedAt} is null`)],
);

/**
 * Events a consumer has processed, written in the transaction of the handler's own changes: the
 * primary key makes a redelivered event a no-op. Several consumers (services) share a tenant
 * database, hence the consumer name in the key.
 */
export const processedEvents = pgTable(
  'processed_events',
  {
    consumer: text('consumer').notNull(),
    eventId: uuid('event_id').notNull(),
    processedAt: timestamp('processed_at', { withTimezone: true }).notNull().defaultNow(),
    /** Null when handled; the last error when the event was skipped as poison after its attempts. */
    failure: text('failure'),
  },
  (t) => [primaryKey({ columns: [t.consumer, t.eventId] })],
);
