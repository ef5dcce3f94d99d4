import { ApiError, type GenerateContentResponse, GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { fakeReply } from '../generation.ts';
import { type ProviderFakes, startProviderFakes } from '../server.ts';
import { countTokens } from '../tokens.ts';

let fakes: ProviderFakes;
beforeAll(async () => {
  fakes = await startProviderFakes({ tokensPerSecond: 20_000 });
});
afterAll(() => fakes.close());

/** The SDK retries only when told to; `retry` turns on two quick attempts. */
const client = (options: { retry?: boolean; apiKey?: string; baseUrl?: string } = {}) =>
  new GoogleGenAI({
    apiKey: options.apiKey ?? 'AIza-test',
    httpOptions: {
      baseUrl: options.baseUrl ?? fakes.geminiBaseUrl,
      ...(options.retry ? { retryOptions: { attempts: 2, initialDelay: 0.01 } } : {}),
    },
  });

const SYSTEM = 'Answer briefly.';
const params = (prompt: string, config: { maxOutputTokens?: number; abortSignal?: AbortSignal } = {}) => ({
  model: 'gemini-2.5-flash',
  contents: prompt,
  config: { systemInstruction: SYSTEM, ...config },
});

async function drain(stream: AsyncIterable<GenerateContentResponse>) {
  const chunks: GenerateContentResponse[] = [];
  let error: unknown;
  try {
    for await (const chunk of stream) chunks.push(chunk);
  } catch (e) {
    error = e;
  }
  return { chunks, text: chunks.map((c) => c.text ?? '').join(''), error };
}

describe('Gemini generateContent', () => {
  test('a non-streamed response is the deterministic reply, with usageMetadata', async () => {
    const prompt = 'Tell me about gardens.';
    const response = await client().models.generateContent(params(prompt));
    expect(response.text).toBe(fakeReply(prompt));
    expect(response.candidates?.[0]).toMatchObject({ finishReason: 'STOP', content: { role: 'model' } });
    expect(response.modelVersion).toBe('gemini-2.5-flash');
    expect(response.responseId).toMatch(/^[\w-]{22}$/);
    const input = countTokens(SYSTEM) + countTokens(prompt);
    expect(response.usageMetadata).toMatchObject({
      promptTokenCount: input,
      candidatesTokenCount: 40,
      totalTokenCount: input + 40,
    });
  });

  test('streamed chunks add up to the same text; the last carries finishReason and usageMetadata', async () => {
    const prompt = 'Stream about orbits.';
    const whole = await client().models.generateContent(params(prompt));
    const { chunks, text, error } = await drain(await client().models.generateContentStream(params(prompt)));
    expect(error).toBeUndefined();
    expect(text).toBe(whole.text);
    expect(chunks.length).toBe(40);
    const last = chunks.at(-1);
    expect(last?.candidates?.[0]?.finishReason).toBe('STOP');
    expect(last?.usageMetadata).toEqual(whole.usageMetadata);
    expect(last?.usageMetadata?.candidatesTokenCount).toBe(countTokens(text));
    expect(
      chunks.slice(0, -1).every((c) => c.usageMetadata === undefined && !c.candidates?.[0]?.finishReason),
    ).toBe(true);
  });

  test('maxOutputTokens cuts the reply with finishReason MAX_TOKENS', async () => {
    const prompt = 'Say a lot [[tokens:30]]';
    const { chunks, text } = await drain(
      await client().models.generateContentStream(params(prompt, { maxOutputTokens: 4 })),
    );
    expect(text).toBe(fakeReply(prompt, 4));
    expect(chunks.at(-1)?.candidates?.[0]?.finishReason).toBe('MAX_TOKENS');
  });

  test('the stream is SSE data frames of GenerateContentResponse on the wire', async () => {
    const response = await fetch(
      `${fakes.geminiBaseUrl}/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse&key=k`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi [[tokens:2]]' }] }] }),
      },
    );
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const frames = (await response.text()).split('\r\n\r\n').filter(Boolean);
    expect(frames).toHaveLength(2);
    expect(frames.every((f) => f.startsWith('data: {"candidates"'))).toBe(true);
  });

  test('lists and gets models', async () => {
    const names: string[] = [];
    for await (const model of await client().models.list()) names.push(model.name ?? '');
    expect(names).toEqual(['models/gemini-2.5-flash', 'models/gemini-2.5-pro']);
    const model = await client().models.get({ model: 'gemini-2.5-pro' });
    expect(model).toMatchObject({ name: 'models/gemini-2.5-pro', inputTokenLimit: 1_048_576 });
  });
});

describe('Gemini errors', () => {
  test('an unknown model is a 404 NOT_FOUND ApiError', async () => {
    const error = await client()
      .models.generateContent({ ...params('hi'), model: 'gemini-0' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(404);
    expect(JSON.parse((error as ApiError).message)).toMatchObject({
      error: { code: 404, status: 'NOT_FOUND' },
    });
  });

  test('a missing key is 403 PERMISSION_DENIED and a wrong one 400 API_KEY_INVALID, as Google answers', async () => {
    const noKey = await fetch(`${fakes.geminiBaseUrl}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
    });
    expect(noKey.status).toBe(403);
    expect(await noKey.json()).toMatchObject({ error: { code: 403, status: 'PERMISSION_DENIED' } });

    const strict = await startProviderFakes({ apiKeys: ['AIza-good'], tokensPerSecond: 20_000 });
    try {
      const bad = await client({ apiKey: 'AIza-bad', baseUrl: strict.geminiBaseUrl })
        .models.generateContent(params('hi'))
        .catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(ApiError);
      expect((bad as ApiError).status).toBe(400);
      expect((bad as ApiError).message).toContain('API_KEY_INVALID');
      const viaQuery = await fetch(`${strict.geminiBaseUrl}/v1beta/models?key=AIza-good`);
      expect(viaQuery.status).toBe(200);
    } finally {
      await strict.close();
    }
  });
});

describe('Gemini faults', () => {
  test('rate-limit is a 429 RESOURCE_EXHAUSTED with a RetryInfo delay and retry-after', async () => {
    const error = await client()
      .models.generateContent(params('hi [[fault:rate-limit]] [[retry-after:4]]'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(429);
    expect(JSON.parse((error as ApiError).message)).toMatchObject({
      error: { status: 'RESOURCE_EXHAUSTED', details: [{ retryDelay: '4s' }] },
    });
    const raw = await fetch(`${fakes.geminiBaseUrl}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': 'k', 'x-fake-fault': 'rate-limit' },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('1');
  });

  test('rate-limit-once succeeds with the SDK retry on', async () => {
    const before = fakes.stats();
    const prompt = `once ${Math.random()} [[fault:rate-limit-once]]`;
    const response = await client({ retry: true }).models.generateContent(params(prompt));
    expect(response.text).toBe(fakeReply(prompt));
    const after = fakes.stats();
    expect(after.requests.gemini - before.requests.gemini).toBe(2);
    expect((after.faults['gemini:rate-limit'] ?? 0) - (before.faults['gemini:rate-limit'] ?? 0)).toBe(1);
  });

  test('server-error is a 500 INTERNAL; overloaded a 503 UNAVAILABLE', async () => {
    const server = await client()
      .models.generateContent(params('hi [[fault:server-error]]'))
      .catch((e: unknown) => e);
    expect(server).toMatchObject({ status: 500, message: expect.stringContaining('INTERNAL') });
    const overloaded = await client()
      .models.generateContent(params('hi [[fault:overloaded]]'))
      .catch((e: unknown) => e);
    expect(overloaded).toBeInstanceOf(ApiError);
    expect(overloaded).toMatchObject({ status: 503, message: expect.stringContaining('UNAVAILABLE') });
  });

  test('error-mid-stream sends an error frame after a 200 and some text', async () => {
    const prompt = 'Explain [[fault:error-mid-stream]] [[fault-after:5]]';
    const { text, error } = await drain(await client().models.generateContentStream(params(prompt)));
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(500);
    expect(text).toBe(fakeReply(prompt, 5));
  });

  test('drop-mid-stream fails the iteration with a connection error, not counted as an abort', async () => {
    const before = fakes.stats();
    const prompt = 'Explain [[fault:drop-mid-stream]] [[fault-after:3]]';
    const { text, error } = await drain(await client().models.generateContentStream(params(prompt)));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toBe('terminated');
    expect(text).toBe(fakeReply(prompt, 3));
    expect(fakes.stats().abortedByVendor.gemini).toBe(before.abortedByVendor.gemini);
  });

  test('never-ends stays open until the client aborts, and the fake counts the abort', async () => {
    const before = fakes.stats().abortedByVendor.gemini;
    const controller = new AbortController();
    const stream = await client().models.generateContentStream(
      params('Wait [[fault:never-ends]] [[fault-after:2]]', { abortSignal: controller.signal }),
    );
    let chunks = 0;
    const iteration = (async () => {
      for await (const _ of stream) chunks += 1;
    })();
    await vi.waitFor(() => expect(chunks).toBe(2));
    controller.abort();
    await expect(iteration).rejects.toMatchObject({ name: 'AbortError' });
    await vi.waitFor(() => expect(fakes.stats().abortedByVendor.gemini).toBe(before + 1));
  });
});
