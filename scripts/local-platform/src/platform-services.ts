import type { KubeConfig } from '@kubernetes/client-node';
import { buildAuthService, loadAuthConfig } from '@tenantry/auth';
import { buildGateway, loadGatewayConfig, NOT_DEPLOYED, upstreamsOf } from '@tenantry/gateway';
import type { Logger } from '@tenantry/logger';
import type { ServiceInstance } from '@tenantry/service-kit';
import { startTenantRuntime, type TenantRuntime } from '@tenantry/service-runtime';
import { buildUsersService, loadUsersConfig } from '@tenantry/users';

/**
 * The platform's services in this process, as their pods run them in a cluster: each follows the
 * operator's Secrets (and the gateway its Ingresses and Plans) through the API server, with its own
 * runtime, pools and Kafka clients, listening on its own port. The gateway routes to them; services
 * that do not exist yet (chat, billing, ...) are not deployed: the gateway answers 503 naming them.
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

/** The BRIEF's ports of the services that exist. */
const PORTS = { gateway: 4000, auth: 3001, users: 3005 };

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

    // Services not built yet are not deployed: the gateway answers 503 naming them, and /api/health
    // reports them as not_deployed instead of down.
    const gatewayConfig = loadGatewayConfig({
      ...common,
      AUTH_URL: authUrl,
      USERS_URL: usersUrl,
      CHAT_URL: NOT_DEPLOYED,
      BILLING_URL: NOT_DEPLOYED,
      NOTIFICATIONS_URL: NOT_DEPLOYED,
      ANALYTICS_URL: NOT_DEPLOYED,
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
