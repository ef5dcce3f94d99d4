import type { KubeConfig } from '@kubernetes/client-node';
import type { Env } from '@tenantry/config';
import type { Logger } from '@tenantry/logger';
import { DEFAULT_HOST, runProgram, type ServiceInstance } from '@tenantry/service-kit';
import type { TenantServiceSettings } from './settings.ts';
import {
  defaultKubeConfig,
  startTenantRuntime,
  type TenantRuntime,
  type TenantRuntimeOptions,
} from './tenant-runtime.ts';

/**
 * How a service consumes the tenants' events, where a caller must narrow it: tests and the local
 * platform share one Kafka with other runs, so they give each run its own consumer group.
 */
export interface ConsumerOverrides {
  groupId?: string;
  topicPattern?: RegExp;
  topicCheckIntervalMs?: number;
}

/**
 * A tenant-facing service, declared once in its `src/program.ts`: its process (`main.ts`) and the local
 * platform (`npm run up`, the end-to-end tests) both start it from this.
 */
export interface TenantServiceProgram<C extends TenantServiceSettings> {
  service: string;
  /** The program's config module: the only reader of the environment (unless an `env` is given). */
  loadConfig(env?: Env): C;
  runtime?: Pick<TenantRuntimeOptions, 'relay' | 'signing'>;
  /** The service's app over the started runtime; `onClose` must reach buildService's option of that name. */
  build(parts: {
    runtime: TenantRuntime;
    config: C;
    logger: Logger;
    /** The runtime's credentials, for services that follow other Kubernetes objects (Plans, Ingresses). */
    kc: KubeConfig;
    onClose: () => Promise<void>;
    consumers?: ConsumerOverrides;
  }): Promise<ServiceInstance>;
}

export interface StartedTenantService<C> {
  app: ServiceInstance;
  config: C;
}

/**
 * The runtime and app of a program, ready to listen; closing the app closes the runtime and then
 * `onClose`. A runtime started before a failing build is closed again.
 */
export async function startTenantService<C extends TenantServiceSettings>(
  program: TenantServiceProgram<C>,
  options: {
    config: C;
    logger: Logger;
    kc?: KubeConfig;
    consumers?: ConsumerOverrides;
    onClose?: () => Promise<void>;
  },
): Promise<ServiceInstance> {
  const { config, logger } = options;
  const kc = options.kc ?? defaultKubeConfig();
  const runtime = await startTenantRuntime({
    service: program.service,
    settings: config,
    logger,
    kc,
    ...program.runtime,
  });
  try {
    return await program.build({
      runtime,
      config,
      logger,
      kc,
      ...(options.consumers ? { consumers: options.consumers } : {}),
      onClose: async () => {
        await runtime.close();
        await options.onClose?.();
      },
    });
  } catch (error) {
    await runtime.close();
    throw error;
  }
}

/**
 * A tenant-facing service as a process (`node --import tsx src/main.ts`), through service-kit's
 * runProgram (configuration errors exit 2, start failures exit 1, signals close gracefully): the
 * runtime, the app, then listening.
 */
export async function runTenantServiceProgram<C extends TenantServiceSettings>(
  program: TenantServiceProgram<C>,
): Promise<void> {
  await runProgram<C>({
    name: program.service,
    loadConfig: () => program.loadConfig(),
    logLevel: (config) => config.LOG_LEVEL,
    otlpEndpoint: (config) => config.OTEL_EXPORTER_OTLP_ENDPOINT,
    start: async ({ config, logger }) => {
      const app = await startTenantService(program, { config, logger });
      try {
        await app.listen({ port: config.PORT, host: DEFAULT_HOST });
      } catch (error) {
        await app.close();
        throw error;
      }
      return { close: () => app.close() };
    },
  });
}
