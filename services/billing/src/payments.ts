import { randomUUID } from 'node:crypto';
import { appendToOutbox, createEvent } from '@tenantry/events';
import type { Logger } from '@tenantry/logger';
import { HttpError } from '@tenantry/service-kit';
import type { TenantDatabases } from '@tenantry/tenant-db';
import type { TransactionSql } from 'postgres';
import { BILLING_ERROR_CODES, invoiceNotFound } from './billing-errors.ts';
import { nextAttemptAt } from './billing-period.ts';
import type { Payment } from './billing-schemas.ts';
import type { ChargeOutcome, PaymentProvider } from './payment-provider.ts';
import { toInt } from './rows.ts';
import type { TenantPlanWriter } from './tenant-plan.ts';

export interface PaymentDeps {
  databases: TenantDatabases;
  provider: PaymentProvider;
  tenants: TenantPlanWriter;
  now: () => Date;
  /** The opt-in policy: suspend a tenant whose subscription became past_due. */
  suspendPastDue: boolean;
  logger: Logger;
}

interface PaymentRecord {
  id: string;
  invoice_id: string;
  status: Payment['status'];
  amount_minor: unknown;
  currency: string;
  failure_reason: string | null;
}

function toPayment(row: PaymentRecord): Payment {
  return {
    id: row.id,
    invoiceId: row.invoice_id,
    status: row.status,
    amountMinor: toInt(row.amount_minor),
    currency: row.currency,
    failureReason: row.failure_reason,
  };
}

/**
 * Pays an open invoice with a payment method the provider holds, which is kept (its id only) for the
 * scheduled retries. The payment row is committed as pending before the provider is called, so a
 * webhook about it always finds it; the provider's immediate answer (or later webhook) settles it
 * through applyPaymentOutcome.
 */
export async function payInvoice(
  deps: PaymentDeps,
  tenant: string,
  input: { invoiceId: string; paymentMethodId: string },
): Promise<Payment> {
  const sql = deps.databases.sql(tenant);
  const [invoice] = await sql`
    select i.id, i.status, i.total_minor, i.currency, s.id as subscription_id, s.billing_email,
           s.provider_customer_id
    from invoices i join subscriptions s on s.id = i.subscription_id
    where i.id = ${input.invoiceId}
  `;
  if (!invoice) throw invoiceNotFound(input.invoiceId, '/body/invoiceId');
  if (invoice.status !== 'open') {
    throw new HttpError(
      409,
      BILLING_ERROR_CODES.INVOICE_NOT_OPEN,
      `invoice ${input.invoiceId} is ${invoice.status}`,
      {
        field: '/body/invoiceId',
      },
    );
  }
  let customerId: string | null = invoice.provider_customer_id;
  if (!customerId) {
    // Keyed by subscription: a retry after a crash between these two steps finds the same customer.
    customerId = await deps.provider.createCustomer({
      email: invoice.billing_email,
      tenant,
      idempotencyKey: `customer-${invoice.subscription_id}`,
    });
    await sql`
      update subscriptions set provider_customer_id = ${customerId}, updated_at = now()
      where id = ${invoice.subscription_id} and provider_customer_id is null
    `;
  }
  await sql`
    update subscriptions set provider_payment_method_id = ${input.paymentMethodId}, updated_at = now()
    where id = ${invoice.subscription_id}
  `;
  return charge(deps, tenant, {
    invoiceId: input.invoiceId,
    customerId,
    paymentMethodId: input.paymentMethodId,
    amountMinor: toInt(invoice.total_minor),
    currency: invoice.currency,
  });
}

async function charge(
  deps: PaymentDeps,
  tenant: string,
  input: {
    invoiceId: string;
    customerId: string;
    paymentMethodId: string;
    amountMinor: number;
    currency: string;
  },
): Promise<Payment> {
  const paymentId = randomUUID();
  await deps.databases.sql(tenant)`
    insert into payments (id, invoice_id, provider, amount_minor, currency, status)
    values (${paymentId}, ${input.invoiceId}, ${deps.provider.name}, ${input.amountMinor}, ${input.currency}, 'pending')
  `;
  const outcome = await deps.provider.charge({ paymentId, tenant, ...input });
  return deps.databases.withTransaction(tenant, (tx) =>
    applyPaymentOutcome(deps, tenant, tx, paymentId, outcome),
  );
}

/**
 * The retry schedule at work: charges again, with the payment method last used, every open invoice
 * whose next attempt is due by `now` and that has no payment still pending. Returns the payments made.
 */
export async function retryDuePayments(deps: PaymentDeps, tenant: string, now: Date): Promise<Payment[]> {
  const due = await deps.databases.sql(tenant)`
    select i.id, i.total_minor, i.currency, s.provider_customer_id, s.provider_payment_method_id
    from invoices i join subscriptions s on s.id = i.subscription_id
    where i.status = 'open' and i.next_attempt_at <= ${now.toISOString()}
      and s.provider_customer_id is not null and s.provider_payment_method_id is not null
      and not exists (select 1 from payments p where p.invoice_id = i.id and p.status = 'pending')
    order by i.sequence
  `;
  const made: Payment[] = [];
  for (const invoice of due) {
    made.push(
      await charge(deps, tenant, {
        invoiceId: invoice.id,
        customerId: invoice.provider_customer_id,
        paymentMethodId: invoice.provider_payment_method_id,
        amountMinor: toInt(invoice.total_minor),
        currency: invoice.currency,
      }),
    );
  }
  return made;
}

/**
 * The transactions in which a subscription fell past_due: the suspension policy acts once they
 * committed (suspendIfPastDue), never inside them. Suspending ends the tenant's database sessions,
 * this transaction's included, so patching the Tenant before the commit could lose the commit.
 */
const becamePastDue = new WeakSet<TransactionSql>();

/**
 * Runs `work` in a transaction of the tenant, then applies the opt-in suspension policy when the
 * work made the subscription past_due. A failed suspension is logged, not retried: the payment
 * state is committed, and the platform engineer can suspend by hand (kubectl patch tenant).
 */
export async function withPaymentTransaction<T>(
  deps: PaymentDeps,
  tenant: string,
  work: (tx: TransactionSql) => Promise<T>,
): Promise<T> {
  let pastDue = false;
  const result = await deps.databases.withTransaction(tenant, async (tx) => {
    const value = await work(tx);
    pastDue = becamePastDue.has(tx);
    return value;
  });
  if (pastDue && deps.suspendPastDue) {
    await deps.tenants.patch(tenant, { suspended: true }).catch((error: unknown) => {
      deps.logger.error(
        { tenant, err: error },
        `tenant ${tenant} is past_due but could not be suspended: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
  }
  return result;
}

/**
 * Settles a payment once: succeeded marks its invoice paid (and a past_due subscription active
 * again); failed counts a failed attempt on the invoice and schedules the next one, and after the
 * last attempt of the schedule the subscription is past_due (and, once committed, under the opt-in
 * policy the tenant suspended: run it through withPaymentTransaction). A payment already settled is left as it is, so a replayed answer changes nothing.
 */
export async function applyPaymentOutcome(
  deps: PaymentDeps,
  tenant: string,
  tx: TransactionSql,
  paymentId: string,
  outcome: ChargeOutcome,
): Promise<Payment> {
  const [payment] = await tx<PaymentRecord[]>`select * from payments where id = ${paymentId} for update`;
  if (!payment) throw new Error(`no payment ${paymentId} in tenant ${tenant}`);
  if (payment.status !== 'pending' || outcome.status === 'pending') {
    if (outcome.providerPaymentId && payment.status === 'pending') {
      await tx`
        update payments set provider_payment_id = ${outcome.providerPaymentId}, updated_at = now()
        where id = ${paymentId} and provider_payment_id is null
      `;
    }
    return toPayment(payment);
  }
  const now = deps.now();
  const [updated] = await tx<PaymentRecord[]>`
    update payments set status = ${outcome.status}, failure_reason = ${outcome.failureReason},
      provider_payment_id = coalesce(provider_payment_id, ${outcome.providerPaymentId}), updated_at = now()
    where id = ${paymentId} returning *
  `;
  if (!updated) throw new Error(`payment ${paymentId} vanished inside its update`);
  const [invoice] = await tx`
    select id, subscription_id, failed_attempts, recipients from invoices where id = ${payment.invoice_id} for update
  `;
  if (!invoice) throw new Error(`payment ${paymentId} has no invoice`);
  const amountMinor = toInt(payment.amount_minor);
  if (outcome.status === 'succeeded') {
    await tx`update invoices set status = 'paid', paid_at = ${now.toISOString()}, next_attempt_at = null where id = ${invoice.id}`;
    await tx`
      update subscriptions set status = 'active', updated_at = now()
      where id = ${invoice.subscription_id} and status = 'past_due'
    `;
    await appendToOutbox(
      tx,
      createEvent({
        type: 'billing.payment_succeeded',
        tenant,
        aggregateId: invoice.id,
        payload: { paymentId, invoiceId: invoice.id, amountMinor, currency: payment.currency },
      }),
    );
    return toPayment(updated);
  }
  const failedAttempts = toInt(invoice.failed_attempts) + 1;
  const next = nextAttemptAt(failedAttempts, now);
  await tx`
    update invoices set failed_attempts = ${failedAttempts}, next_attempt_at = ${next?.toISOString() ?? null} where id = ${invoice.id}
  `;
  if (next === null) {
    const pastDue = await tx`
      update subscriptions set status = 'past_due', updated_at = now()
      where id = ${invoice.subscription_id} and status = 'active' returning id
    `;
    if (pastDue.length > 0) becamePastDue.add(tx);
  }
  await appendToOutbox(
    tx,
    createEvent({
      type: 'billing.payment_failed',
      tenant,
      aggregateId: invoice.id,
      payload: {
        paymentId,
        invoiceId: invoice.id,
        amountMinor,
        currency: payment.currency,
        reason: outcome.failureReason ?? 'payment failed',
        nextAttemptAt: next?.toISOString() ?? null,
        recipients: invoice.recipients,
      },
    }),
  );
  return toPayment(updated);
}
