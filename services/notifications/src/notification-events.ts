import type { EventEnvelope } from '@tenantry/events';
import type { Logger } from '@tenantry/logger';
import type { TransactionSql } from 'postgres';
import { LOCKED_CATEGORIES } from './categories.ts';
import type { DeliveryMetrics } from './delivery-metrics.ts';
import { adminAddresses, knownUserAddress, queueDelivery, recordKnownUser } from './delivery-store.ts';
import { categoryOf, messageIdOf, planMails } from './event-mail.ts';
import { TEMPLATES } from './templates.ts';

/**
 * Who hears of a quota threshold: the user whose own limit it is (payload.userId, when this service
 * knows their address), else the tenant's owners and admins.
 */
async function quotaRecipients(tx: TransactionSql, event: EventEnvelope): Promise<string[]> {
  const userId = (event.payload as { userId?: unknown } | null)?.userId;
  const own = typeof userId === 'string' ? await knownUserAddress(tx, userId) : undefined;
  return own ? [own] : adminAddresses(tx);
}

/** The consumer's key in processed_events (and its default Kafka group). */
export const CONSUMER_NAME = 'notifications';

/**
 * The consumer's handler, run in the transaction that records the event as processed: the event's
 * deliveries are queued in that same transaction, so an event yields its mails once however often
 * Kafka delivers it. Sending is the worker's job (`onQueued` wakes it), so a slow or absent SMTP relay
 * never holds up the partition.
 *
 * A payload that does not match its schema is recorded as the event's failure in processed_events
 * (with the reason), logged once and skipped at once: throwing instead would have the consumer retry
 * it in place, holding up the partition for an event that can never succeed.
 */
export function handleNotificationEvent(options: {
  logger: Logger;
  metrics: DeliveryMetrics;
  onQueued: (tenant: string) => void;
}) {
  const { logger, metrics, onQueued } = options;
  return async (event: EventEnvelope, tx: TransactionSql): Promise<void> => {
    const plan = planMails(
      event,
      event.type === 'chat.quota_threshold_reached' ? await quotaRecipients(tx, event) : [],
    );
    if (plan.kind === 'ignored') return;
    if (plan.kind === 'malformed') {
      await tx`
        update processed_events set failure = ${plan.reason}
        where consumer = ${CONSUMER_NAME} and event_id = ${event.id}
      `;
      logger.error(
        { tenant: event.tenant, eventId: event.id, type: event.type, reason: plan.reason },
        `skipped event ${event.id} of tenant ${event.tenant}: ${plan.reason}`,
      );
      return;
    }
    if (event.type === 'user.signed_up') {
      const p = event.payload as { userId: string; email: string; role: string };
      await recordKnownUser(tx, { userId: p.userId, email: p.email.trim().toLowerCase(), role: p.role });
    }
    if (plan.mails.length === 0) {
      logger.warn(
        { tenant: event.tenant, eventId: event.id, type: event.type },
        `event ${event.id} of tenant ${event.tenant} has no recipient (no owner or admin known yet)`,
      );
      return;
    }
    for (const mail of plan.mails) {
      const category = categoryOf(mail.template);
      const queued = {
        eventId: event.id,
        eventType: event.type,
        recipient: mail.recipient,
        template: mail.template,
        templateVersion: TEMPLATES[mail.template].version,
        category,
        data: mail.data,
        messageId: messageIdOf(event.tenant, event.id, mail.recipient),
      };
      if (await queueDelivery(tx, queued, LOCKED_CATEGORIES.has(category))) metrics.suppressed(mail.template);
    }
    onQueued(event.tenant);
  };
}
