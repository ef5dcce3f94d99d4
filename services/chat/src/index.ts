export { CHAT_ERROR_CODES } from './chat-errors.ts';
export { buildChatService, type ChatServiceOptions, SERVICE_NAME } from './chat-service.ts';
export { type ChatConfig, loadChatConfig } from './config.ts';
export { costMicroUsd, ModelCatalogue, PROVIDERS, type Provider } from './model-catalogue.ts';
export { program } from './program.ts';
