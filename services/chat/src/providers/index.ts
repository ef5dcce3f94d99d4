import type { ChatConfig } from '../config.ts';
import type { Provider } from '../model-catalogue.ts';
import { anthropicAdapter } from './anthropic-adapter.ts';
import { geminiAdapter } from './gemini-adapter.ts';
import { openaiAdapter } from './openai-adapter.ts';
import type { ProviderAdapter } from './provider.ts';
import { retrying } from './retrying.ts';

export type ProviderSettings = Pick<
  ChatConfig,
  | 'OPENAI_BASE_URL'
  | 'OPENAI_API_KEY'
  | 'ANTHROPIC_BASE_URL'
  | 'ANTHROPIC_API_KEY'
  | 'GEMINI_BASE_URL'
  | 'GEMINI_API_KEY'
  | 'PROVIDER_RETRIES'
  | 'PROVIDER_MAX_RETRY_DELAY_MS'
>;

/** The adapter of every provider that has a key, each wrapped in the retry policy. */
export function providerAdapters(settings: ProviderSettings): Map<Provider, ProviderAdapter> {
  const adapters = new Map<Provider, ProviderAdapter>();
  const policy = { retries: settings.PROVIDER_RETRIES, maxDelayMs: settings.PROVIDER_MAX_RETRY_DELAY_MS };
  const add = (adapter: ProviderAdapter) => adapters.set(adapter.provider, retrying(adapter, policy));
  if (settings.OPENAI_API_KEY)
    add(openaiAdapter({ baseURL: settings.OPENAI_BASE_URL, apiKey: settings.OPENAI_API_KEY }));
  if (settings.ANTHROPIC_API_KEY) {
    add(anthropicAdapter({ baseURL: settings.ANTHROPIC_BASE_URL, apiKey: settings.ANTHROPIC_API_KEY }));
  }
  if (settings.GEMINI_API_KEY)
    add(geminiAdapter({ baseURL: settings.GEMINI_BASE_URL, apiKey: settings.GEMINI_API_KEY }));
  return adapters;
}

export {
  type ProviderAdapter,
  ProviderCallError,
  type ProviderEvent,
  type ProviderMessage,
} from './provider.ts';
