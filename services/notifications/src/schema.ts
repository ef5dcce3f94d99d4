import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/**
 * The notifications service's tables in every tenant database (the `notifications` migration set,
 * generated from this file with drizzle.config.ts). A change ships only as a newly generated
 * migration, never by editing an applied one.
 */

const at = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: 'date' });

export const DELIVERY_STATES = ['queued', 'sending', 'sent', 'retrying', 'dead'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/**
 * One email to one recipient, from one event. Written by the consumer in the transaction that marks
 * the event processed, so an event yields its mails exactly once; sent by the delivery worker.
 * Rendering happens at send time from (template, version, data), so a replay renders the same
 * version with the tenant's current branding.
 */
export const deliveries = pgTable(
  'deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    eventId: uuid('event_id').notNull(),
    eventType: text('event_type').notNull(),
    recipient: text('recipient').notNull(),
    template: text('template').notNull(),
    templateVersion: integer('template_version').notNull(),
    category: text('category').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    /** `<event id>.<recipient hash>@notifications.<tenant>`: the same on every attempt. */
    messageId: text('message_id').notNull(),
    state: text('state').$type<DeliveryState>().notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: at('next_attempt_at').notNull().defaultNow(),
    lastError: text('last_error'),
    smtpResponse: text('smtp_response'),
    createdAt: at('created_at').notNull().defaultNow(),
    updatedAt: at('updated_at').notNull().defaultNow(),
    sentAt: at('sent_at'),
  },
  (t) => [
    uniqueIndex('deliveries_event_recipient_idx').on(t.eventId, t.recipient),
    // The worker's claim: due rows of the states it sends.
    index('deliveries_due_idx').on(t.nextAttemptAt).where(sql`state in ('queued', 'retrying')`),
    index('deliveries_state_created_idx').on(t.state, t.createdAt),
    check('deliveries_state_check', sql`${t.state} in ('queued', 'sending', 'sent', 'retrying', 'dead')`),
  ],
);
export type DeliveryRow = typeof deliveries.$inferSelect;

/**
 * A recipient's choice per category, keyed by address (lower case): every mail has one, while
 * billing's recipients come without user ids. No row means the category's default (on).
 */
export const preferences = pgTable(
  'preferences',
  {
    email: text('email').notNull(),
    category: text('category').notNull(),
    enabled: boolean('enabled').notNull(),
    updatedAt: at('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.email, t.category] })],
);

/**
 * The tenant's users as auth announced them (`user.signed_up`): notifications owns no accounts, but
 * quota alerts go to the tenant's owners and admins, and this is where they are known from.
 */
export const knownUsers = pgTable(
  'known_users',
  {
    userId: text('user_id').primaryKey(),
    email: text('email').notNull(),
    role: text('role').notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [index('known_users_role_idx').on(t.role)],
);
