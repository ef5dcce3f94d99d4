import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ProviderAdapter,
  ProviderCallError,
  type ProviderEvent,
  type ProviderRequest,
} from './provider.ts';

export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  /** A retry-after above this is not waited for: the call fails as the provider answered. */
  maxDelayMs: number;
  /** Backoff without a retry-after: base * 2^attempt. */
  baseDelayMs?: number;
}

const DEFAULT_BASE_DELAY_MS = 250;

/**
 * The adapter with retries before the first event only: once a token reached the client, a retry
 * would send it a second, different beginning. Waits what the provider's retry-after says, else
 * exponential backoff; the client going away ends the wait.
 */
export function retrying(adapter: ProviderAdapter, policy: RetryPolicy): ProviderAdapter {
  const base = policy.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  return {
    provider: adapter.provider,
    async *stream(request: ProviderRequest): AsyncGenerator<ProviderEvent> {
      for (let attempt = 0; ; attempt++) {
        let started = false;
        try {
          for await (const event of adapter.stream(request)) {
            started = true;
            yield event;
          }
          return;
        } catch (error) {
          if (
            started ||
            !(error instanceof ProviderCallError) ||
            !error.retryable ||
            attempt >= policy.retries
          ) {
            throw error;
          }
          const delay = error.retryAfterMs ?? base * 2 ** attempt;
          if (delay > policy.maxDelayMs) throw error;
          try {
            await sleep(delay, undefined, { signal: request.signal });
          } catch (abort) {
            throw new ProviderCallError(adapter.provider, 'aborted', 'aborted while waiting to retry', {
              cause: abort,
            });
          }
        }
      }
    },
  };
}
