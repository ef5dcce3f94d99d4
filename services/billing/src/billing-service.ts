import type { KubeConfig } from '@kubernetes/client-node';
import { keepConsumerRunning } from '@tenantry/events';
import type { Logger } from '@tenantry/logger';
import { buildService, type ServiceInstance } from '@tenantry/service-kit';
import {
  type ConsumerOverrides,
  createTenantEventConsumer,
  serviceConfig,
  type TenantRuntime,
} from '@tenantry/service-runtime';
import type { BillingConfig } from './config.ts';
import { closeDuePeriods, type InvoicingDeps, startBillingScheduler } from './invoicing.ts';
import { METERED_EVENT_TYPES, meterChatUsage } from './metering.ts';
import type { PaymentProvider } from './payment-provider.ts';
import { type PaymentDeps, retryDuePayments } from './payments.ts';
import { planCatalog } from './plan-catalog.ts';
import { billingRoutes } from './routes.ts';
import { stripeProvider } from './stripe-provider.ts';
import type { SubscriptionDeps } from './subscriptions.ts';
import { tenantPlanWriter } from './tenant-plan.ts';
import { webhookRoutes } from './webhook-routes.ts';

export const SERVICE_NAME = 'billing';
/** The Kafka consumer group of every replica, and the consumer's key in processed_events. */
export const CONSUMER_GROUP = 'billing';

export interface BillingServiceOptions {
  runtime: TenantRuntime;
  config: Pick<
    BillingConfig,
    | 'CORS_ORIGINS'
    | 'LOG_LEVEL'
    | 'TRUSTED_PROXIES'
    | 'STRIPE_SECRET_KEY'
    | 'STRIPE_API_URL'
    | 'STRIPE_WEBHOOK_SECRET'
    | 'INVOICE_DUE_DAYS'
    | 'INVOICE_SCHEDULER_INTERVAL_SECONDS'
    | 'SUSPEND_PAST_DUE_TENANTS'
  >;
  logger: Logger;
  /** Billing's own access to the API server: read Plans, patch Tenants (charts/billing/files/rbac.yaml). */
  kc: KubeConfig;
  /** The clock of periods and invoices; tests move it to close a period. */
  now?: () => Date;
  /** Stripe on STRIPE_* by default. */
  provider?: PaymentProvider;
  /** Tests narrow the consumer to their tenants and group (see the users service). */
  events?: ConsumerOverrides;
  onClose?: () => Promise<void>;
}

export interface BillingService {
  app: ServiceInstance;
  /** What the scheduler does on its interval, now: closes due periods, retries due payments. */
  runScheduledTasks(): Promise<void>;
}

/**
 * The billing service, ready to listen: the API under /api/billing, the usage metering consumer and
 * the scheduler (invoices, payment retries), which start with the app and stop when it closes.
 */
export async function buildBillingService(options: BillingServiceOptions): Promise<BillingService> {
  const { runtime, config, logger, kc, events = {} } = options;
  const now = options.now ?? (() => new Date());
  const provider =
    options.provider ??
    stripeProvider({
      secretKey: config.STRIPE_SECRET_KEY,
      webhookSecret: config.STRIPE_WEBHOOK_SECRET,
      apiUrl: config.STRIPE_API_URL,
    });
  const plans = planCatalog(kc);
  const tenants = tenantPlanWriter(kc);
  const { databases } = runtime;
  const subscriptions: SubscriptionDeps = { databases, plans, tenants, provider, now };
  const payments: PaymentDeps = {
    databases,
    provider,
    tenants,
    now,
    suspendPastDue: config.SUSPEND_PAST_DUE_TENANTS,
    logger,
  };
  const invoicing: InvoicingDeps = {
    databases,
    plans,
    tenants,
    provider,
    dueDays: config.INVOICE_DUE_DAYS,
    logger,
  };

  const consumer = createTenantEventConsumer(runtime, {
    name: CONSUMER_GROUP,
    types: METERED_EVENT_TYPES,
    handle: meterChatUsage(logger),
    logger,
    overrides: events,
  });

  let scheduler: ReturnType<typeof startBillingScheduler> | undefined;
  const app = await buildService({
    name: SERVICE_NAME,
    config: serviceConfig(config),
    logger,
    metrics: runtime.metrics,
    dependencies: runtime.dependencies,
    routes: async (app) => {
      let running: { stop(): Promise<void> } | undefined;
      app.addHook('onReady', async () => {
        running = keepConsumerRunning(consumer, logger, 'the usage metering consumer');
        scheduler = startBillingScheduler({
          tenants: () => databases.tenants(),
          tasks: [
            (tenant, at) => closeDuePeriods(invoicing, tenant, at),
            (tenant, at) => retryDuePayments(payments, tenant, at),
          ],
          intervalMs: config.INVOICE_SCHEDULER_INTERVAL_SECONDS * 1000,
          now,
          logger,
        });
      });
      app.addHook('onClose', async () => {
        try {
          await scheduler?.stop();
          await running?.stop();
        } finally {
          await options.onClose?.();
        }
      });
      await app.register(billingRoutes, {
        identity: runtime.identity,
        databases,
        plans,
        subscriptions,
        payments,
        now,
      });
      await app.register(webhookRoutes, { identity: runtime.identity, payments });
    },
  });
  return {
    app,
    async runScheduledTasks() {
      if (!scheduler) throw new Error('the billing service is not ready: no scheduler yet');
      await scheduler.runOnce();
    },
  };
}
