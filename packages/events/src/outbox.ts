import type { TransactionSql } from 'postgres';
import { assertEventEnvelope, type EventEnvelope } from './envelope.ts';
import { errorMessage } from './events-logger.ts';
import { captureTraceHeaders } from './trace-context.ts';

/**
 * Appends `event` to the outbox of the tenant database `tx` belongs to, inside the caller's
 * transaction: the event exists if and only if the state change it describes commits, and the relay
 * publishes it after that. With drizzle, open the transaction with postgres.js and wrap it:
 *
 *   await sql.begin(async (tx) => {
 *     await drizzle({ client: tx }).insert(users).values(user);
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
