import { type FastifyPluginAsyncTypebox, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { TSchema } from '@sinclair/typebox';
import { authenticatedErrors, type RequestIdentity, TenantHeaders } from '@tenantry/identity';
import { errorResponses, strictBody } from '@tenantry/service-kit';
import type { TenantDatabases } from '@tenantry/tenant-db';
import { asc, desc, eq } from 'drizzle-orm';
import { invoiceNotFound } from './billing-errors.ts';
import { overage, periodOf } from './billing-period.ts';
import {
  CancelQuery,
  ChangeSubscriptionBody,
  CreateSubscriptionBody,
  IdParams,
  Invoice,
  InvoiceList,
  PayInvoiceBody,
  Payment,
  PlanList,
  Subscription,
  SubscriptionList,
  Usage,
} from './billing-schemas.ts';
import { type PaymentDeps, payInvoice } from './payments.ts';
import type { PlanCatalog } from './plan-catalog.ts';
import { type InvoiceRow, invoiceLines, invoices, usagePeriods } from './schema.ts';
import {
  cancelSubscription,
  changePlan,
  createSubscription,
  listSubscriptions,
  type SubscriptionDeps,
} from './subscriptions.ts';

export interface BillingRoutesOptions {
  identity: RequestIdentity;
  databases: TenantDatabases;
  plans: PlanCatalog;
  subscriptions: SubscriptionDeps;
  payments: PaymentDeps;
  now: () => Date;
}

const unavailable = errorResponses(503);
/** TypeBox checks bodies as they came (no coercion, no stripping), as the users service explains. */
const asSent = {
  validatorCompiler: (part: { schema: unknown; method: string; url: string; httpPart?: string }) =>
    TypeBoxValidatorCompiler({ ...part, schema: part.schema as TSchema }),
};

function toInvoiceSummary(row: InvoiceRow) {
  return {
    id: row.id,
    number: row.number,
    plan: row.plan,
    status: row.status as 'open' | 'paid' | 'uncollectible',
    periodStart: row.periodStart.toISOString(),
    periodEnd: row.periodEnd.toISOString(),
    totalMinor: row.totalMinor,
    currency: row.currency,
    issuedAt: row.issuedAt.toISOString(),
    dueAt: row.dueAt.toISOString(),
    paidAt: row.paidAt?.toISOString() ?? null,
    failedAttempts: row.failedAttempts,
    nextAttemptAt: row.nextAttemptAt?.toISOString() ?? null,
  };
}

/**
 * The billing API. Reading plans needs only the tenant; everything else an owner or admin of it.
 * Every query runs on `databases` for the caller's tenant: that tenant's database, its credentials.
 */
export const billingRoutes: FastifyPluginAsyncTypebox<BillingRoutesOptions> = async (app, options) => {
  const { identity, databases, plans } = options;

  app.get(
    '/api/billing/plans',
    {
      schema: {
        summary: 'The plans on offer, cheapest first',
        description: 'Plans are Kubernetes Plan objects; those with prices (spec.billing) are listed.',
        headers: TenantHeaders,
        response: { 200: PlanList, ...errorResponses(400, 404), ...unavailable },
      },
    },
    async (request) => {
      identity.tenant(request);
      const items = await plans.list();
      return {
        items: items.map((plan) => ({
          name: plan.name,
          displayName: plan.displayName,
          monthlyTokens: plan.monthlyTokens,
          ...plan.billing,
        })),
      };
    },
  );

  app.get(
    '/api/billing/subscriptions',
    {
      schema: {
        summary: "The tenant's subscriptions, newest first (canceled ones included)",
        headers: TenantHeaders,
        response: { 200: SubscriptionList, ...authenticatedErrors, ...unavailable },
      },
    },
    async (request) => {
      const caller = await identity.caller(request, 'admin');
      return { items: await listSubscriptions(databases, caller.tenant) };
    },
  );

  app.post(
    '/api/billing/subscriptions',
    {
      schema: {
        summary: 'Subscribes the tenant to a plan',
        description:
          "Sets Tenant.spec.plan, so the operator applies the plan's limits. One live subscription per tenant.",
        headers: TenantHeaders,
        body: CreateSubscriptionBody,
        response: { 201: Subscription, ...authenticatedErrors, ...errorResponses(409), ...unavailable },
      },
      ...asSent,
      preValidation: strictBody(CreateSubscriptionBody),
    },
    async (request, reply) => {
      const caller = await identity.caller(request, 'admin');
      const created = await createSubscription(options.subscriptions, caller.tenant, {
        ...request.body,
        changedBy: caller.sub,
      });
      return reply.code(201).send(created);
    },
  );

  app.put(
    '/api/billing/subscriptions/:id',
    {
      schema: {
        summary: "Changes the subscription's plan, now",
        description:
          'No proration: a period is billed at the plan in force when it closes. The same plan is a 409; a change the API server refuses is a 409 PLAN_CHANGE_REFUSED and changes nothing.',
        headers: TenantHeaders,
        params: IdParams,
        body: ChangeSubscriptionBody,
        response: { 200: Subscription, ...authenticatedErrors, ...errorResponses(409), ...unavailable },
      },
      ...asSent,
      preValidation: strictBody(ChangeSubscriptionBody),
    },
    async (request) => {
      const caller = await identity.caller(request, 'admin');
      return changePlan(options.subscriptions, caller.tenant, request.params.id, {
        plan: request.body.plan,
        changedBy: caller.sub,
      });
    },
  );

  app.delete(
    '/api/billing/subscriptions/:id',
    {
      schema: {
        summary: 'Cancels the subscription at the end of its period, or now with ?immediately=true',
        description:
          'Canceled now, the tenant returns to the free plan and its provider customer is deleted.',
        headers: TenantHeaders,
        params: IdParams,
        querystring: CancelQuery,
        response: { 200: Subscription, ...authenticatedErrors, ...errorResponses(409), ...unavailable },
      },
    },
    async (request) => {
      const caller = await identity.caller(request, 'admin');
      return cancelSubscription(options.subscriptions, caller.tenant, request.params.id, {
        immediately: request.query.immediately,
        changedBy: caller.sub,
      });
    },
  );

  app.get(
    '/api/billing/usage',
    {
      schema: {
        summary: 'Chat tokens metered this period, against the included ones, and the overage so far',
        headers: TenantHeaders,
        response: { 200: Usage, ...authenticatedErrors, ...unavailable },
      },
    },
    async (request) => {
      const caller = await identity.caller(request, 'admin');
      const period = periodOf(options.now());
      const [live] = (await listSubscriptions(databases, caller.tenant)).filter(
        (s) => s.status !== 'canceled',
      );
      const plan = live ? await plans.get(live.plan) : undefined;
      const [row] = await databases
        .drizzle(caller.tenant)
        .select()
        .from(usagePeriods)
        .where(eq(usagePeriods.periodStart, period.start));
      const inputTokens = row?.inputTokens ?? 0;
      const outputTokens = row?.outputTokens ?? 0;
      const meteredTokens = inputTokens + outputTokens;
      const extra = plan ? overage(meteredTokens, plan.billing) : { tokens: 0, units: 0 };
      return {
        periodStart: period.start.toISOString(),
        periodEnd: period.end.toISOString(),
        plan: live?.plan ?? null,
        inputTokens,
        outputTokens,
        meteredTokens,
        messages: row?.messages ?? 0,
        estimatedMessages: row?.estimatedMessages ?? 0,
        includedTokens: plan?.billing.includedTokens ?? 0,
        overageTokens: extra.tokens,
        projectedOverageMinor: plan ? extra.units * plan.billing.overagePerThousandTokensMinor : 0,
        currency: plan?.billing.currency ?? null,
      };
    },
  );

  app.get(
    '/api/billing/invoices',
    {
      schema: {
        summary: "The tenant's invoices, newest first",
        headers: TenantHeaders,
        response: { 200: InvoiceList, ...authenticatedErrors, ...unavailable },
      },
    },
    async (request) => {
      const caller = await identity.caller(request, 'admin');
      const rows = await databases
        .drizzle(caller.tenant)
        .select()
        .from(invoices)
        .orderBy(desc(invoices.sequence));
      return { items: rows.map(toInvoiceSummary) };
    },
  );

  app.get(
    '/api/billing/invoices/:id',
    {
      schema: {
        summary: 'An invoice with its lines',
        headers: TenantHeaders,
        params: IdParams,
        response: { 200: Invoice, ...authenticatedErrors, ...unavailable },
      },
    },
    async (request) => {
      const caller = await identity.caller(request, 'admin');
      const db = databases.drizzle(caller.tenant);
      const [row] = await db.select().from(invoices).where(eq(invoices.id, request.params.id));
      if (!row) throw invoiceNotFound(request.params.id);
      const lines = await db
        .select()
        .from(invoiceLines)
        .where(eq(invoiceLines.invoiceId, row.id))
        .orderBy(asc(invoiceLines.position));
      return {
        ...toInvoiceSummary(row),
        lines: lines.map((line) => ({
          kind: line.kind as 'base' | 'overage',
          description: line.description,
          quantity: line.quantity,
          unitAmountMinor: line.unitAmountMinor,
          amountMinor: line.amountMinor,
        })),
      };
    },
  );

  app.post(
    '/api/billing/payments',
    {
      schema: {
        summary: 'Pays an open invoice with a payment method held by the provider',
        description:
          'pending until the provider confirms (its webhook settles it); failed attempts follow the retry schedule.',
        headers: TenantHeaders,
        body: PayInvoiceBody,
        response: { 201: Payment, ...authenticatedErrors, ...errorResponses(409), ...unavailable },
      },
      ...asSent,
      preValidation: strictBody(PayInvoiceBody),
    },
    async (request, reply) => {
      const caller = await identity.caller(request, 'admin');
      return reply.code(201).send(await payInvoice(options.payments, caller.tenant, request.body));
    },
  );
};
