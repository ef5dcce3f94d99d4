import type { Provider } from '../model-catalogue.ts';

/** One turn of the history sent to a provider. */
export interface ProviderMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface ProviderRequest {
  /** The model id as the catalogue names it (the alias, not a dated snapshot). */
  model: string;
  system?: string | undefined;
  messages: ProviderMessage[];
  maxTokens: number;
  /** Aborting it cancels the HTTP call to the provider (the client went away). */
  signal: AbortSignal;
}

/**
 * What an adapter yields, in order: text deltas, then (when the provider reports it) usage, then how
 * the reply ended. A stream that breaks throws a ProviderCallError instead of finishing.
 */
export type ProviderEvent =
  | { type: 'text'; text: string }
  | { type: 'usage'; inputTokens: number; outputTokens: number }
  | { type: 'finish'; reason: 'stop' | 'length' };

/** The one interface over the three vendors' SDKs. Adapters never retry: retrying.ts does, once for all. */
export interface ProviderAdapter {
  readonly provider: Provider;
  stream(request: ProviderRequest): AsyncIterable<ProviderEvent>;
}

/**
 * Why a provider call failed, in the service's terms:
 * - `rate_limited` / `unavailable`: the provider asks us to come back (429, 503, 529): retryable;
 * - `failed`: a 5xx or a broken connection: retryable before the first token;
 * - `rejected`: the provider refused the request or our key (4xx): retrying cannot help;
 * - `aborted`: our own signal fired (the client went away).
 */
export type ProviderFailure = 'rate_limited' | 'unavailable' | 'failed' | 'rejected' | 'aborted';

export class ProviderCallError extends Error {
  readonly provider: Provider;
  readonly failure: ProviderFailure;
  readonly status: number | undefined;
  /** The provider's retry-after, when it gave one. */
  readonly retryAfterMs: number | undefined;

  constructor(
    provider: Provider,
    failure: ProviderFailure,
    message: string,
    extra: { status?: number | undefined; retryAfterMs?: number | undefined; cause?: unknown } = {},
  ) {
    super(`${provider}: ${message}`, { cause: extra.cause });
    this.name = 'ProviderCallError';
    this.provider = provider;
    this.failure = failure;
    this.status = extra.status;
    this.retryAfterMs = extra.retryAfterMs;
  }

  get retryable(): boolean {
    return this.failure === 'rate_limited' || this.failure === 'unavailable' || this.failure === 'failed';
  }
}

/** The failure an HTTP status stands for. */
export function failureOfStatus(status: number | undefined): ProviderFailure {
  if (status === undefined) return 'failed';
  if (status === 429) return 'rate_limited';
  if (status === 503 || status === 529) return 'unavailable';
  if (status >= 500) return 'failed';
  return 'rejected';
}

/** `retry-after` in seconds (or an HTTP date), or `retry-after-ms`, as milliseconds. */
export function retryAfterMs(headers: { get(name: string): string | null } | undefined): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  if (Number.isFinite(Number(value))) return Math.max(0, Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** The error as a ProviderCallError: an aborted signal wins over whatever the SDK threw for it. */
export function asProviderError(
  provider: Provider,
  error: unknown,
  signal: AbortSignal,
  classify: (error: unknown) => ProviderCallError | undefined,
): ProviderCallError {
  if (error instanceof ProviderCallError) return error;
  if (signal.aborted)
    return new ProviderCallError(provider, 'aborted', 'the call was aborted', { cause: error });
  return (
    classify(error) ??
    new ProviderCallError(provider, 'failed', error instanceof Error ? error.message : String(error), {
      cause: error,
    })
  );
}
