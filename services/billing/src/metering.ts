import { Value } from '@sinclair/typebox/value';
import { ChatMessageCompleted, type EventEnvelope } from '@tenantry/events';
import type { Logger } from '@tenantry/logger';
import type { TransactionSql } from 'postgres';
import { periodOf } from './billing-period.ts';

/** The event types billing consumes; the consumer passes over the others without a transaction. */
export const METERED_EVENT_TYPES = ['chat.message_completed'] as const;

/**
 * The metering handler. It runs in the transaction in which the consumer records the event in
 * processed_events (dedupe by event id, in the tenant's own database): the usage increment commits
 * exactly when the event is marked processed, so a redelivery after a crash or a rebalance is a no-op
 * and an event that was not committed is delivered again. That is what makes the count exact.
 *
 * The usage period is that of the event's occurredAt (when chat recorded the tokens), not of its
 * arrival, so a late delivery still lands in the right month. A payload that breaks the contract is
 * recorded in skipped_usage_events and not retried: retrying cannot fix it.
 */
export function meterChatUsage(logger: Logger) {
  return async (event: EventEnvelope, tx: TransactionSql): Promise<void> => {
    if (event.type !== 'chat.message_completed') return;
    if (!Value.Check(ChatMessageCompleted, event.payload)) {
      const first = Value.Errors(ChatMessageCompleted, event.payload).First();
      const reason = `${first?.path || '(payload)'} ${first?.message ?? 'is invalid'}`;
      await tx`
        insert into skipped_usage_events (event_id, reason, payload)
        values (${event.id}, ${reason}, ${JSON.stringify(event.payload) ?? 'null'})
        on conflict do nothing
      `;
      logger.warn(
        { tenant: event.tenant, eventId: event.id, reason },
        'skipped a malformed chat.message_completed',
      );
      return;
    }
    const usage = event.payload;
    const { start } = periodOf(new Date(event.occurredAt));
    await tx`
      insert into usage_periods (period_start, input_tokens, output_tokens, messages, estimated_messages)
      values (${start.toISOString()}, ${usage.inputTokens}, ${usage.outputTokens}, 1, ${usage.estimated ? 1 : 0})
      on conflict (period_start) do update set
        input_tokens = usage_periods.input_tokens + excluded.input_tokens,
        output_tokens = usage_periods.output_tokens + excluded.output_tokens,
        messages = usage_periods.messages + 1,
        estimated_messages = usage_periods.estimated_messages + excluded.estimated_messages,
        updated_at = now()
    `;
  };
}
