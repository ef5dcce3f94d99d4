import { ApiError, FinishReason, GoogleGenAI } from '@google/genai';
import { asProviderError, failureOfStatus, type ProviderAdapter, ProviderCallError } from './provider.ts';

/** Gemini through the official SDK (generateContentStream over alt=sse); usage on the final frame. */
export function geminiAdapter(options: { baseURL: string; apiKey: string }): ProviderAdapter {
  const client = new GoogleGenAI({ apiKey: options.apiKey, httpOptions: { baseUrl: options.baseURL } });
  const classify = (error: unknown) =>
    error instanceof ApiError
      ? new ProviderCallError('google', failureOfStatus(error.status), error.message, {
          status: error.status,
          // The SDK keeps no headers: Google says how long to wait in the body's RetryInfo.
          retryAfterMs: retryDelayOf(error.message),
          cause: error,
        })
      : undefined;
  return {
    provider: 'google',
    async *stream(request) {
      try {
        const stream = await client.models.generateContentStream({
          model: request.model,
          contents: request.messages.map((m) => ({
            role: m.role === 'assistant' ? 'model' : 'user',
            parts: [{ text: m.content }],
          })),
          config: {
            maxOutputTokens: request.maxTokens,
            abortSignal: request.signal,
            ...(request.system ? { systemInstruction: request.system } : {}),
          },
        });
        for await (const frame of stream) {
          const candidate = frame.candidates?.[0];
          const text = candidate?.content?.parts?.map((p) => p.text ?? '').join('') ?? '';
          if (text) yield { type: 'text', text };
          if (frame.usageMetadata && candidate?.finishReason) {
            yield {
              type: 'usage',
              inputTokens: frame.usageMetadata.promptTokenCount ?? 0,
              outputTokens: frame.usageMetadata.candidatesTokenCount ?? 0,
            };
          }
          if (candidate?.finishReason) {
            yield {
              type: 'finish',
              reason: candidate.finishReason === FinishReason.MAX_TOKENS ? 'length' : 'stop',
            };
          }
        }
      } catch (error) {
        throw asProviderError('google', error, request.signal, classify);
      }
    },
  };
}

/** `"retryDelay": "3s"` of a RetryInfo detail in Google's error body, as milliseconds. */
function retryDelayOf(message: string): number | undefined {
  const match = /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(message);
  return match ? Number(match[1]) * 1000 : undefined;
}
