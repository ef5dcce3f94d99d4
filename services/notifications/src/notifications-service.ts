import type { KubeConfig } from '@kubernetes/client-node';
import { keepConsumerRunning } from '@tenantry/events';
import type { Logger } from '@tenantry/logger';
import { buildService, type ServiceInstance } from '@tenantry/service-kit';
import { createTenantEventConsumer, serviceConfig, type TenantRuntime } from '@tenantry/service-runtime';
import type { NotificationsConfig } from './config.ts';
import { deliveryMetrics } from './delivery-metrics.ts';
import { createDeliveryWorker } from './delivery-worker.ts';
import { MAILED_EVENT_TYPES } from './event-mail.ts';
import { createMailer } from './mailer.ts';
import { CONSUMER_NAME, handleNotificationEvent } from './notification-events.ts';
import { notificationsRoutes } from './routes.ts';
import { tenantBranding } from './tenant-branding.ts';
import { unsubscribeTokens } from './unsubscribe-token.ts';

export const SERVICE_NAME = 'notifications';

export interface NotificationsServiceOptions {
  runtime: TenantRuntime;
  config: NotificationsConfig;
  logger: Logger;
  /** Where Tenants and Ingresses are read for branding; the KUBECONFIG or service account by default. */
  kc: KubeConfig;
  /**
   * Which events to consume, and as which Kafka group (defaults: every tenant's topic, group
   * `notifications`). Tests narrow both to their own tenants.
   */
  events?: { groupId?: string; topicPattern?: RegExp; topicCheckIntervalMs?: number };
  /** Runs once the app, the consumer and the worker have stopped. */
  onClose?: () => Promise<void>;
}

/**
 * The notifications service, ready to listen: the API under /api/notifications, the consumer that
 * turns events into queued deliveries, and the worker that sends them over pooled SMTP; consumer and
 * worker start with the app and stop when it closes.
 */
export async function buildNotificationsService(
  options: NotificationsServiceOptions,
): Promise<ServiceInstance> {
  const { runtime, config, logger, events = {} } = options;
  const metrics = deliveryMetrics(runtime.metrics);
  const tokens = unsubscribeTokens(config.UNSUBSCRIBE_SECRET, config.UNSUBSCRIBE_TTL_DAYS);
  const mailer = createMailer(config);
  const worker = createDeliveryWorker({
    databases: runtime.databases,
    mailer,
    branding: tenantBranding({ kc: options.kc, namespace: config.PLATFORM_NAMESPACE }),
    tokens,
    metrics,
    logger,
    settings: {
      maxAttempts: config.DELIVERY_MAX_ATTEMPTS,
      baseBackoffMs: config.DELIVERY_BASE_BACKOFF_MS,
      maxBackoffMs: config.DELIVERY_MAX_BACKOFF_MS,
      pollMs: config.DELIVERY_POLL_MS,
      leaseMs: config.DELIVERY_LEASE_MS,
      from: config.MAIL_FROM,
      scheme: config.LINK_SCHEME,
    },
  });
  const consumer = createTenantEventConsumer(runtime, {
    name: CONSUMER_NAME,
    types: MAILED_EVENT_TYPES,
    handle: handleNotificationEvent({ logger, metrics, onQueued: (tenant) => worker.wake(tenant) }),
    logger,
    overrides: events,
  });

  return buildService({
    name: SERVICE_NAME,
    config: serviceConfig(config),
    logger,
    metrics: runtime.metrics,
    dependencies: runtime.dependencies,
    routes: async (app) => {
      let running: { stop(): Promise<void> } | undefined;
      app.addHook('onReady', async () => {
        running = keepConsumerRunning(consumer, logger, 'the notification events consumer');
        worker.start();
      });
      app.addHook('onClose', async () => {
        try {
          await running?.stop();
          await worker.stop();
          mailer.close();
        } finally {
          await options.onClose?.();
        }
      });
      await app.register(notificationsRoutes, {
        identity: runtime.identity,
        databases: runtime.databases,
        tokens,
        onRequeued: (tenant) => worker.wake(tenant),
      });
    },
  });
}
