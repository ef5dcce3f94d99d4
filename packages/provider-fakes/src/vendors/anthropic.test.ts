import Anthropic, {
  APIConnectionError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
} from '@anthropic-ai/sdk';
import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { fakeReply } from '../generation.ts';
import { type ProviderFakes, startProviderFakes } from '../server.ts';
import { countTokens } from '../tokens.ts';

let fakes: ProviderFakes;
beforeAll(async () => {
  fakes = await startProviderFakes({ tokensPerSecond: 20_000 });
});
afterAll(() => fakes.close());

const client = (options: { maxRetries?: number } = {}) =>
  new Anthropic({ apiKey: 'sk-ant-test', baseURL: fakes.anthropicBaseUrl, maxRetries: 0, ...options });

const SYSTEM = 'You are a careful assistant.';

const params = (content: string, maxTokens = 1024) => ({
  model: 'claude-sonnet-4-5',
  max_tokens: maxTokens,
  system: SYSTEM,
  messages: [{ role: 'user' as const, content }],
});

async function drain(stream: AsyncIterable<RawMessageStreamEvent>) {
  const events: RawMessageStreamEvent[] = [];
  let error: unknown;
  try {
    for await (const event of stream) events.push(event);
  } catch (e) {
    error = e;
  }
  const text = events
    .map((e) => (e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? e.delta.text : ''))
    .join('');
  return { events, text, error };
}

describe('Anthropic messages', () => {
  test('a non-streamed message is the deterministic reply, with usage', async () => {
    const prompt = 'Tell me about harbors.';
    const message = await client().messages.create(params(prompt));
    expect(message.id).toMatch(/^msg_01[1-9A-HJ-NP-Za-km-z]{22}$/);
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5-20250929',
      stop_reason: 'end_turn',
      stop_sequence: null,
      content: [{ type: 'text', text: fakeReply(prompt) }],
    });
    expect(message.usage).toMatchObject({
      input_tokens: countTokens(SYSTEM) + countTokens(prompt),
      output_tokens: 40,
    });
  });

  test('the stream runs message_start → content_block_start → deltas → stop → message_delta → message_stop', async () => {
    const prompt = 'Stream about lanterns.';
    const whole = await client().messages.create(params(prompt));
    const { events, text, error } = await drain(
      await client().messages.create({ ...params(prompt), stream: true }),
    );
    expect(error).toBeUndefined();
    expect(text).toBe((whole.content[0] as { text: string }).text);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('message_start');
    expect(types[1]).toBe('content_block_start');
    expect(types.slice(2, -3).every((t) => t === 'content_block_delta')).toBe(true);
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    const start = events[0] as Extract<RawMessageStreamEvent, { type: 'message_start' }>;
    expect(start.message.usage.input_tokens).toBe(whole.usage.input_tokens);
    const delta = events.at(-2) as Extract<RawMessageStreamEvent, { type: 'message_delta' }>;
    expect(delta.delta.stop_reason).toBe('end_turn');
    expect(delta.usage.output_tokens).toBe(whole.usage.output_tokens);
    expect(delta.usage.output_tokens).toBe(countTokens(text));
  });

  test('the SDK MessageStream helper assembles the same final message', async () => {
    const prompt = 'Assemble [[tokens:9]]';
    const final = await client()
      .messages.stream({ ...params(prompt, 6) })
      .finalMessage();
    expect(final.content).toEqual([expect.objectContaining({ type: 'text', text: fakeReply(prompt, 6) })]);
    expect(final.stop_reason).toBe('max_tokens');
    expect(final.usage.output_tokens).toBe(6);
  });

  test('the wire carries a ping after content_block_start, as named SSE events', async () => {
    const response = await fetch(`${fakes.anthropicBaseUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'k', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ ...params('ping me [[tokens:2]]'), stream: true }),
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const names = [...(await response.text()).matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    expect(names).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
  });

  test('lists and retrieves models by snapshot id, and an alias resolves', async () => {
    const ids: string[] = [];
    for await (const model of client().models.list()) ids.push(model.id);
    expect(ids).toEqual(['claude-haiku-4-5-20251001', 'claude-sonnet-4-5-20250929']);
    const model = await client().models.retrieve('claude-haiku-4-5');
    expect(model).toMatchObject({
      id: 'claude-haiku-4-5-20251001',
      type: 'model',
      display_name: 'Claude Haiku 4.5',
    });
  });
});

describe('Anthropic errors', () => {
  test('an unknown model is a 404 not_found_error', async () => {
    const error = await client()
      .messages.create({ ...params('hi'), model: 'claude-unknown' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).error).toMatchObject({
      type: 'error',
      error: { type: 'not_found_error', message: 'model: claude-unknown' },
    });
  });

  test('a missing key or anthropic-version header is refused in Anthropic error shape', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${fakes.anthropicBaseUrl}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(params('hi')),
      });
    const noKey = await post({ 'anthropic-version': '2023-06-01' });
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toMatchObject({
      type: 'error',
      error: { type: 'authentication_error', message: 'x-api-key header is required' },
    });
    const noVersion = await post({ 'x-api-key': 'k' });
    expect(noVersion.status).toBe(400);
    expect(await noVersion.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });

  test('with apiKeys configured, another key is an AuthenticationError', async () => {
    const strict = await startProviderFakes({ apiKeys: ['sk-ant-good'], tokensPerSecond: 20_000 });
    try {
      const sdk = new Anthropic({ apiKey: 'sk-ant-bad', baseURL: strict.anthropicBaseUrl, maxRetries: 0 });
      const error = await sdk.messages.create(params('hi')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(error).toMatchObject({ status: 401, type: 'authentication_error' });
    } finally {
      await strict.close();
    }
  });

  test('a missing max_tokens and an oversized one are 400 invalid_request_error', async () => {
    const missing = await client()
      .messages.create({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] } as never)
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(BadRequestError);
    expect((missing as BadRequestError).message).toContain('max_tokens: Field required');
    // Streaming, because the SDK itself refuses a non-streamed request this large.
    const tooMany = await client()
      .messages.create({ ...params('hi', 100_000), stream: true })
      .catch((e: unknown) => e);
    expect(tooMany).toMatchObject({ status: 400, type: 'invalid_request_error' });
  });
});

describe('Anthropic faults', () => {
  test('rate-limit is a 429 rate_limit_error with retry-after', async () => {
    const error = await client()
      .messages.create(params('hi [[fault:rate-limit]] [[retry-after:3]]'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).headers?.get('retry-after')).toBe('3');
    expect(error).toMatchObject({ status: 429, type: 'rate_limit_error' });
  });

  test('rate-limit-once succeeds through the SDK retry', async () => {
    const before = fakes.stats();
    const prompt = `once ${Math.random()} [[fault:rate-limit-once]] [[retry-after:0]]`;
    const message = await client({ maxRetries: 2 }).messages.create(params(prompt));
    expect(message.content).toEqual([expect.objectContaining({ text: fakeReply(prompt) })]);
    const after = fakes.stats();
    expect(after.requests.anthropic - before.requests.anthropic).toBe(2);
    expect((after.faults['anthropic:rate-limit'] ?? 0) - (before.faults['anthropic:rate-limit'] ?? 0)).toBe(
      1,
    );
  });

  test('server-error is a 500 api_error; overloaded is a 529 overloaded_error', async () => {
    const server = await client()
      .messages.create(params('hi [[fault:server-error]]'))
      .catch((e: unknown) => e);
    expect(server).toBeInstanceOf(InternalServerError);
    expect(server).toMatchObject({ status: 500, type: 'api_error' });
    const overloaded = await client()
      .messages.create(params('hi'), { headers: { 'x-fake-fault': 'overloaded' } })
      .catch((e: unknown) => e);
    expect(overloaded).toBeInstanceOf(InternalServerError);
    expect(overloaded).toMatchObject({ status: 529, type: 'overloaded_error' });
  });

  test('error-mid-stream sends an error event after a 200 and some deltas', async () => {
    const prompt = 'Explain [[fault:error-mid-stream]] [[fault-after:4]]';
    const { events, text, error } = await drain(
      await client().messages.create({ ...params(prompt), stream: true }),
    );
    expect(error).toBeInstanceOf(APIError);
    expect(error).toMatchObject({ type: 'overloaded_error' });
    expect(text).toBe(fakeReply(prompt, 4));
    expect(events.some((e) => e.type === 'message_stop')).toBe(false);
  });

  test('drop-mid-stream is a connection error during iteration, not an abort', async () => {
    const before = fakes.stats();
    const prompt = 'Explain [[fault:drop-mid-stream]] [[tokens:10]]';
    const { text, error } = await drain(await client().messages.create({ ...params(prompt), stream: true }));
    expect(error).toBeInstanceOf(APIConnectionError);
    expect(text).toBe(fakeReply(prompt, 5));
    await expect(client().messages.create(params(prompt))).rejects.toBeInstanceOf(APIConnectionError);
    expect(fakes.stats().abortedByVendor.anthropic).toBe(before.abortedByVendor.anthropic);
  });

  test('never-ends is ended by the client abort, which the fake counts', async () => {
    const before = fakes.stats().abortedByVendor.anthropic;
    const controller = new AbortController();
    const stream = await client().messages.create(
      { ...params('Wait [[fault:never-ends]] [[fault-after:2]]'), stream: true },
      { signal: controller.signal },
    );
    let deltas = 0;
    const iteration = (async () => {
      for await (const event of stream) if (event.type === 'content_block_delta') deltas += 1;
    })();
    await vi.waitFor(() => expect(deltas).toBe(2));
    controller.abort();
    await iteration;
    await vi.waitFor(() => expect(fakes.stats().abortedByVendor.anthropic).toBe(before + 1));

    const waiting = new AbortController();
    const pending = client().messages.create(params('Wait [[fault:never-ends]]'), { signal: waiting.signal });
    setTimeout(() => waiting.abort(), 50);
    await expect(pending).rejects.toBeInstanceOf(APIUserAbortError);
    await vi.waitFor(() => expect(fakes.stats().abortedByVendor.anthropic).toBe(before + 2));
  });
});
