import OpenAI, {
  APIConnectionError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
} from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsStreaming,
} from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { fakeReply } from '../generation.ts';
import { type ProviderFakes, startProviderFakes } from '../server.ts';
import { countTokens } from '../tokens.ts';

// Fast enough that a 40-token reply costs ~2 ms; the pacing itself is tested in server.test.ts.
let fakes: ProviderFakes;
beforeAll(async () => {
  fakes = await startProviderFakes({ tokensPerSecond: 20_000 });
});
afterAll(() => fakes.close());

const client = (options: { maxRetries?: number; apiKey?: string } = {}) =>
  new OpenAI({ apiKey: 'sk-test', baseURL: fakes.openaiBaseUrl, maxRetries: 0, ...options });

const SYSTEM = 'You are a terse assistant.';

function streamParams(content: string, extra: Partial<ChatCompletionCreateParamsStreaming> = {}) {
  return {
    model: 'gpt-4o',
    stream: true as const,
    messages: [
      { role: 'system' as const, content: SYSTEM },
      { role: 'user' as const, content },
    ],
    ...extra,
  };
}

/** Iterates a stream, keeping what arrived before any error. */
async function drain(stream: AsyncIterable<ChatCompletionChunk>) {
  const chunks: ChatCompletionChunk[] = [];
  let error: unknown;
  try {
    for await (const chunk of stream) chunks.push(chunk);
  } catch (e) {
    error = e;
  }
  const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  return { chunks, text, error };
}

describe('OpenAI chat completions', () => {
  test('a non-streamed completion is the deterministic reply, with usage counted as the fake counts', async () => {
    const prompt = 'Tell me about tenants.';
    const completion = await client().chat.completions.create({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: SYSTEM },
        { role: 'user', content: prompt },
      ],
    });
    expect(completion.id).toMatch(/^chatcmpl-[A-Za-z0-9]{29}$/);
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('gpt-4o-2024-08-06');
    expect(completion.created).toBeCloseTo(Date.now() / 1000, -1);
    const [choice] = completion.choices;
    expect(choice?.message.role).toBe('assistant');
    expect(choice?.message.content).toBe(fakeReply(prompt));
    expect(choice?.finish_reason).toBe('stop');
    expect(completion.usage).toMatchObject({
      prompt_tokens: countTokens(SYSTEM) + countTokens(prompt),
      completion_tokens: 40,
      total_tokens: countTokens(SYSTEM) + countTokens(prompt) + 40,
    });
    expect(countTokens(choice?.message.content ?? '')).toBe(40);
  });

  test('the streamed deltas add up to the non-streamed text; chunks carry no usage unless asked', async () => {
    const prompt = 'Stream about rivers.';
    const whole = await client().chat.completions.create({ ...streamParams(prompt), stream: false });
    const { chunks, text, error } = await drain(await client().chat.completions.create(streamParams(prompt)));
    expect(error).toBeUndefined();
    expect(text).toBe(whole.choices[0]?.message.content);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'gpt-4o-2024-08-06')).toBe(
      true,
    );
    expect(chunks[0]?.choices[0]?.delta).toMatchObject({ role: 'assistant', content: '' });
    expect(chunks.at(-1)?.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    // One content delta per token.
    expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBe(whole.usage?.completion_tokens);
    expect(chunks.every((c) => !('usage' in c))).toBe(true);
  });

  test('stream_options.include_usage adds a final chunk with empty choices and the usage', async () => {
    const prompt = 'Count for me.';
    const whole = await client().chat.completions.create({ ...streamParams(prompt), stream: false });
    const { chunks, text } = await drain(
      await client().chat.completions.create(
        streamParams(prompt, { stream_options: { include_usage: true } }),
      ),
    );
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toEqual(whole.usage);
    expect(last?.usage?.completion_tokens).toBe(countTokens(text));
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  test('max_tokens and [[tokens:N]] set the length; a cut reply ends with finish_reason length', async () => {
    const prompt = 'Say a lot.';
    const cut = await client().chat.completions.create({
      ...streamParams(prompt),
      stream: false,
      max_tokens: 7,
    });
    expect(cut.choices[0]?.finish_reason).toBe('length');
    expect(cut.usage?.completion_tokens).toBe(7);
    expect(cut.choices[0]?.message.content).toBe(fakeReply(prompt, 7));
    expect(fakeReply(prompt).startsWith(fakeReply(prompt, 7))).toBe(true);

    const short = await client().chat.completions.create({
      ...streamParams(`${prompt} [[tokens:5]]`),
      stream: false,
      max_completion_tokens: 100,
    });
    expect(short.choices[0]?.finish_reason).toBe('stop');
    expect(short.choices[0]?.message.content).toBe(fakeReply(prompt, 5));
  });

  test('lists and retrieves models, aliases and snapshots alike', async () => {
    const ids: string[] = [];
    for await (const model of client().models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining(['gpt-4o', 'gpt-4o-2024-08-06', 'gpt-4o-mini']));
    const model = await client().models.retrieve('gpt-4o-mini');
    expect(model).toMatchObject({ id: 'gpt-4o-mini', object: 'model', owned_by: 'system' });
    await expect(client().models.retrieve('gpt-9')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('OpenAI errors', () => {
  test('an unknown model is a 404 model_not_found', async () => {
    const error = await client()
      .chat.completions.create({ ...streamParams('hi'), stream: false, model: 'gpt-unknown' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'model_not_found', type: 'invalid_request_error' });
  });

  test('a missing key is a 401 in OpenAI error shape', async () => {
    const error = await client()
      .chat.completions.create({ ...streamParams('hi'), stream: false }, { headers: { authorization: null } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).error).toMatchObject({
      message: expect.stringContaining("You didn't provide an API key"),
      type: 'invalid_request_error',
      param: null,
      code: null,
    });
  });

  test('with apiKeys configured, another key is a 401 invalid_api_key', async () => {
    const strict = await startProviderFakes({ apiKeys: ['sk-good'], tokensPerSecond: 20_000 });
    try {
      const sdk = (apiKey: string) => new OpenAI({ apiKey, baseURL: strict.openaiBaseUrl, maxRetries: 0 });
      const error = await sdk('sk-bad')
        .chat.completions.create({ ...streamParams('hi'), stream: false })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(error).toMatchObject({ code: 'invalid_api_key' });
      const ok = await sdk('sk-good').chat.completions.create({ ...streamParams('hi'), stream: false });
      expect(ok.choices[0]?.message.content).toBe(fakeReply('hi'));
    } finally {
      await strict.close();
    }
  });

  test('an unknown fault directive, a context overflow and an oversized max_tokens are 400s', async () => {
    await expect(
      client().chat.completions.create({ ...streamParams('hi [[fault:meteor]]'), stream: false }),
    ).rejects.toBeInstanceOf(BadRequestError);
    const overflow = await client()
      .chat.completions.create({ ...streamParams('word '.repeat(128_001)), stream: false })
      .catch((e: unknown) => e);
    expect(overflow).toMatchObject({ status: 400, code: 'context_length_exceeded', param: 'messages' });
    const tooMany = await client()
      .chat.completions.create({ ...streamParams('hi'), stream: false, max_tokens: 20_000 })
      .catch((e: unknown) => e);
    expect(tooMany).toMatchObject({ status: 400, param: 'max_tokens' });
  });
});

describe('OpenAI faults', () => {
  test('rate-limit is a 429 with retry-after that the SDK surfaces as RateLimitError', async () => {
    const error = await client()
      .chat.completions.create({
        ...streamParams('hi [[fault:rate-limit]] [[retry-after:7]]'),
        stream: false,
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    const rateLimit = error as RateLimitError;
    expect(rateLimit.headers.get('retry-after')).toBe('7');
    expect(rateLimit).toMatchObject({ status: 429, code: 'rate_limit_exceeded', type: 'requests' });
  });

  test('rate-limit-once fails the first attempt only, so the SDK retry succeeds', async () => {
    const before = fakes.stats();
    const prompt = `once ${Math.random()} [[fault:rate-limit-once]] [[retry-after:0]]`;
    const completion = await client({ maxRetries: 2 }).chat.completions.create({
      ...streamParams(prompt),
      stream: false,
    });
    expect(completion.choices[0]?.message.content).toBe(fakeReply(prompt));
    const after = fakes.stats();
    expect(after.requests.openai - before.requests.openai).toBe(2);
    expect((after.faults['openai:rate-limit'] ?? 0) - (before.faults['openai:rate-limit'] ?? 0)).toBe(1);
  });

  test('server-error is a 500 and overloaded a 503, both InternalServerError', async () => {
    const server = await client()
      .chat.completions.create({ ...streamParams('hi [[fault:server-error]]'), stream: false })
      .catch((e: unknown) => e);
    expect(server).toBeInstanceOf(InternalServerError);
    expect(server).toMatchObject({ status: 500, type: 'server_error' });
    const overloaded = await client()
      .chat.completions.create(streamParams('hi'), { headers: { 'x-fake-fault': 'overloaded' } })
      .catch((e: unknown) => e);
    expect(overloaded).toMatchObject({ status: 503 });
  });

  test('error-mid-stream sends some tokens after a 200, then an error the SDK raises during iteration', async () => {
    const prompt = 'Explain [[fault:error-mid-stream]] [[fault-after:6]]';
    const { text, error } = await drain(await client().chat.completions.create(streamParams(prompt)));
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).message).toContain('The server had an error');
    expect(text).toBe(fakeReply(prompt, 6));
    // Without streaming the same fault is a plain 500.
    await expect(
      client().chat.completions.create({ ...streamParams(prompt), stream: false }),
    ).rejects.toBeInstanceOf(InternalServerError);
  });

  test('drop-mid-stream cuts the connection: iteration fails with a connection error', async () => {
    const before = fakes.stats();
    const prompt = 'Explain [[fault:drop-mid-stream]]';
    const { text, error } = await drain(await client().chat.completions.create(streamParams(prompt)));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toBe('terminated');
    expect(text).toBe(fakeReply(prompt, 20));
    await expect(
      client().chat.completions.create({ ...streamParams(prompt), stream: false }),
    ).rejects.toBeInstanceOf(APIConnectionError);
    // The fake cut it, not the client: that is no abort.
    expect(fakes.stats().abortedByVendor.openai).toBe(before.abortedByVendor.openai);
  });

  test('never-ends goes silent until the client aborts, and the fake counts the abort', async () => {
    const before = fakes.stats().abortedByVendor.openai;
    const controller = new AbortController();
    const stream = await client().chat.completions.create(
      streamParams('Wait [[fault:never-ends]] [[fault-after:3]]'),
      {
        signal: controller.signal,
      },
    );
    let contentChunks = 0;
    const iteration = (async () => {
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) contentChunks += 1;
    })();
    await vi.waitFor(() => expect(contentChunks).toBe(3));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(contentChunks).toBe(3);
    expect(fakes.stats().inFlight).toBeGreaterThan(0);
    controller.abort();
    await iteration; // the SDK ends an aborted stream quietly
    await vi.waitFor(() => expect(fakes.stats().abortedByVendor.openai).toBe(before + 1));

    // A non-streamed request never answers either; aborting it is counted too.
    const waiting = new AbortController();
    const pending = client().chat.completions.create(
      { ...streamParams('Wait [[fault:never-ends]]'), stream: false },
      { signal: waiting.signal },
    );
    setTimeout(() => waiting.abort(), 50);
    await expect(pending).rejects.toBeInstanceOf(APIUserAbortError);
    await vi.waitFor(() => expect(fakes.stats().abortedByVendor.openai).toBe(before + 2));
  });
});
