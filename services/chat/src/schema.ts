import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';

/**
 * The chat service's tables in every tenant database (the `chat` migration set, generated from this
 * file with drizzle.config.ts). A change ships only as a newly generated migration.
 */

/** Millisecond precision: list cursors carry created_at as a JavaScript Date (see users' schema). */
const timestampMs = (name: string) =>
  timestamp(name, { withTimezone: true, precision: 3, mode: 'date' }).notNull().defaultNow();

/**
 * A user's conversation. `source` 'api' marks the one-off conversations of the OpenAI-compatible
 * face: their messages are accounted like any other, but they are not listed.
 */
export const conversations = pgTable(
  'conversations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').notNull(),
    title: text('title').notNull(),
    provider: text('provider'),
    model: text('model'),
    systemPrompt: text('system_prompt'),
    source: text('source').notNull().default('chat'),
    createdAt: timestampMs('created_at'),
    updatedAt: timestampMs('updated_at'),
  },
  (t) => [
    index('conversations_user_created_idx').on(t.userId, t.createdAt, t.id),
    check('conversations_source_check', sql`${t.source} in ('chat', 'api')`),
  ],
);

/**
 * One message: the user's, or the assistant's reply with its accounting (usage as the provider
 * reported it, or estimated when the stream broke first; cost from the price table at the time).
 */
export const messages = pgTable(
  'messages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull(),
    role: text('role').notNull(),
    content: text('content').notNull(),
    provider: text('provider'),
    model: text('model'),
    inputTokens: integer('input_tokens'),
    outputTokens: integer('output_tokens'),
    estimated: boolean('estimated'),
    costMicroUsd: bigint('cost_micro_usd', { mode: 'number' }),
    status: text('status'),
    timeToFirstTokenMs: integer('time_to_first_token_ms'),
    durationMs: integer('duration_ms'),
    createdAt: timestampMs('created_at'),
  },
  (t) => [
    index('messages_conversation_created_idx').on(t.conversationId, t.createdAt, t.id),
    check('messages_role_check', sql`${t.role} in ('user', 'assistant')`),
    check(
      'messages_status_check',
      sql`${t.status} is null or ${t.status} in ('completed', 'failed', 'aborted', 'truncated')`,
    ),
  ],
);

/**
 * The tenant's tokens in one period (a calendar month, UTC). `reserved` holds what running requests
 * may still use; a request reserves before calling a provider only if used + reserved stays within the
 * plan's quota, in one conditional UPDATE, so concurrent requests cannot overshoot it.
 */
export const usagePeriods = pgTable(
  'chat_usage_periods',
  {
    periodStart: timestamp('period_start', { withTimezone: true, mode: 'date' }).primaryKey(),
    usedTokens: bigint('used_tokens', { mode: 'number' }).notNull().default(0),
    reservedTokens: bigint('reserved_tokens', { mode: 'number' }).notNull().default(0),
    /** The highest threshold (80, 100) already announced this period, so each is announced once. */
    notifiedThreshold: integer('notified_threshold').notNull().default(0),
  },
  (t) => [check('chat_usage_periods_non_negative', sql`${t.usedTokens} >= 0 and ${t.reservedTokens} >= 0`)],
);

/** Each user's tokens in a period, for GET /usage. */
export const userUsage = pgTable(
  'chat_user_usage',
  {
    periodStart: timestamp('period_start', { withTimezone: true, mode: 'date' }).notNull(),
    userId: uuid('user_id').notNull(),
    usedTokens: bigint('used_tokens', { mode: 'number' }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.periodStart, t.userId] })],
);

export type ConversationRow = typeof conversations.$inferSelect;
export type MessageRow = typeof messages.$inferSelect;
