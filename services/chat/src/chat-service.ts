import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@tenantry/logger';
import { buildService, type ServiceInstance } from '@tenantry/service-kit';
import { serviceConfig, type TenantRuntime } from '@tenantry/service-runtime';
import { chatRoutes } from './chat-routes.ts';
import type { ChatConfig } from './config.ts';
import { ModelCatalogue } from './model-catalogue.ts';
import { openAiCompatibleRoutes } from './openai-compatible-routes.ts';
import { PlanQuotas, type QuotaSource } from './plan-quotas.ts';
import { providerAdapters } from './providers/index.ts';

export const SERVICE_NAME = 'chat';

export interface ChatServiceOptions {
  runtime: TenantRuntime;
  config: Omit<ChatConfig, 'PORT' | 'OTEL_EXPORTER_OTLP_ENDPOINT'>;
  logger: Logger;
  /** Where the Plans and tenant Ingresses are followed from. */
  kc: KubeConfig;
  /** Runs once the app has stopped: the program closes the runtime and telemetry here. */
  onClose?: () => Promise<void>;
}

/**
 * The chat service, ready to listen: the chat API and its OpenAI-compatible face under /api/chat,
 * the providers that have keys, and each tenant's quota followed from its plan.
 */
export async function buildChatService(options: ChatServiceOptions): Promise<ServiceInstance> {
  const { runtime, config, logger } = options;
  const adapters = providerAdapters(config);
  const catalogue = ModelCatalogue.load(config.CHAT_PRICES_FILE, adapters.keys());
  const plans = await PlanQuotas.start({ kc: options.kc, namespace: config.PLATFORM_NAMESPACE, logger });
  const quotas: QuotaSource = plans;
  const exchange = { databases: runtime.databases, quotas, adapters, logger };
  try {
    return await buildService({
      name: SERVICE_NAME,
      config: serviceConfig(config),
      logger,
      metrics: runtime.metrics,
      dependencies: runtime.dependencies,
      routes: async (app) => {
        app.addHook('onClose', async () => {
          try {
            await plans.close();
          } finally {
            await options.onClose?.();
          }
        });
        await app.register(chatRoutes, { identity: runtime.identity, catalogue, exchange });
        await app.register(openAiCompatibleRoutes, { identity: runtime.identity, catalogue, exchange });
      },
    });
  } catch (error) {
    await plans.close();
    throw error;
  }
}
