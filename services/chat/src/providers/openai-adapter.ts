import OpenAI from 'openai';
import {
  asProviderError,
  failureOfStatus,
  type ProviderAdapter,
  ProviderCallError,
  retryAfterMs,
} from './provider.ts';

/** OpenAI's Chat Completions through the official SDK, streamed with the final usage chunk. */
export function openaiAdapter(options: { baseURL: string; apiKey: string }): ProviderAdapter {
  // The SDK's own retries are off: retrying.ts retries every provider alike, and only before a token.
  const client = new OpenAI({ baseURL: options.baseURL, apiKey: options.apiKey, maxRetries: 0 });
  const classify = (error: unknown) =>
    error instanceof OpenAI.APIError && !(error instanceof OpenAI.APIConnectionError)
      ? new ProviderCallError('openai', failureOfStatus(error.status), error.message, {
          status: error.status,
          retryAfterMs: retryAfterMs(error.headers),
          cause: error,
        })
      : undefined;
  return {
    provider: 'openai',
    async *stream(request) {
      try {
        const stream = await client.chat.completions.create(
          {
            model: request.model,
            messages: [
              ...(request.system ? [{ role: 'system' as const, content: request.system }] : []),
              ...request.messages,
            ],
            max_completion_tokens: request.maxTokens,
            stream: true,
            stream_options: { include_usage: true },
          },
          { signal: request.signal },
        );
        for await (const chunk of stream) {
          const choice = chunk.choices[0];
          const text = choice?.delta?.content;
          if (text) yield { type: 'text', text };
          if (choice?.finish_reason)
            yield { type: 'finish', reason: choice.finish_reason === 'length' ? 'length' : 'stop' };
          if (chunk.usage) {
            yield {
              type: 'usage',
              inputTokens: chunk.usage.prompt_tokens,
              outputTokens: chunk.usage.completion_tokens,
            };
          }
        }
      } catch (error) {
        throw asProviderError('openai', error, request.signal, classify);
      }
    },
  };
}
