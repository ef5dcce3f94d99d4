import type { KubeConfig } from '@kubernetes/client-node';
import { buildAuthService, loadAuthConfig } from '@tenantry/auth';
import { buildGateway, loadGatewayConfig, upstreamsOf } from '@tenantry/gateway';
import type { Logger } from '@tenantry/logger';
import type { ServiceInstance } from '@tenantry/service-kit';
import { startTenantRuntime, type TenantRuntime } from '@tenantry/service-runtime';
import { buildUsersService, loadUsersConfig } from '@tenantry/users';

/**
 * The platform's services in this process, as their pods run them in a cluster: each follows the
 * operator's Secrets (and the gateway its Ingresses and Plans) through the API server, with its own
 * runtime, pools and Kafka clients, listening on its own port. The gateway routes to them; services
 * that do not exist yet (chat, billing, ...) point at their ports on `host`, where nothing listens,
 * so the gateway answers 503 naming them.
 */
export interface PlatformServicesOptions {
  kc: KubeConfig;
  namespace: string;
  kafkaBrokers: readonly string[];
  logger: Logger;
  host?: string;
  /** 0 picks a free port (tests); `npm run up` uses the BRIEF's ports. */
  ports?: { gateway?: number; auth?: number; users?: number };
  /** The users service's Kafka group and topics (tests narrow them to their own tenants). */
  usersEvents?: { groupId?: string; topicPattern?: RegExp; topicCheckIntervalMs?: number };
}

export interface PlatformServices {
  urls: { gateway: string; auth: string; users: string };
  stop(): Promise<void>;
}

const PORTS = {
  gateway: 4000,
  auth: 3001,
  chat: 3002,
  billing: 3003,
  notifications: 3004,
  users: 3005,
  analytics: 3007,
};

export async function startPlatformServices(options: PlatformServicesOptions): Promise<PlatformServices> {
  const host = options.host ?? '127.0.0.1';
  const ports = { ...PORTS, ...options.ports };
  const common = {
    PLATFORM_NAMESPACE: options.namespace,
    KAFKA_BROKERS: options.kafkaBrokers.join(','),
    LOG_LEVEL: options.logger.level,
  };
  const started: { close(): Promise<unknown> }[] = [];
  const stop = async () => {
    for (const part of started.reverse()) await part.close();
  };
  try {
    const listen = async (app: ServiceInstance, port: number, name: string) => {
      started.push(app);
      try {
        return await app.listen({ host, port });
      } catch (error) {
        throw new Error(
          `while starting ${name} on ${host}:${port}: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
    };
    const runtime = async (
      service: string,
      settings: Parameters<typeof startTenantRuntime>[0]['settings'],
      relay: boolean,
      signing = false,
    ) => {
      const started_: TenantRuntime = await startTenantRuntime({
        service,
        settings,
        logger: options.logger.child({ service }),
        kc: options.kc,
        relay,
        signing,
      });
      started.push(started_);
      return started_;
    };

    const authConfig = loadAuthConfig(common);
    const authRuntime = await runtime('auth', authConfig, true, true);
    const authUrl = await listen(
      await buildAuthService({
        runtime: authRuntime,
        config: authConfig,
        logger: options.logger.child({ service: 'auth' }),
      }),
      ports.auth,
      'auth',
    );

    const usersConfig = loadUsersConfig(common);
    const usersRuntime = await runtime('users', usersConfig, true);
    const usersUrl = await listen(
      await buildUsersService({
        runtime: usersRuntime,
        config: usersConfig,
        logger: options.logger.child({ service: 'users' }),
        ...(options.usersEvents ? { events: options.usersEvents } : {}),
      }),
      ports.users,
      'users',
    );

    const at = (port: number) => `http://${host}:${port}`;
    const gatewayConfig = loadGatewayConfig({
      ...common,
      AUTH_URL: authUrl,
      USERS_URL: usersUrl,
      CHAT_URL: at(PORTS.chat),
      BILLING_URL: at(PORTS.billing),
      NOTIFICATIONS_URL: at(PORTS.notifications),
      ANALYTICS_URL: at(PORTS.analytics),
    });
    const gateway = await buildGateway({
      kc: options.kc,
      namespace: options.namespace,
      upstreams: upstreamsOf(gatewayConfig),
      logger: options.logger.child({ service: 'gateway' }),
    });
    const gatewayUrl = await listen(gateway, ports.gateway, 'gateway');
    return { urls: { gateway: gatewayUrl, auth: authUrl, users: usersUrl }, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
