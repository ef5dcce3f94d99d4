import { appendToOutbox, type BillingInvoiceIssued, createEvent } from '@tenantry/events';
import type { Logger } from '@tenantry/logger';
import type { TenantDatabases } from '@tenantry/tenant-db';
import type { TransactionSql } from 'postgres';
import { invoiceLines, invoiceNumber, periodOf } from './billing-period.ts';
import type { PaymentProvider } from './payment-provider.ts';
import type { PlanCatalog } from './plan-catalog.ts';
import { type SubscriptionRecord, toDate, toInt } from './rows.ts';
import { FALLBACK_PLAN, subscriptionChanged } from './subscriptions.ts';
import type { TenantPlanWriter } from './tenant-plan.ts';

export interface InvoicingDeps {
  databases: TenantDatabases;
  plans: PlanCatalog;
  tenants: TenantPlanWriter;
  /** Where the customer of a subscription that ends is deleted, so nothing keeps charging there. */
  provider: Pick<PaymentProvider, 'deleteCustomer'>;
  dueDays: number;
  logger: Logger;
}

/** Tokens metered in the period starting at `periodStart`. */
export async function meteredTokens(tx: TransactionSql, periodStart: Date): Promise<number> {
  const [row] = await tx`
    select input_tokens + output_tokens as tokens from usage_periods where period_start = ${periodStart.toISOString()}
  `;
  return row ? toInt(row.tokens) : 0;
}

/**
 * Closes every period of the tenant's live subscription that ended by `now`: issues its invoice (base
 * line, overage line, the next sequential number of the tenant) with billing.invoice_issued in the
 * same transaction, then starts the next period, or ends the subscription when it was canceled at
 * period end. Several periods are closed in order when the scheduler was away. Returns the invoices
 * issued. Safe to run concurrently (the subscription row is locked; an invoice per period is unique).
 */
export async function closeDuePeriods(deps: InvoicingDeps, tenant: string, now: Date): Promise<string[]> {
  const issued: string[] = [];
  for (;;) {
    const invoiceId = await deps.databases.withTransaction(tenant, (tx) =>
      closeOnePeriod(deps, tenant, now, tx),
    );
    if (!invoiceId) return issued;
    issued.push(invoiceId);
  }
}

async function closeOnePeriod(
  deps: InvoicingDeps,
  tenant: string,
  now: Date,
  tx: TransactionSql,
): Promise<string | undefined> {
  const [sub] = await tx<SubscriptionRecord[]>`
    select * from subscriptions where status <> 'canceled' and current_period_end <= ${now.toISOString()}
    for update skip locked
  `;
  if (!sub) return undefined;
  const periodStart = toDate(sub.current_period_start);
  const periodEnd = toDate(sub.current_period_end);
  const plan = await deps.plans.get(sub.plan);
  if (!plan) {
    // Billing at a guessed price is worse than billing late: the platform engineer must fix the Plan.
    throw new Error(`cannot invoice tenant ${tenant}: plan ${sub.plan} has no prices (Plan spec.billing)`);
  }
  const tokens = await meteredTokens(tx, periodStart);
  const { lines, totalMinor } = invoiceLines(plan.displayName, plan.billing, tokens);
  const [sequence] = await tx`
    insert into invoice_sequence (singleton, last) values (true, 1)
    on conflict (singleton) do update set last = invoice_sequence.last + 1
    returning last
  `;
  const number = invoiceNumber(toInt(sequence?.last));
  const dueAt = new Date(now.getTime() + deps.dueDays * 86_400_000);
  const recipients = [sub.billing_email];
  const [invoice] = await tx`
    insert into invoices (sequence, number, subscription_id, plan, period_start, period_end, currency,
                          total_minor, recipients, issued_at, due_at)
    values (${toInt(sequence?.last)}, ${number}, ${sub.id}, ${sub.plan}, ${periodStart.toISOString()}, ${periodEnd.toISOString()},
            ${plan.billing.currency}, ${totalMinor}, ${recipients}, ${now.toISOString()}, ${dueAt.toISOString()})
    returning id
  `;
  const invoiceId: string = invoice?.id;
  for (const [position, line] of lines.entries()) {
    await tx`
      insert into invoice_lines (invoice_id, position, kind, description, quantity, unit_amount_minor, amount_minor)
      values (${invoiceId}, ${position + 1}, ${line.kind}, ${line.description}, ${line.quantity},
              ${line.unitAmountMinor}, ${line.amountMinor})
    `;
  }
  const payload: BillingInvoiceIssued = {
    invoiceId,
    number,
    periodStart: periodStart.toISOString(),
    periodEnd: periodEnd.toISOString(),
    totalMinor,
    currency: plan.billing.currency,
    dueAt: dueAt.toISOString(),
    recipients,
  };
  await appendToOutbox(
    tx,
    createEvent({ type: 'billing.invoice_issued', tenant, aggregateId: invoiceId, payload }),
  );

  if (sub.cancel_at_period_end) {
    await tx`
      update subscriptions set status = 'canceled', canceled_at = ${periodEnd.toISOString()}, updated_at = now()
      where id = ${sub.id}
    `;
    await subscriptionChanged(tx, tenant, {
      subscriptionId: sub.id,
      previousPlan: sub.plan,
      plan: null,
      status: 'canceled',
      changedBy: null,
    });
    if (sub.provider_customer_id) await deps.provider.deleteCustomer(sub.provider_customer_id);
    await deps.tenants.patch(tenant, { plan: FALLBACK_PLAN });
  } else {
    const next = periodOf(periodEnd);
    await tx`
      update subscriptions set current_period_start = ${next.start.toISOString()}, current_period_end = ${next.end.toISOString()},
        updated_at = now()
      where id = ${sub.id}
    `;
  }
  return invoiceId;
}

/** One job of the scheduler, run for each tenant on each tick. */
export type ScheduledTask = (tenant: string, now: Date) => Promise<unknown>;

/**
 * Runs `tasks` (closing due periods, retrying due payments) for every tenant this replica serves,
 * every `intervalMs`, on the clock given (tests pass their own). A tenant's failure is logged and
 * retried on the next run.
 */
export function startBillingScheduler(options: {
  tenants: () => string[];
  tasks: ScheduledTask[];
  intervalMs: number;
  now: () => Date;
  logger: Logger;
}): { runOnce(): Promise<void>; stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const runOnce = async () => {
    for (const tenant of options.tenants()) {
      for (const task of options.tasks) {
        await task(tenant, options.now()).catch((error: unknown) => {
          options.logger.error(
            { tenant, err: error },
            `a billing task of tenant ${tenant} failed: ${error instanceof Error ? error.message : String(error)}`,
          );
        });
      }
    }
  };
  const timer = setInterval(() => {
    running ??= runOnce().finally(() => {
      running = undefined;
    });
  }, options.intervalMs);
  timer.unref();
  return {
    runOnce,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
