import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/**
 * The billing service's tables in every tenant database (the `billing` migration set, generated from
 * this file with drizzle.config.ts; the immutability triggers are a custom migration beside it). The
 * tenant is the customer, so nothing here carries a tenant column: the database is the tenant's.
 * Money is bigint minor units of the row's currency, never a float.
 */

const instant = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: 'date' });
/** Minor units (cents): bigint, read as a JS number (safe up to 2^53, 90 trillion dollars). */
const money = (name: string) => bigint(name, { mode: 'number' });

/**
 * The tenant's subscription to a Plan. At most one is not canceled (partial unique index); canceled
 * ones stay as history. The Plan itself is Tenant.spec.plan, which a change patches first.
 */
export const subscriptions = pgTable(
  'subscriptions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    plan: text('plan').notNull(),
    status: text('status').notNull(),
    billingEmail: text('billing_email').notNull(),
    currentPeriodStart: instant('current_period_start').notNull(),
    currentPeriodEnd: instant('current_period_end').notNull(),
    cancelAtPeriodEnd: boolean('cancel_at_period_end').notNull().default(false),
    canceledAt: instant('canceled_at'),
    /** The customer at the payment provider, created on the first payment. */
    providerCustomerId: text('provider_customer_id'),
    /** The provider's id of the last payment method used (pm_...), which scheduled retries charge. */
    providerPaymentMethodId: text('provider_payment_method_id'),
    createdAt: instant('created_at').notNull().defaultNow(),
    updatedAt: instant('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('subscriptions_one_live_idx').on(sql`(true)`).where(sql`${t.status} <> 'canceled'`),
    check('subscriptions_status_check', sql`${t.status} in ('active', 'past_due', 'canceled')`),
    check('subscriptions_period_check', sql`${t.currentPeriodEnd} > ${t.currentPeriodStart}`),
  ],
);

/**
 * Metered chat tokens per billing period (calendar month, UTC), incremented by the consumer in the
 * transaction that records the event in processed_events: each event counts exactly once.
 */
export const usagePeriods = pgTable(
  'usage_periods',
  {
    periodStart: instant('period_start').primaryKey(),
    inputTokens: bigint('input_tokens', { mode: 'number' }).notNull().default(0),
    outputTokens: bigint('output_tokens', { mode: 'number' }).notNull().default(0),
    messages: bigint('messages', { mode: 'number' }).notNull().default(0),
    /** Messages whose tokens chat estimated because the provider's stream broke. */
    estimatedMessages: bigint('estimated_messages', { mode: 'number' }).notNull().default(0),
    updatedAt: instant('updated_at').notNull().defaultNow(),
  },
  (t) => [check('usage_periods_tokens_check', sql`${t.inputTokens} >= 0 and ${t.outputTokens} >= 0`)],
);

/** chat.message_completed events whose payload broke the contract: kept, not metered, not retried. */
export const skippedUsageEvents = pgTable('skipped_usage_events', {
  eventId: uuid('event_id').primaryKey(),
  reason: text('reason').notNull(),
  payload: text('payload').notNull(),
  skippedAt: instant('skipped_at').notNull().defaultNow(),
});

/** The last invoice number given in this tenant: numbers are sequential without gaps. */
export const invoiceSequence = pgTable(
  'invoice_sequence',
  {
    singleton: boolean('singleton').primaryKey().default(true),
    last: integer('last').notNull(),
  },
  (t) => [check('invoice_sequence_singleton_check', sql`${t.singleton}`)],
);

/**
 * An issued invoice. Immutable once issued (a trigger refuses changes to anything but the payment
 * state), one per subscription and period.
 */
export const invoices = pgTable(
  'invoices',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    sequence: integer('sequence').notNull().unique(),
    number: text('number').notNull().unique(),
    subscriptionId: uuid('subscription_id')
      .notNull()
      .references(() => subscriptions.id),
    plan: text('plan').notNull(),
    periodStart: instant('period_start').notNull(),
    periodEnd: instant('period_end').notNull(),
    currency: text('currency').notNull(),
    totalMinor: money('total_minor').notNull(),
    status: text('status').notNull().default('open'),
    recipients: text('recipients').array().notNull(),
    issuedAt: instant('issued_at').notNull(),
    dueAt: instant('due_at').notNull(),
    paidAt: instant('paid_at'),
    /** Failed payment attempts; past_due after the last one of the retry schedule. */
    failedAttempts: integer('failed_attempts').notNull().default(0),
    nextAttemptAt: instant('next_attempt_at'),
  },
  (t) => [
    uniqueIndex('invoices_subscription_period_idx').on(t.subscriptionId, t.periodStart),
    check('invoices_status_check', sql`${t.status} in ('open', 'paid', 'uncollectible')`),
    check('invoices_total_check', sql`${t.totalMinor} >= 0`),
    check('invoices_currency_check', sql`${t.currency} ~ '^[a-z]{3}$'`),
  ],
);

/** The lines of an invoice; their amounts add up to its total (checked when issued), never changed. */
export const invoiceLines = pgTable(
  'invoice_lines',
  {
    invoiceId: uuid('invoice_id')
      .notNull()
      .references(() => invoices.id),
    position: integer('position').notNull(),
    kind: text('kind').notNull(),
    description: text('description').notNull(),
    quantity: bigint('quantity', { mode: 'number' }).notNull(),
    unitAmountMinor: money('unit_amount_minor').notNull(),
    amountMinor: money('amount_minor').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.invoiceId, t.position] }),
    check('invoice_lines_kind_check', sql`${t.kind} in ('base', 'overage')`),
    check('invoice_lines_amount_check', sql`${t.amountMinor} = ${t.quantity} * ${t.unitAmountMinor}`),
  ],
);

/** Payment attempts of invoices at the provider; card data stays at the provider. */
export const payments = pgTable(
  'payments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    invoiceId: uuid('invoice_id')
      .notNull()
      .references(() => invoices.id),
    provider: text('provider').notNull(),
    providerPaymentId: text('provider_payment_id'),
    amountMinor: money('amount_minor').notNull(),
    currency: text('currency').notNull(),
    status: text('status').notNull(),
    failureReason: text('failure_reason'),
    createdAt: instant('created_at').notNull().defaultNow(),
    updatedAt: instant('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('payments_provider_payment_idx').on(t.provider, t.providerPaymentId),
    check('payments_status_check', sql`${t.status} in ('pending', 'succeeded', 'failed')`),
  ],
);

/** Provider webhook events applied, by the provider's event id: a replay is acknowledged, not applied. */
export const webhookEvents = pgTable('webhook_events', {
  eventId: text('event_id').primaryKey(),
  type: text('type').notNull(),
  receivedAt: instant('received_at').notNull().defaultNow(),
});

export type SubscriptionRow = typeof subscriptions.$inferSelect;
export type InvoiceRow = typeof invoices.$inferSelect;
export type InvoiceLineRow = typeof invoiceLines.$inferSelect;
export type PaymentRow = typeof payments.$inferSelect;
