import { ERROR_CODES, HttpError } from '@tenantry/service-kit';
import type { Provider } from './model-catalogue.ts';
import type { ProviderCallError } from './providers/index.ts';

/** Error codes of the chat API besides service-kit's and identity's; clients branch on these. */
export const CHAT_ERROR_CODES = {
  CONVERSATION_NOT_FOUND: 'CONVERSATION_NOT_FOUND',
  UNKNOWN_PROVIDER: 'UNKNOWN_PROVIDER',
  PROVIDER_NOT_ENABLED: 'PROVIDER_NOT_ENABLED',
  UNKNOWN_MODEL: 'UNKNOWN_MODEL',
  CONTEXT_TOO_LONG: 'CONTEXT_TOO_LONG',
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  PLAN_UNKNOWN: 'PLAN_UNKNOWN',
  /** The provider asked us to come back (429/503/529) and retries did not help. */
  PROVIDER_UNAVAILABLE: 'PROVIDER_UNAVAILABLE',
  /** The provider failed (5xx, a broken connection or stream). */
  PROVIDER_ERROR: 'PROVIDER_ERROR',
  /** The provider refused the request or the platform's key (4xx): an operator matter. */
  PROVIDER_REJECTED: 'PROVIDER_REJECTED',
} as const;

export function conversationNotFound(id: string, field = '/params/id'): HttpError {
  return new HttpError(404, CHAT_ERROR_CODES.CONVERSATION_NOT_FOUND, `no conversation ${id}`, { field });
}

export function unknownProvider(provider: string, field = '/body/provider'): HttpError {
  return new HttpError(400, CHAT_ERROR_CODES.UNKNOWN_PROVIDER, `unknown provider ${provider}`, { field });
}

export function providerNotEnabled(provider: Provider, field = '/body/provider'): HttpError {
  return new HttpError(
    400,
    CHAT_ERROR_CODES.PROVIDER_NOT_ENABLED,
    `provider ${provider} is not enabled on this platform (no API key configured)`,
    { field },
  );
}

export function unknownModel(provider: string, model: string, field = '/body/model'): HttpError {
  return new HttpError(400, CHAT_ERROR_CODES.UNKNOWN_MODEL, `${provider} has no model ${model} here`, {
    field,
  });
}

export function invalidMaxTokens(limit: number, field = '/body/maxTokens'): HttpError {
  return new HttpError(
    400,
    ERROR_CODES.VALIDATION_FAILED,
    `${field} must be at most ${limit} for this model`,
    {
      field,
    },
  );
}

export function contextTooLong(inputTokens: number, window: number, field = '/body/message'): HttpError {
  return new HttpError(
    413,
    CHAT_ERROR_CODES.CONTEXT_TOO_LONG,
    `the conversation with this message (about ${inputTokens} tokens) and the reply do not fit the model's context window of ${window} tokens`,
    { field },
  );
}

export function quotaExceeded(remaining: number, resetsAt: Date): HttpError {
  const seconds = Math.max(1, Math.ceil((resetsAt.getTime() - Date.now()) / 1000));
  return new HttpError(
    429,
    CHAT_ERROR_CODES.QUOTA_EXCEEDED,
    `the tenant's monthly chat tokens are used up for this request: ${remaining} remaining, reset at ${resetsAt.toISOString()}`,
    {
      headers: {
        'retry-after': String(seconds),
        'x-quota-remaining-tokens': String(remaining),
        'x-quota-reset': resetsAt.toISOString(),
      },
    },
  );
}

export function planUnknown(tenant: string): HttpError {
  return new HttpError(
    503,
    CHAT_ERROR_CODES.PLAN_UNKNOWN,
    `the plan of tenant ${tenant} is not known yet, so its chat quota cannot be enforced`,
    { headers: { 'retry-after': '5' } },
  );
}

/** A provider failure as the client sees it: 503 when the provider asks to come back, else 502. */
export function providerFailed(error: ProviderCallError): HttpError {
  if (error.failure === 'rate_limited' || error.failure === 'unavailable') {
    const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000));
    return new HttpError(
      503,
      CHAT_ERROR_CODES.PROVIDER_UNAVAILABLE,
      `${error.provider} is unavailable for now`,
      {
        headers: { 'retry-after': String(seconds) },
      },
    );
  }
  if (error.failure === 'rejected') {
    return new HttpError(502, CHAT_ERROR_CODES.PROVIDER_REJECTED, `${error.provider} refused the request`);
  }
  return new HttpError(502, CHAT_ERROR_CODES.PROVIDER_ERROR, `${error.provider} failed to answer`);
}
