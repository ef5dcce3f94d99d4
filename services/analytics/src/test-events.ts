import { randomUUID } from 'node:crypto';
import {
  type BillingInvoiceIssued,
  type BillingPaymentSucceeded,
  type BillingSubscriptionChanged,
  type ChatMessageCompleted,
  createEvent,
  type EventEnvelope,
  type UserSignedUp,
} from '@tenantry/events';

/** Events as their publishers build them, for tests and the benchmark: the contracts of @tenantry/events. */
export function signedUp(tenant: string, userId: string, at: string): EventEnvelope<UserSignedUp> {
  return createEvent({
    type: 'user.signed_up',
    tenant,
    aggregateId: userId,
    occurredAt: at,
    payload: { userId, email: `${userId.slice(0, 8)}@${tenant}.test`, role: 'member' },
  });
}

export function messageCompleted(
  tenant: string,
  at: string,
  fields: Partial<ChatMessageCompleted> & Pick<ChatMessageCompleted, 'userId'>,
): EventEnvelope<ChatMessageCompleted> {
  const conversationId = fields.conversationId ?? randomUUID();
  return createEvent({
    type: 'chat.message_completed',
    tenant,
    aggregateId: conversationId,
    occurredAt: at,
    payload: {
      conversationId,
      messageId: randomUUID(),
      provider: 'openai',
      model: 'gpt-4o',
      inputTokens: 10,
      outputTokens: 5,
      estimated: false,
      costMicroUsd: 100,
      timeToFirstTokenMs: 100,
      durationMs: 1_000,
      status: 'completed',
      ...fields,
    },
  });
}

export function subscriptionChanged(
  tenant: string,
  plan: string,
  at: string,
): EventEnvelope<BillingSubscriptionChanged> {
  const subscriptionId = `sub_${tenant}`;
  return createEvent({
    type: 'billing.subscription_changed',
    tenant,
    aggregateId: subscriptionId,
    occurredAt: at,
    payload: { subscriptionId, previousPlan: null, plan, status: 'active', changedBy: null },
  });
}

export function invoiceIssued(
  tenant: string,
  at: string,
  fields: Pick<BillingInvoiceIssued, 'totalMinor' | 'periodStart' | 'periodEnd'>,
): EventEnvelope<BillingInvoiceIssued> {
  const invoiceId = `in_${randomUUID()}`;
  return createEvent({
    type: 'billing.invoice_issued',
    tenant,
    aggregateId: invoiceId,
    occurredAt: at,
    payload: {
      invoiceId,
      number: `INV-${invoiceId.slice(3, 9)}`,
      currency: 'usd',
      dueAt: at,
      recipients: [`billing@${tenant}.test`],
      ...fields,
    },
  });
}

export function paymentSucceeded(
  tenant: string,
  at: string,
  amountMinor: number,
): EventEnvelope<BillingPaymentSucceeded> {
  const paymentId = `pi_${randomUUID()}`;
  return createEvent({
    type: 'billing.payment_succeeded',
    tenant,
    aggregateId: paymentId,
    occurredAt: at,
    payload: { paymentId, invoiceId: `in_${randomUUID()}`, amountMinor, currency: 'usd' },
  });
}
