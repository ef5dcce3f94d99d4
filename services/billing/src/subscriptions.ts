import { randomUUID } from 'node:crypto';
import { appendToOutbox, type BillingSubscriptionChanged, createEvent } from '@tenantry/events';
import { HttpError } from '@tenantry/service-kit';
import type { TenantDatabases } from '@tenantry/tenant-db';
import type { TransactionSql } from 'postgres';
import { BILLING_ERROR_CODES, subscriptionNotFound, unknownPlan } from './billing-errors.ts';
import { periodOf } from './billing-period.ts';
import type { Subscription } from './billing-schemas.ts';
import type { PaymentProvider } from './payment-provider.ts';
import type { PlanCatalog } from './plan-catalog.ts';
import { type SubscriptionRecord, toSubscription } from './rows.ts';
import { TenantChangeRefusedError, type TenantPlanWriter } from './tenant-plan.ts';

/** The plan a tenant returns to when its subscription ends. */
export const FALLBACK_PLAN = 'free';

export interface SubscriptionDeps {
  databases: TenantDatabases;
  plans: PlanCatalog;
  tenants: TenantPlanWriter;
  provider: PaymentProvider;
  now: () => Date;
}

const UNIQUE_VIOLATION = '23505';

export async function subscriptionChanged(
  tx: TransactionSql,
  tenant: string,
  payload: BillingSubscriptionChanged,
): Promise<void> {
  await appendToOutbox(
    tx,
    createEvent({
      type: 'billing.subscription_changed',
      tenant,
      aggregateId: payload.subscriptionId,
      payload,
    }),
  );
}

/**
 * Patches the Tenant inside the transaction of the subscription's change, as its last step: a change
 * the API server refuses rolls the subscription back, and a committed change has reached the Tenant.
 */
async function patchTenantPlan(deps: SubscriptionDeps, tenant: string, plan: string): Promise<void> {
  try {
    await deps.tenants.patch(tenant, { plan });
  } catch (error) {
    if (error instanceof TenantChangeRefusedError) {
      throw new HttpError(409, BILLING_ERROR_CODES.PLAN_CHANGE_REFUSED, error.message, {
        field: '/body/plan',
      });
    }
    throw error;
  }
}

async function requirePricedPlan(deps: SubscriptionDeps, plan: string): Promise<void> {
  if (!(await deps.plans.get(plan))) throw unknownPlan(plan);
}

export async function listSubscriptions(databases: TenantDatabases, tenant: string): Promise<Subscription[]> {
  const rows = await databases.sql(tenant)<SubscriptionRecord[]>`
    select * from subscriptions order by created_at desc, id
  `;
  return rows.map(toSubscription);
}

export async function createSubscription(
  deps: SubscriptionDeps,
  tenant: string,
  input: { plan: string; billingEmail: string; changedBy: string },
): Promise<Subscription> {
  await requirePricedPlan(deps, input.plan);
  const period = periodOf(deps.now());
  try {
    return await deps.databases.withTransaction(tenant, async (tx) => {
      const [live] = await tx`select id from subscriptions where status <> 'canceled' for update`;
      if (live) {
        throw new HttpError(
          409,
          BILLING_ERROR_CODES.SUBSCRIPTION_EXISTS,
          `this tenant already has subscription ${live.id}; change its plan with PUT instead`,
        );
      }
      const [row] = await tx<SubscriptionRecord[]>`
        insert into subscriptions (id, plan, status, billing_email, current_period_start, current_period_end)
        values (${randomUUID()}, ${input.plan}, 'active', ${input.billingEmail}, ${period.start.toISOString()}, ${period.end.toISOString()})
        returning *
      `;
      if (!row) throw new Error('the subscription insert returned no row');
      await subscriptionChanged(tx, tenant, {
        subscriptionId: row.id,
        previousPlan: null,
        plan: row.plan,
        status: row.status,
        changedBy: input.changedBy,
      });
      await patchTenantPlan(deps, tenant, input.plan);
      return toSubscription(row);
    });
  } catch (error) {
    // Two concurrent creations: the partial unique index lets one through.
    if ((error as { code?: unknown }).code === UNIQUE_VIOLATION) {
      throw new HttpError(
        409,
        BILLING_ERROR_CODES.SUBSCRIPTION_EXISTS,
        'this tenant already has a subscription',
      );
    }
    throw error;
  }
}

async function lockSubscription(tx: TransactionSql, id: string): Promise<SubscriptionRecord> {
  const [row] = await tx<SubscriptionRecord[]>`select * from subscriptions where id = ${id} for update`;
  if (!row) throw subscriptionNotFound(id);
  if (row.status === 'canceled') {
    throw new HttpError(409, BILLING_ERROR_CODES.SUBSCRIPTION_CANCELED, `subscription ${id} is canceled`, {
      field: '/params/id',
    });
  }
  return row;
}

/**
 * Changes the plan now. Proration policy: none. A period is billed at the plan in force when it
 * closes (base price and included tokens), so an upgrade takes effect at once and costs the new
 * price for the whole period; a downgrade takes effect at once too, and the period is billed at the
 * lower price. Changing back to the same plan is a 409.
 */
export async function changePlan(
  deps: SubscriptionDeps,
  tenant: string,
  id: string,
  input: { plan: string; changedBy: string },
): Promise<Subscription> {
  await requirePricedPlan(deps, input.plan);
  return deps.databases.withTransaction(tenant, async (tx) => {
    const current = await lockSubscription(tx, id);
    if (current.plan === input.plan) {
      throw new HttpError(
        409,
        BILLING_ERROR_CODES.PLAN_UNCHANGED,
        `subscription ${id} is on plan ${input.plan} already`,
        {
          field: '/body/plan',
        },
      );
    }
    const [row] = await tx<SubscriptionRecord[]>`
      update subscriptions set plan = ${input.plan}, updated_at = now() where id = ${id} returning *
    `;
    if (!row) throw new Error(`subscription ${id} vanished inside its update`);
    await subscriptionChanged(tx, tenant, {
      subscriptionId: id,
      previousPlan: current.plan,
      plan: row.plan,
      status: row.status,
      changedBy: input.changedBy,
    });
    await patchTenantPlan(deps, tenant, input.plan);
    return toSubscription(row);
  });
}

/**
 * Cancels at the end of the period (the scheduler ends it when it closes the period), or now with
 * `immediately`: the tenant returns to the free plan and its customer is deleted at the provider, so
 * nothing keeps charging there. Either way the subscription row stays, as history.
 */
export async function cancelSubscription(
  deps: SubscriptionDeps,
  tenant: string,
  id: string,
  input: { immediately: boolean; changedBy: string },
): Promise<Subscription> {
  return deps.databases.withTransaction(tenant, async (tx) => {
    const current = await lockSubscription(tx, id);
    const [row] = input.immediately
      ? await tx<SubscriptionRecord[]>`
          update subscriptions set status = 'canceled', canceled_at = ${deps.now().toISOString()}, updated_at = now()
          where id = ${id} returning *
        `
      : await tx<SubscriptionRecord[]>`
          update subscriptions set cancel_at_period_end = true, updated_at = now() where id = ${id} returning *
        `;
    if (!row) throw new Error(`subscription ${id} vanished inside its cancellation`);
    await subscriptionChanged(tx, tenant, {
      subscriptionId: id,
      previousPlan: current.plan,
      plan: input.immediately ? null : current.plan,
      status: input.immediately ? 'canceled' : 'cancel_at_period_end',
      changedBy: input.changedBy,
    });
    if (input.immediately) {
      if (current.provider_customer_id) await deps.provider.deleteCustomer(current.provider_customer_id);
      await patchTenantPlan(deps, tenant, FALLBACK_PLAN);
    }
    return toSubscription(row);
  });
}
