import { randomUUID } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import { uniqueName, until } from '@tenantry/devstack/testing';
import { ChatConversationCreated, ChatMessageCompleted, ChatQuotaThresholdReached } from '@tenantry/events';
import { TENANT_HEADER } from '@tenantry/identity';
import { countTokens, fakeReply } from '@tenantry/provider-fakes';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { estimateRequestInput } from './chat-exchange.ts';
import {
  type Caller,
  type ChatHarness,
  call,
  headersOf,
  outboxEvents,
  readSse,
  SMALL_CONTEXT_MODEL,
  signIn,
  startChatHarness,
} from './test-support.ts';
import { inputReservation } from './token-estimate.ts';

/**
 * The chat service end to end: tenants onboarded by the real operator on Plans of this file, the
 * service talking to the provider fakes through the official SDKs, requests over a real socket.
 */

const EVENTUALLY = { timeout: 30_000, interval: 100 };
const BIG = 50_000_000;

/** The race: each request reserves exactly this much; the quota covers RACE_ALLOWED of them. */
// Slow replies (5 s): every reservation is taken before the first success settles and frees its unused part.
const RACE_PROMPT = 'race to the quota [[tokens:20]][[rate:4]]';
const RACE_MAX_TOKENS = 20;
const RACE_RESERVATION = inputReservation(estimateRequestInput(null, [], RACE_PROMPT)) + RACE_MAX_TOKENS;
const RACE_ALLOWED = 10;
const RACE_REQUESTS = 200;

// Value.Check knows only taught formats; the payloads' instants are date-times.

let c: ChatHarness;
let tenantA: string;
let tenantB: string;
let tenantQ: string;
let planB: string;
let planQ: string;

beforeAll(async () => {
  const planA = uniqueName('chat-a');
  planB = uniqueName('chat-b');
  planQ = uniqueName('chat-q');
  c = await startChatHarness(
    { [planA]: BIG, [planB]: BIG, [planQ]: RACE_ALLOWED * RACE_RESERVATION },
    { 'chat-a': planA, 'chat-b': planB, 'chat-q': planQ },
  );
  [tenantA, tenantB, tenantQ] = ['chat-a', 'chat-b', 'chat-q'].map(
    (prefix) => c.tenants[prefix] as string,
  ) as [string, string, string];
  // The plan watch knows a tenant's plan once it has seen the tenant's Ingress.
  for (const tenant of [tenantA, tenantB, tenantQ]) {
    const someone = await signIn(c.signer, tenant);
    await until(
      `the plan of ${tenant}`,
      async () => (await call(c.url, someone, 'GET', '/api/chat/usage')).status === 200,
    );
  }
});

afterAll(async () => {
  await c?.stop();
});

const user = (tenant = tenantA) => signIn(c.signer, tenant);
const send = (who: Caller, body: Record<string, unknown>) => call(c.url, who, 'POST', '/api/chat', body);

async function stream(who: Caller, body: Record<string, unknown>, signal?: AbortSignal) {
  return fetch(`${c.url}/api/chat`, {
    method: 'POST',
    headers: { ...headersOf(who), 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }),
    ...(signal ? { signal } : {}),
  });
}

async function usage(who: Caller) {
  return (await call(c.url, who, 'GET', '/api/chat/usage')).body;
}

async function storedMessage(tenant: string, id: string) {
  const [row] = await c.runtime.databases.sql(tenant)<
    { status: string; estimated: boolean; inputTokens: number; outputTokens: number; content: string }[]
  >`
    select status, estimated, input_tokens as "inputTokens", output_tokens as "outputTokens", content
    from messages where id = ${id}
  `;
  return row;
}

async function lastAssistantMessage(tenant: string, conversationId: string) {
  const [row] = await c.runtime.databases.sql(tenant)<
    {
      id: string;
      status: string;
      estimated: boolean;
      inputTokens: number;
      outputTokens: number;
      content: string;
    }[]
  >`
    select id, status, estimated, input_tokens as "inputTokens", output_tokens as "outputTokens", content
    from messages where conversation_id = ${conversationId} and role = 'assistant' order by created_at desc limit 1
  `;
  return row;
}

async function completedEvent(tenant: string, messageId: string) {
  const events = await outboxEvents(c.runtime, tenant, 'chat.message_completed');
  return events.find((e) => e.payload.messageId === messageId)?.payload;
}

describe('conversations', () => {
  test('create, read, list with cursor pages, rename, delete — and the events', async () => {
    const me = await user();
    const created = [];
    for (const title of ['first', 'second', 'third']) {
      const answer = await call(c.url, me, 'POST', '/api/chat/conversations', {
        title,
        provider: 'anthropic',
        model: 'claude-haiku-4-5',
        systemPrompt: 'Be brief.',
      });
      expect(answer.status).toBe(201);
      created.push(answer.body);
    }
    expect(created[0]).toMatchObject({ title: 'first', provider: 'anthropic', systemPrompt: 'Be brief.' });

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await call(
        c.url,
        me,
        'GET',
        `/api/chat/conversations?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((i: { title: string }) => i.title));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(['third', 'second', 'first']);

    const id = created[0].id;
    const renamed = await call(c.url, me, 'PATCH', `/api/chat/conversations/${id}`, {
      title: 'renamed',
      systemPrompt: null,
    });
    expect(renamed.body).toMatchObject({ id, title: 'renamed', systemPrompt: null });
    expect((await call(c.url, me, 'GET', `/api/chat/conversations/${id}`)).body).toMatchObject({
      title: 'renamed',
      messages: [],
      nextCursor: null,
    });

    expect((await call(c.url, me, 'DELETE', `/api/chat/conversations/${id}`)).status).toBe(204);
    expect((await call(c.url, me, 'GET', `/api/chat/conversations/${id}`)).status).toBe(404);
    const createdEvents = await outboxEvents(c.runtime, tenantA, 'chat.conversation_created');
    const mine = createdEvents.filter((e) => e.payload.userId === me.userId);
    expect(mine).toHaveLength(3);
    expect(mine.every((e) => Value.Check(ChatConversationCreated, e.payload))).toBe(true);
    const deleted = await outboxEvents(c.runtime, tenantA, 'chat.conversation_deleted');
    expect(deleted.map((e) => e.payload)).toContainEqual({ conversationId: id, userId: me.userId });
  });

  test("another user's conversation is 404 for every verb, and never listed", async () => {
    const owner = await user();
    const other = await user();
    const { body: conversation } = await call(c.url, owner, 'POST', '/api/chat/conversations', {
      title: 'private',
    });
    const path = `/api/chat/conversations/${conversation.id}`;
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { title: 'stolen' }],
      ['DELETE', undefined],
    ] as const) {
      const answer = await call(c.url, other, method, path, body);
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe('CONVERSATION_NOT_FOUND');
    }
    const sent = await send(other, {
      conversationId: conversation.id,
      message: 'hi',
      provider: 'openai',
      model: 'gpt-4o',
    });
    expect(sent.status).toBe(404);
    expect(sent.body.error).toMatchObject({ code: 'CONVERSATION_NOT_FOUND', field: '/body/conversationId' });
    expect((await call(c.url, other, 'GET', '/api/chat/conversations')).body.items).toEqual([]);
    expect((await call(c.url, owner, 'GET', path)).body.title).toBe('private');
  });

  test("tenant A's token is refused at tenant B; B's user never reaches A's conversation", async () => {
    const ofA = await user(tenantA);
    const { body: conversation } = await call(c.url, ofA, 'POST', '/api/chat/conversations', {
      title: 'of A',
    });
    const atB = await call(c.url, ofA, 'GET', '/api/chat/conversations', undefined, tenantB);
    expect(atB.status).toBe(401);
    expect(atB.body.error.code).toBe('TOKEN_INVALID');
    const ofB = await user(tenantB);
    expect((await call(c.url, ofB, 'GET', `/api/chat/conversations/${conversation.id}`)).status).toBe(404);
  });
});

describe('POST /api/chat', () => {
  test.each([
    { provider: 'openai', model: 'gpt-4o' },
    { provider: 'anthropic', model: 'claude-sonnet-4-5' },
    { provider: 'google', model: 'gemini-2.5-flash' },
  ])(
    '$provider answers through its SDK; usage, cost, message and event recorded',
    async ({ provider, model }) => {
      const me = await user();
      const prompt = `Tell me about ${provider} [[tokens:12]]`;
      const answer = await send(me, { message: prompt, provider, model });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        provider,
        model,
        reply: fakeReply(prompt, 12),
        status: 'completed',
        usage: { inputTokens: countTokens(prompt), outputTokens: 12, estimated: false },
      });
      expect(answer.body.costMicroUsd).toBeGreaterThan(0);

      const { body: conversation } = await call(
        c.url,
        me,
        'GET',
        `/api/chat/conversations/${answer.body.conversationId}`,
      );
      expect(
        conversation.messages.map((m: { role: string; content: string }) => [m.role, m.content]),
      ).toEqual([
        ['user', prompt],
        ['assistant', fakeReply(prompt, 12)],
      ]);
      const event = await completedEvent(tenantA, answer.body.messageId);
      expect(Value.Check(ChatMessageCompleted, event)).toBe(true);
      expect(event).toMatchObject({
        conversationId: answer.body.conversationId,
        userId: me.userId,
        provider,
        model,
        inputTokens: countTokens(prompt),
        outputTokens: 12,
        estimated: false,
        costMicroUsd: answer.body.costMicroUsd,
        status: 'completed',
      });
    },
  );

  test('a conversation keeps its history and defaults; maxTokens truncates', async () => {
    const me = await user();
    const { body: conversation } = await call(c.url, me, 'POST', '/api/chat/conversations', {
      title: 'defaults',
      provider: 'google',
      model: 'gemini-2.5-pro',
      systemPrompt: 'system words',
    });
    const first = await send(me, { conversationId: conversation.id, message: 'one [[tokens:5]]' });
    expect(first.body).toMatchObject({ provider: 'google', model: 'gemini-2.5-pro', status: 'completed' });
    const second = await send(me, { conversationId: conversation.id, message: 'two', maxTokens: 3 });
    expect(second.body.status).toBe('truncated');
    // The fake counts every text it was sent: system prompt, both earlier turns, the new message.
    const expectedInput =
      countTokens('system words') +
      countTokens('one [[tokens:5]]') +
      countTokens(first.body.reply) +
      countTokens('two');
    expect(second.body.usage).toEqual({ inputTokens: expectedInput, outputTokens: 3, estimated: false });
  });

  test('SSE: delta events carry the reply as it comes, done carries usage', async () => {
    const me = await user();
    const prompt = 'stream it [[tokens:30]]';
    const response = await stream(me, { message: prompt, provider: 'anthropic', model: 'claude-haiku-4-5' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await readSse(response);
    const deltas = events.filter((e) => e.event === 'delta');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((e) => JSON.parse(e.data).text).join('')).toBe(fakeReply(prompt, 30));
    const done = events.at(-1);
    expect(done?.event).toBe('done');
    expect(JSON.parse(done?.data ?? '{}')).toMatchObject({
      status: 'completed',
      usage: { inputTokens: countTokens(prompt), outputTokens: 30, estimated: false },
    });
  });

  test.each<{ what: string; body: Record<string, unknown>; status: number; code: string; field: string }>([
    {
      what: 'an unknown provider',
      body: { message: 'x', provider: 'mistral', model: 'm' },
      status: 400,
      code: 'UNKNOWN_PROVIDER',
      field: '/body/provider',
    },
    {
      what: 'an unknown model',
      body: { message: 'x', provider: 'openai', model: 'gpt-9' },
      status: 400,
      code: 'UNKNOWN_MODEL',
      field: '/body/model',
    },
    {
      what: 'no provider at all',
      body: { message: 'x' },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: '/body/provider',
    },
    {
      what: 'an empty message',
      body: { message: '', provider: 'openai', model: 'gpt-4o' },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: '/body/message',
    },
    {
      what: 'a blank message',
      body: { message: '   ', provider: 'openai', model: 'gpt-4o' },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: '/body/message',
    },
    {
      what: 'an undeclared property',
      body: { message: 'x', provider: 'openai', model: 'gpt-4o', temperature: 1 },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: '/body/temperature',
    },
    {
      what: 'maxTokens above the model',
      body: { message: 'x', provider: 'openai', model: 'gpt-4o', maxTokens: 100_000 },
      status: 400,
      code: 'VALIDATION_FAILED',
      field: '/body/maxTokens',
    },
    {
      what: 'a message beyond the context window',
      body: {
        message: 'word '.repeat(SMALL_CONTEXT_MODEL.contextWindow),
        provider: SMALL_CONTEXT_MODEL.provider,
        model: SMALL_CONTEXT_MODEL.id,
      },
      status: 413,
      code: 'CONTEXT_TOO_LONG',
      field: '/body/message',
    },
  ])(
    'refuses $what: $status $code naming $field, without calling a provider',
    async ({ body, status, code, field }) => {
      const me = await user();
      const before = c.fakes.stats().requests;
      const answer = await send(me, body);
      expect(answer.status).toBe(status);
      expect(answer.body.error).toMatchObject({ code, field });
      expect(c.fakes.stats().requests).toEqual(before);
    },
  );

  test('GET /models lists every enabled model with context window and prices', async () => {
    const me = await user();
    const { body } = await call(c.url, me, 'GET', '/api/chat/models');
    expect(body.items).toHaveLength(6);
    expect(body.items).toContainEqual({
      provider: 'openai',
      id: SMALL_CONTEXT_MODEL.id,
      displayName: 'GPT-4o mini',
      contextWindow: SMALL_CONTEXT_MODEL.contextWindow,
      maxOutputTokens: 16384,
      pricing: { inputMicroUsdPerMillion: 150000, outputMicroUsdPerMillion: 600000 },
    });
  });
});

describe('provider faults', () => {
  test.each([
    { provider: 'openai', model: 'gpt-4o' },
    { provider: 'anthropic', model: 'claude-haiku-4-5' },
    { provider: 'google', model: 'gemini-2.5-flash' },
  ])(
    '$provider: a 429 before the first token is retried after its retry-after',
    async ({ provider, model }) => {
      const me = await user();
      const prompt = `limited ${randomUUID()} [[fault:rate-limit-once]][[retry-after:1]][[tokens:4]]`;
      const started = Date.now();
      const answer = await send(me, { message: prompt, provider, model });
      expect(answer.status).toBe(200);
      expect(answer.body.reply).toBe(fakeReply(prompt, 4));
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    },
  );

  test.each([
    {
      fault: 'overloaded',
      status: 503,
      code: 'PROVIDER_UNAVAILABLE',
      provider: 'anthropic',
      model: 'claude-haiku-4-5',
    },
    { fault: 'server-error', status: 502, code: 'PROVIDER_ERROR', provider: 'openai', model: 'gpt-4o' },
    {
      fault: 'rate-limit',
      status: 503,
      code: 'PROVIDER_UNAVAILABLE',
      provider: 'google',
      model: 'gemini-2.5-flash',
    },
  ])(
    '$provider $fault for good: $status $code, the reservation released, nothing stored',
    async ({ fault, status, code, provider, model }) => {
      const me = await user(tenantB);
      const answer = await send(me, { message: `down [[fault:${fault}]][[retry-after:0]]`, provider, model });
      expect(answer.status).toBe(status);
      expect(answer.body.error.code).toBe(code);
      const figures = await usage(me);
      expect(figures.reservedTokens).toBe(0);
      expect(figures.caller.usedTokens).toBe(0);
    },
  );

  test.each([
    { fault: 'error-mid-stream', provider: 'openai', model: 'gpt-4o' },
    { fault: 'error-mid-stream', provider: 'anthropic', model: 'claude-sonnet-4-5' },
    { fault: 'error-mid-stream', provider: 'google', model: 'gemini-2.5-flash' },
    { fault: 'drop-mid-stream', provider: 'openai', model: 'gpt-4o-mini' },
    { fault: 'drop-mid-stream', provider: 'anthropic', model: 'claude-haiku-4-5' },
    { fault: 'drop-mid-stream', provider: 'google', model: 'gemini-2.5-pro' },
  ])(
    '$provider $fault: error then done, usage estimated and never zero',
    async ({ fault, provider, model }) => {
      const me = await user();
      const prompt = `broken [[fault:${fault}]][[tokens:20]][[fault-after:6]]`;
      const events = await readSse(await stream(me, { message: prompt, provider, model }));
      const text = events
        .filter((e) => e.event === 'delta')
        .map((e) => JSON.parse(e.data).text)
        .join('');
      expect(text).toBe(fakeReply(prompt, 20).slice(0, text.length));
      expect(text.length).toBeGreaterThan(0);
      expect(events.find((e) => e.event === 'error')?.data).toContain('PROVIDER_');
      const done = JSON.parse(events.find((e) => e.event === 'done')?.data ?? '{}');
      expect(done).toMatchObject({ status: 'failed', usage: { estimated: true } });
      expect(done.usage.inputTokens).toBeGreaterThan(0);
      expect(done.usage.outputTokens).toBeGreaterThan(0);
      expect(await storedMessage(tenantA, done.messageId)).toMatchObject({
        status: 'failed',
        estimated: true,
        content: text,
      });
      expect(await completedEvent(tenantA, done.messageId)).toMatchObject({
        status: 'failed',
        estimated: true,
      });
    },
  );

  test('a client that disconnects mid-stream aborts the provider call; partial usage is recorded', async () => {
    const me = await user();
    const abortedBefore = c.fakes.stats().aborted;
    const controller = new AbortController();
    const response = await stream(
      me,
      {
        message: `endless [[fault:never-ends]][[tokens:50]][[fault-after:5]]`,
        provider: 'openai',
        model: 'gpt-4o',
      },
      controller.signal,
    );
    const events = await readSse(response, (e) => e.event === 'delta');
    expect(events.length).toBe(1);
    controller.abort();
    await expect.poll(() => c.fakes.stats().aborted, EVENTUALLY).toBe(abortedBefore + 1);
    const { body } = await call(c.url, me, 'GET', '/api/chat/conversations');
    const conversationId = body.items[0].id;
    await expect
      .poll(() => lastAssistantMessage(tenantA, conversationId), EVENTUALLY)
      .toMatchObject({
        status: 'aborted',
        estimated: true,
      });
    const row = await lastAssistantMessage(tenantA, conversationId);
    expect(row?.inputTokens).toBeGreaterThan(0);
    expect(await completedEvent(tenantA, row?.id ?? '')).toMatchObject({
      status: 'aborted',
      estimated: true,
    });
    expect((await usage(me)).reservedTokens).toBe(0);
  });
});

describe('quotas', () => {
  test(`${RACE_REQUESTS} concurrent requests on a quota for ${RACE_ALLOWED}: exactly ${RACE_ALLOWED} succeed, no overshoot`, async () => {
    const callers = await Promise.all(Array.from({ length: 20 }, () => user(tenantQ)));
    const answers = await Promise.all(
      Array.from({ length: RACE_REQUESTS }, (_, i) =>
        send(callers[i % callers.length] as Caller, {
          message: RACE_PROMPT,
          provider: 'openai',
          model: 'gpt-4o-mini',
          maxTokens: RACE_MAX_TOKENS,
        }),
      ),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(RACE_ALLOWED);
    expect(statuses.filter((s) => s === 429)).toHaveLength(RACE_REQUESTS - RACE_ALLOWED);
    const refused = answers.find((a) => a.status === 429);
    expect(refused?.body.error.code).toBe('QUOTA_EXCEEDED');
    expect(refused?.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused?.headers.get('x-quota-reset')).toMatch(/^\d{4}-\d{2}-01T00:00:00.000Z$/);

    const figures = await usage(callers[0] as Caller);
    const quota = RACE_ALLOWED * RACE_RESERVATION;
    expect(figures).toMatchObject({ quotaTokens: quota, reservedTokens: 0 });
    expect(figures.usedTokens).toBe(RACE_ALLOWED * (countTokens(RACE_PROMPT) + RACE_MAX_TOKENS));
    expect(figures.usedTokens).toBeLessThanOrEqual(quota);
    // The refusals announced the quota as reached, once.
    const reached = await outboxEvents(c.runtime, tenantQ, 'chat.quota_threshold_reached');
    expect(reached.map((e) => e.payload)).toEqual([
      expect.objectContaining({ threshold: 100, quotaTokens: quota, usedTokens: expect.any(Number) }),
    ]);
    expect(Value.Check(ChatQuotaThresholdReached, reached[0]?.payload)).toBe(true);
  });

  test('a plan change applies at once; 80% is announced when crossed', async () => {
    const me = await user(tenantB);
    const first = await send(me, { message: 'warm up [[tokens:5]]', provider: 'openai', model: 'gpt-4o' });
    expect(first.status).toBe(200);
    const used = (await usage(me)).usedTokens;
    // A quota that fits exactly this request's reservation: its usage then crosses 80% but not 100%.
    const prompt = 'cross eighty [[tokens:200]]';
    const reservation = inputReservation(estimateRequestInput(null, [], prompt)) + 200;
    const next = countTokens(prompt) + 200;
    const quota = used + reservation;
    expect((used + next) * 100).toBeGreaterThanOrEqual(quota * 80);
    await c.setPlanTokens(planB, quota);
    await expect.poll(async () => (await usage(me)).quotaTokens, EVENTUALLY).toBe(quota);
    expect(
      (await send(me, { message: prompt, provider: 'openai', model: 'gpt-4o', maxTokens: 200 })).status,
    ).toBe(200);
    const events = await outboxEvents(c.runtime, tenantB, 'chat.quota_threshold_reached');
    expect(events.map((e) => e.payload)).toEqual([
      expect.objectContaining({ threshold: 80, usedTokens: used + next, quotaTokens: quota }),
    ]);

    const refused = await send(me, { message: 'more', provider: 'openai', model: 'gpt-4o' });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-quota-remaining-tokens')).toBe(String(quota - used - next));
    await c.setPlanTokens(planB, BIG);
    await expect.poll(async () => (await usage(me)).quotaTokens, EVENTUALLY).toBe(BIG);
    expect((await send(me, { message: 'more', provider: 'openai', model: 'gpt-4o' })).status).toBe(200);
  });

  test('GET /usage: the period, the tenant figures and the caller’s own', async () => {
    const me = await user();
    await send(me, { message: 'count me [[tokens:7]]', provider: 'google', model: 'gemini-2.5-flash' });
    const figures = await usage(me);
    const now = new Date();
    expect(figures).toMatchObject({
      periodStart: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString(),
      resetsAt: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString(),
      quotaTokens: BIG,
      caller: { usedTokens: countTokens('count me [[tokens:7]]') + 7 },
    });
    expect(figures.remainingTokens).toBe(BIG - figures.usedTokens - figures.reservedTokens);
  });
});

describe('the OpenAI-compatible face, with the openai SDK as the client', () => {
  const client = (who: Caller) =>
    new OpenAI({
      apiKey: who.token,
      baseURL: `${c.url}/api/chat/v1`,
      defaultHeaders: { [TENANT_HEADER]: who.tenant },
      maxRetries: 0,
    });

  test('models.list and a non-streamed completion routed to Anthropic by model id', async () => {
    const me = await user();
    const openai = client(me);
    const models = [];
    for await (const model of openai.models.list()) models.push(model.id);
    expect(models).toEqual(expect.arrayContaining(['gpt-4o', 'claude-haiku-4-5', 'gemini-2.5-pro']));

    const prompt = 'compatible [[tokens:9]]';
    const completion = await openai.chat.completions.create({
      model: 'claude-haiku-4-5',
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: prompt },
      ],
      max_tokens: 50,
    });
    expect(completion.choices[0]?.message.content).toBe(fakeReply(prompt, 9));
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage).toEqual({
      prompt_tokens: countTokens('sys') + countTokens(prompt),
      completion_tokens: 9,
      total_tokens: countTokens('sys') + countTokens(prompt) + 9,
    });
    expect((await usage(me)).caller.usedTokens).toBe(completion.usage?.total_tokens);
    // Accounted like any other message, but not listed as a conversation.
    expect((await call(c.url, me, 'GET', '/api/chat/conversations')).body.items).toEqual([]);
  });

  test('a streamed completion with include_usage', async () => {
    const me = await user();
    const prompt = 'compatible stream [[tokens:15]]';
    const chunks = await client(me).chat.completions.create({
      model: 'gemini-2.5-flash',
      messages: [{ role: 'user', content: prompt }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let reported: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of chunks) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) reported = chunk.usage;
    }
    expect(text).toBe(fakeReply(prompt, 15));
    expect(reported).toEqual({
      prompt_tokens: countTokens(prompt),
      completion_tokens: 15,
      total_tokens: countTokens(prompt) + 15,
    });
  });

  test('errors reach the SDK as APIErrors with the stable code', async () => {
    const me = await user();
    const unknown = await client(me)
      .chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] })
      .catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(OpenAI.BadRequestError);
    expect((unknown as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('UNKNOWN_MODEL');
    const stranger = new OpenAI({
      apiKey: 'not-a-token',
      baseURL: `${c.url}/api/chat/v1`,
      defaultHeaders: { [TENANT_HEADER]: tenantA },
    });
    await expect(stranger.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });
});

test('GET /health and the OpenAPI document', async () => {
  const health = await fetch(`${c.url}/health`);
  expect(health.status).toBe(200);
  expect(await health.json()).toMatchObject({ status: 'healthy', service: 'chat' });
  const { paths } = (await (await fetch(`${c.url}/openapi.json`)).json()) as {
    paths: Record<string, unknown>;
  };
  expect(Object.keys(paths)).toEqual(
    expect.arrayContaining([
      '/api/chat',
      '/api/chat/conversations',
      '/api/chat/conversations/{id}',
      '/api/chat/models',
      '/api/chat/usage',
      '/api/chat/v1/chat/completions',
      '/api/chat/v1/models',
    ]),
  );
});
