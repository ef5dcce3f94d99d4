import type { TransactionSql } from 'postgres';
import { assertEventEnvelope, type EventEnvelope } from './envelope.ts';
import { errorMessage } from './events-logger.ts';
import { captureTraceHeaders } from './trace-context.ts';

/**
 * Appends `event` to the outbox of the tenant database `tx` belongs to, inside the caller's
 * transaction: the event exists if and only if the state change it describes commits, and the relay
 * publishes it after that. The state change goes through the same postgres.js transaction (drizzle
 * cannot wrap a postgres.js TransactionSql: it has no `options`):
 *
 *   await sql.begin(async (tx) => {
 *     const [user] = await tx`insert into auth_users (email, password_hash) values (${email}, ${hash}) returning id`;
 *     await appendToOutbox(tx, createEvent({ type: 'user.signed_up', tenant, aggregateId: user.id, payload }));
 *   });
 *
 * The trace context of the current request is stored with the event and travels in its Kafka headers.
 * JSON is bound as text and cast: a jsonb parameter would go through the pool's json serializer,
 * which drizzle replaces (tenant-db configures every pool for drizzle), so the same call would store
 * an object on one pool and a double-encoded string on another.
 */
export async function appendToOutbox(tx: TransactionSql, event: EventEnvelope): Promise<void> {
  assertEventEnvelope(event);
  const headers = captureTraceHeaders();
  try {
    await tx`
      insert into outbox (id, tenant, type, aggregate_id, occurred_at, version, payload, headers)
      values (
        ${event.id}, ${event.tenant}, ${event.type}, ${event.aggregateId}, ${event.occurredAt},
        ${event.version}, ${JSON.stringify(event.payload)}::text::jsonb, ${JSON.stringify(headers)}::text::jsonb
      )
    `;
  } catch (error) {
    throw new Error(
      `while appending event ${event.id} (${event.type}) of tenant ${event.tenant} to the outbox: ${errorMessage(error)}`,
      { cause: error },
    );
  }
}
