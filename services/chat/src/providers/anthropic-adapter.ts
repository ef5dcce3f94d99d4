import Anthropic from '@anthropic-ai/sdk';
import {
  asProviderError,
  failureOfStatus,
  type ProviderAdapter,
  ProviderCallError,
  retryAfterMs,
} from './provider.ts';

/** Anthropic's Messages API through the official SDK; usage from message_start and message_delta. */
export function anthropicAdapter(options: { baseURL: string; apiKey: string }): ProviderAdapter {
  const client = new Anthropic({ baseURL: options.baseURL, apiKey: options.apiKey, maxRetries: 0 });
  const classify = (error: unknown) => {
    if (!(error instanceof Anthropic.APIError) || error instanceof Anthropic.APIConnectionError)
      return undefined;
    // An `error` event after HTTP 200 has no status: the SDK raises it with the event's body.
    const status = error.status ?? statusOfErrorType(error.error);
    return new ProviderCallError('anthropic', failureOfStatus(status), error.message, {
      status,
      retryAfterMs: retryAfterMs(error.headers),
      cause: error,
    });
  };
  return {
    provider: 'anthropic',
    async *stream(request) {
      try {
        const stream = await client.messages.create(
          {
            model: request.model,
            max_tokens: request.maxTokens,
            ...(request.system ? { system: request.system } : {}),
            messages: request.messages,
            stream: true,
          },
          { signal: request.signal },
        );
        let inputTokens = 0;
        let outputTokens = 0;
        let stop: 'stop' | 'length' | undefined;
        for await (const event of stream) {
          if (event.type === 'message_start') {
            inputTokens = event.message.usage.input_tokens;
            outputTokens = event.message.usage.output_tokens;
          } else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
            yield { type: 'text', text: event.delta.text };
          } else if (event.type === 'message_delta') {
            // Cumulative, not a delta.
            outputTokens = event.usage.output_tokens;
            if (event.delta.stop_reason) stop = event.delta.stop_reason === 'max_tokens' ? 'length' : 'stop';
          } else if (event.type === 'message_stop') {
            yield { type: 'usage', inputTokens, outputTokens };
            yield { type: 'finish', reason: stop ?? 'stop' };
          }
        }
      } catch (error) {
        throw asProviderError('anthropic', error, request.signal, classify);
      }
    },
  };
}

/** Anthropic's error types, as the status they stand for (for an error event in a 200 stream). */
function statusOfErrorType(body: unknown): number | undefined {
  const type = (body as { error?: { type?: unknown } } | undefined)?.error?.type;
  if (type === 'overloaded_error') return 529;
  if (type === 'rate_limit_error') return 429;
  if (type === 'api_error') return 500;
  return undefined;
}
