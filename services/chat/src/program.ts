import type { TenantServiceProgram } from '@tenantry/service-runtime';
import { buildChatService, SERVICE_NAME } from './chat-service.ts';
import { type ChatConfig, loadChatConfig } from './config.ts';

/** The chat service: it appends events (the runtime's relay publishes them) and verifies tokens only. */
export const program: TenantServiceProgram<ChatConfig> = {
  service: SERVICE_NAME,
  loadConfig: loadChatConfig,
  runtime: { relay: true },
  build: ({ runtime, config, logger, onClose, kc }) =>
    buildChatService({ runtime, config, logger, onClose, kc }),
};
