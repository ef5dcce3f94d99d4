import { ERROR_CODES, HttpError } from '@tenantry/service-kit';
import {
  contextTooLong,
  invalidMaxTokens,
  providerNotEnabled,
  unknownModel,
  unknownProvider,
} from './chat-errors.ts';
import { estimateRequestInput } from './chat-exchange.ts';
import { DEFAULT_MAX_TOKENS } from './chat-schemas.ts';
import { type ModelCatalogue, type ModelEntry, PROVIDERS, type Provider } from './model-catalogue.ts';
import type { ProviderMessage } from './providers/index.ts';

/** The model a request names, or a 400 naming the field at fault. */
export function resolveModel(
  catalogue: ModelCatalogue,
  provider: string | null | undefined,
  model: string | null | undefined,
): ModelEntry {
  if (!provider) {
    throw new HttpError(
      400,
      ERROR_CODES.VALIDATION_FAILED,
      '/body/provider is required (the conversation has no default)',
      {
        field: '/body/provider',
      },
    );
  }
  if (!(PROVIDERS as readonly string[]).includes(provider)) throw unknownProvider(provider);
  if (!catalogue.enabledProviders.has(provider as Provider)) throw providerNotEnabled(provider as Provider);
  if (!model) {
    throw new HttpError(
      400,
      ERROR_CODES.VALIDATION_FAILED,
      '/body/model is required (the conversation has no default)',
      {
        field: '/body/model',
      },
    );
  }
  const entry = catalogue.find(provider as Provider, model);
  if (!entry) throw unknownModel(provider, model);
  return entry;
}

/** The reply's token cap, checked against the model, and a 413 when the request cannot fit its context. */
export function fitRequest(
  model: ModelEntry,
  request: {
    system: string | null;
    history: ProviderMessage[];
    prompt: string;
    maxTokens: number | undefined;
  },
  fields: { maxTokens: string; message: string },
): number {
  const maxTokens = request.maxTokens ?? Math.min(DEFAULT_MAX_TOKENS, model.maxOutputTokens);
  if (maxTokens > model.maxOutputTokens) throw invalidMaxTokens(model.maxOutputTokens, fields.maxTokens);
  const input = estimateRequestInput(request.system, request.history, request.prompt);
  if (input + maxTokens > model.contextWindow)
    throw contextTooLong(input, model.contextWindow, fields.message);
  return maxTokens;
}
