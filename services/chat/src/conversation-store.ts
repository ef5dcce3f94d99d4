import { randomUUID } from 'node:crypto';
import { appendToOutbox, createEvent } from '@tenantry/events';
import type { ListPosition } from '@tenantry/service-kit';
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import type { Sql, TransactionSql } from 'postgres';
import type { ProviderMessage } from './providers/index.ts';
import { type ConversationRow, conversations, type MessageRow, messages } from './schema.ts';

/**
 * The queries on conversations and messages. Each runs on one tenant's database (opened with that
 * tenant's credentials), so none filters by tenant; every one filters by the caller, so a user reaches
 * only their own conversations. Writes that publish an event use the postgres.js transaction the
 * outbox needs.
 */

export interface NewConversation {
  userId: string;
  title: string;
  provider: string | null;
  model: string | null;
  systemPrompt: string | null;
  /** 'api': a one-off conversation of the OpenAI-compatible face, not listed and not announced. */
  source?: 'chat' | 'api';
}

export async function createConversation(sql: Sql, tenant: string, input: NewConversation): Promise<string> {
  const id = randomUUID();
  await sql.begin((tx) => insertConversation(tx, tenant, id, input));
  return id;
}

/**
 * The conversation, in the caller's transaction, with its `chat.conversation_created` (conversations
 * of the OpenAI-compatible face are not announced). POST /api/chat inserts a new conversation in the
 * transaction that records its first exchange, so none is left empty by a provider that failed.
 */
export async function insertConversation(
  tx: TransactionSql,
  tenant: string,
  id: string,
  input: NewConversation,
): Promise<void> {
  await tx`
    insert into conversations (id, user_id, title, provider, model, system_prompt, source)
    values (${id}, ${input.userId}, ${input.title}, ${input.provider}, ${input.model}, ${input.systemPrompt}, ${input.source ?? 'chat'})
  `;
  if ((input.source ?? 'chat') === 'chat') {
    await appendToOutbox(
      tx,
      createEvent({
        type: 'chat.conversation_created',
        tenant,
        aggregateId: id,
        payload: { conversationId: id, userId: input.userId },
      }),
    );
  }
}

export async function findOwnConversation(
  db: PostgresJsDatabase,
  userId: string,
  id: string,
): Promise<ConversationRow | undefined> {
  const [row] = await db
    .select()
    .from(conversations)
    .where(and(eq(conversations.id, id), eq(conversations.userId, userId), eq(conversations.source, 'chat')));
  return row;
}

/** The caller's conversations, newest first, after `after` when given. */
export async function listOwnConversations(
  db: PostgresJsDatabase,
  userId: string,
  limit: number,
  after: ListPosition | undefined,
): Promise<{ rows: ConversationRow[]; more: boolean }> {
  const rows = await db
    .select()
    .from(conversations)
    .where(
      and(
        eq(conversations.userId, userId),
        eq(conversations.source, 'chat'),
        after
          ? sql`(${conversations.createdAt}, ${conversations.id}) < (${after.createdAt.toISOString()}::timestamptz, ${after.id}::uuid)`
          : undefined,
      ),
    )
    .orderBy(desc(conversations.createdAt), desc(conversations.id))
    .limit(limit + 1);
  return { rows: rows.slice(0, limit), more: rows.length > limit };
}

export interface ConversationChanges {
  title?: string;
  provider?: string | null;
  model?: string | null;
  systemPrompt?: string | null;
}

export async function updateOwnConversation(
  db: PostgresJsDatabase,
  userId: string,
  id: string,
  changes: ConversationChanges,
): Promise<ConversationRow | undefined> {
  const [row] = await db
    .update(conversations)
    .set({ ...changes, updatedAt: sql`now()` })
    .where(and(eq(conversations.id, id), eq(conversations.userId, userId), eq(conversations.source, 'chat')))
    .returning();
  return row;
}

/** Deletes the conversation and its messages; false when the caller has no such conversation. */
export async function deleteOwnConversation(
  sql: Sql,
  tenant: string,
  userId: string,
  id: string,
): Promise<boolean> {
  return sql.begin(async (tx) => {
    const deleted = await tx`
      delete from conversations where id = ${id} and user_id = ${userId} and source = 'chat' returning id
    `;
    if (deleted.length === 0) return false;
    await appendToOutbox(
      tx,
      createEvent({
        type: 'chat.conversation_deleted',
        tenant,
        aggregateId: id,
        payload: { conversationId: id, userId },
      }),
    );
    return true;
  }) as Promise<boolean>;
}

/** A page of the conversation's messages, oldest first. */
export async function listMessages(
  db: PostgresJsDatabase,
  conversationId: string,
  limit: number,
  after: ListPosition | undefined,
): Promise<{ rows: MessageRow[]; more: boolean }> {
  const rows = await db
    .select()
    .from(messages)
    .where(
      and(
        eq(messages.conversationId, conversationId),
        after
          ? sql`(${messages.createdAt}, ${messages.id}) > (${after.createdAt.toISOString()}::timestamptz, ${after.id}::uuid)`
          : undefined,
      ),
    )
    .orderBy(asc(messages.createdAt), asc(messages.id))
    .limit(limit + 1);
  return { rows: rows.slice(0, limit), more: rows.length > limit };
}

/** The turns sent to the provider before a new message: every message with text, in order. */
export async function conversationHistory(
  db: PostgresJsDatabase,
  conversationId: string,
): Promise<ProviderMessage[]> {
  const rows = await db
    .select({ role: messages.role, content: messages.content })
    .from(messages)
    .where(eq(messages.conversationId, conversationId))
    .orderBy(asc(messages.createdAt), asc(messages.id));
  return rows
    .filter((row) => row.content !== '')
    .map((row) => ({ role: row.role === 'assistant' ? 'assistant' : 'user', content: row.content }));
}

export interface ExchangeRecord {
  conversationId: string;
  userId: string;
  userMessageId: string;
  assistantMessageId: string;
  prompt: string;
  reply: string;
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  estimated: boolean;
  costMicroUsd: number;
  status: 'completed' | 'failed' | 'aborted' | 'truncated';
  timeToFirstTokenMs: number | null;
  durationMs: number;
}

/** Stores the user's message and the reply with its accounting, in the caller's transaction. */
export async function recordExchange(tx: TransactionSql, record: ExchangeRecord): Promise<void> {
  // The reply is created a millisecond after the prompt so the (created_at, id) order keeps them in turn.
  await tx`
    insert into messages (id, conversation_id, user_id, role, content, created_at)
    values (${record.userMessageId}, ${record.conversationId}, ${record.userId}, 'user', ${record.prompt}, now())
  `;
  await tx`
    insert into messages (
      id, conversation_id, user_id, role, content, provider, model, input_tokens, output_tokens, estimated,
      cost_micro_usd, status, time_to_first_token_ms, duration_ms, created_at
    ) values (
      ${record.assistantMessageId}, ${record.conversationId}, ${record.userId}, 'assistant', ${record.reply},
      ${record.provider}, ${record.model}, ${record.inputTokens}, ${record.outputTokens}, ${record.estimated},
      ${record.costMicroUsd}, ${record.status}, ${record.timeToFirstTokenMs}, ${record.durationMs},
      now() + interval '1 millisecond'
    )
  `;
  await tx`update conversations set updated_at = now() where id = ${record.conversationId}`;
}
