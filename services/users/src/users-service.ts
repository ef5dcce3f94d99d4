import { keepConsumerRunning } from '@tenantry/events';
import type { Logger } from '@tenantry/logger';
import { buildService, type ServiceInstance } from '@tenantry/service-kit';
import { createTenantEventConsumer, serviceConfig, type TenantRuntime } from '@tenantry/service-runtime';
import type { UsersConfig } from './config.ts';
import { handleProfileEvent, PROFILE_EVENT_TYPES } from './profile-events.ts';
import { usersRoutes } from './routes.ts';

export const SERVICE_NAME = 'users';
/** The Kafka consumer group of every replica, and the consumer's key in processed_events. */
export const CONSUMER_GROUP = 'users';

export interface UsersServiceOptions {
  runtime: TenantRuntime;
  config: Pick<UsersConfig, 'CORS_ORIGINS' | 'LOG_LEVEL' | 'TRUSTED_PROXIES'>;
  logger: Logger;
  /**
   * Which events to consume, and as which Kafka group (defaults: every tenant's topic, group
   * `users`). Tests narrow both to their own tenants: the devstack's Kafka holds the topics of every
   * other test run too, whose databases this runtime cannot reach.
   */
  events?: { groupId?: string; topicPattern?: RegExp; topicCheckIntervalMs?: number };
  /** Runs once the app and the consumer have stopped: the program closes the runtime and telemetry here. */
  onClose?: () => Promise<void>;
}

/**
 * The users service, ready to listen: the API under /api/users and the consumer of auth's events,
 * which starts with the app and stops when it closes.
 */
export async function buildUsersService(options: UsersServiceOptions): Promise<ServiceInstance> {
  const { runtime, config, logger, events = {} } = options;
  const consumer = createTenantEventConsumer(runtime, {
    name: CONSUMER_GROUP,
    types: PROFILE_EVENT_TYPES,
    handle: handleProfileEvent(logger),
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
      // Hooks of the routes plugin: buildService has made the app ready by the time it returns, after
      // which no hook can be added.
      app.addHook('onReady', async () => {
        running = keepConsumerRunning(consumer, logger, 'the profile events consumer');
      });
      app.addHook('onClose', async () => {
        try {
          await running?.stop();
        } finally {
          await options.onClose?.();
        }
      });
      await app.register(usersRoutes, { identity: runtime.identity, databases: runtime.databases });
    },
  });
}
