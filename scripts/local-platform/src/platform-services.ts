import type { KubeConfig } from '@kubernetes/client-node';
import {
  buildGateway,
  loadGatewayConfig,
  NOT_DEPLOYED,
  upstreamsOf,
  upstreamVariable,
} from '@tenantry/gateway';
import type { Logger } from '@tenantry/logger';
import type { ServiceInstance } from '@tenantry/service-kit';
import { routedServices, type ServiceDeclaration, services } from '@tenantry/service-registry';
import {
  type ConsumerOverrides,
  startTenantService,
  type TenantServiceProgram,
  type TenantServiceSettings,
} from '@tenantry/service-runtime';

/**
 * The platform's services in this process, as their pods run them in a cluster: every built service
 * of the registry, each following the operator's Secrets (and the gateway its Ingresses and Plans)
 * through the API server, with its own runtime, pools and Kafka clients, on its own port. The gateway
 * routes to them; registered services not built yet are not deployed: the gateway answers 503 naming
 * them.
 */
export interface PlatformServicesOptions {
  kc: KubeConfig;
  namespace: string;
  kafkaBrokers: readonly string[];
  logger: Logger;
  host?: string;
  /** Every service on a free port (tests) instead of the registry's ports (`npm run up`). */
  freePorts?: boolean;
  /**
   * Each consuming service's Kafka group is `<groupPrefix>-<service>` (tests and `npm run up` share a
   * Kafka with other runs); other overrides as given.
   */
  consumers?: Omit<ConsumerOverrides, 'groupId'> & { groupPrefix?: string };
  /** Settings for every service besides the platform's (e.g. a shorter sweep in tests). */
  env?: Record<string, string>;
}

export interface PlatformServices {
  /** Base URL of each started service, by name. */
  urls: Record<string, string> & { gateway: string };
  stop(): Promise<void>;
}

/** Each tenant service's package exports its `program` (src/program.ts), the one way to start it. */
async function programOf(service: ServiceDeclaration): Promise<TenantServiceProgram<TenantServiceSettings>> {
  const loaded = (await import(`@tenantry/${service.name}`)) as {
    program?: TenantServiceProgram<TenantServiceSettings>;
  };
  if (!loaded.program) {
    throw new Error(`@tenantry/${service.name} exports no program (services/${service.name}/src/program.ts)`);
  }
  return loaded.program;
}

export async function startPlatformServices(options: PlatformServicesOptions): Promise<PlatformServices> {
  const host = options.host ?? '127.0.0.1';
  const portOf = (service: ServiceDeclaration) => (options.freePorts ? 0 : service.port);
  const common = {
    PLATFORM_NAMESPACE: options.namespace,
    KAFKA_BROKERS: options.kafkaBrokers.join(','),
    LOG_LEVEL: options.logger.level,
  };
  const started: { close(): Promise<unknown> }[] = [];
  const stop = async () => {
    for (const part of started.reverse()) await part.close();
  };
  const listen = async (app: ServiceInstance, service: ServiceDeclaration) => {
    started.push(app);
    try {
      return await app.listen({ host, port: portOf(service) });
    } catch (error) {
      throw new Error(
        `while starting ${service.name} on ${host}:${portOf(service)}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  };
  try {
    const urls: Record<string, string> = {};
    const { groupPrefix, ...consumers } = options.consumers ?? {};
    for (const service of services.filter((s) => s.built && s.routed)) {
      const program = await programOf(service);
      const logger = options.logger.child({ service: service.name });
      const app = await startTenantService(program, {
        config: program.loadConfig({ ...options.env, ...common }),
        logger,
        kc: options.kc,
        consumers: { ...consumers, ...(groupPrefix ? { groupId: `${groupPrefix}-${service.name}` } : {}) },
      });
      urls[service.name] = await listen(app, service);
    }

    const gatewayConfig = loadGatewayConfig({
      ...common,
      ...Object.fromEntries(
        routedServices.map((s) => [upstreamVariable(s.name), urls[s.name] ?? NOT_DEPLOYED]),
      ),
    });
    const gateway = await buildGateway({
      kc: options.kc,
      namespace: options.namespace,
      upstreams: upstreamsOf(gatewayConfig),
      logger: options.logger.child({ service: 'gateway' }),
    });
    const gatewayService = services.find((s) => s.name === 'gateway');
    if (!gatewayService) throw new Error('the registry has no gateway');
    return { urls: { ...urls, gateway: await listen(gateway, gatewayService) }, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
