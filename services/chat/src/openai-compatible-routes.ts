import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import { authenticatedErrors, type RequestIdentity, TenantHeaders } from '@tenantry/identity';
import { ERROR_CODES, errorResponses, HttpError } from '@tenantry/service-kit';
import { planUnknown, providerFailed, unknownModel } from './chat-errors.ts';
import { type ExchangeDeps, type ExchangeResult, runExchange } from './chat-exchange.ts';
import { abandon, isAbort } from './chat-routes.ts';
import { MESSAGE_MAX_LENGTH } from './chat-schemas.ts';
import type { NewConversation } from './conversation-store.ts';
import type { ModelCatalogue } from './model-catalogue.ts';
import { fitRequest } from './model-resolution.ts';
import type { ProviderMessage } from './providers/index.ts';
import { clientGone, SseStream } from './sse.ts';

/**
 * An OpenAI-compatible face (as LiteLLM and OpenRouter offer): code written for the official
 * `openai` SDK works by pointing its base URL at `/api/chat/v1` and passing the user's access token as
 * its API key. Any enabled provider's model is routed by id, under the same quota and accounting as
 * POST /api/chat; each completion is stored as a conversation of its own that the conversation list
 * leaves out. Parameters the platform does not act on (temperature, top_p, ...) are accepted and
 * ignored, as the fakes and several real gateways do.
 */

const Content = Type.Union([
  Type.String({ maxLength: MESSAGE_MAX_LENGTH }),
  Type.Array(Type.Object({ type: Type.String(), text: Type.Optional(Type.String()) })),
]);
const ChatMessage = Type.Object({
  role: Type.Union([
    Type.Literal('system'),
    Type.Literal('developer'),
    Type.Literal('user'),
    Type.Literal('assistant'),
  ]),
  content: Type.Union([Content, Type.Null()]),
});
const CompletionBody = Type.Object({
  model: Type.String({ minLength: 1, maxLength: 200 }),
  messages: Type.Array(ChatMessage, { minItems: 1, maxItems: 1000 }),
  max_tokens: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
  max_completion_tokens: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
  stream: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  stream_options: Type.Optional(
    Type.Union([Type.Object({ include_usage: Type.Optional(Type.Boolean()) }), Type.Null()]),
  ),
});
type CompletionBody = Static<typeof CompletionBody>;

const Completion = Type.Object({
  id: Type.String(),
  object: Type.Literal('chat.completion'),
  created: Type.Integer(),
  model: Type.String(),
  choices: Type.Array(
    Type.Object({
      index: Type.Integer(),
      message: Type.Object({
        role: Type.Literal('assistant'),
        content: Type.String(),
        refusal: Type.Null(),
      }),
      finish_reason: Type.String(),
      logprobs: Type.Null(),
    }),
  ),
  usage: Type.Object({
    prompt_tokens: Type.Integer(),
    completion_tokens: Type.Integer(),
    total_tokens: Type.Integer(),
  }),
});

const ModelObjects = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(
    Type.Object({
      id: Type.String(),
      object: Type.Literal('model'),
      created: Type.Integer(),
      owned_by: Type.String(),
    }),
  ),
});

export interface OpenAiCompatibleOptions {
  identity: RequestIdentity;
  catalogue: ModelCatalogue;
  exchange: ExchangeDeps;
}

function textOf(content: Static<typeof Content> | null): string {
  if (content === null) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' ? (part.text ?? '') : '')).join('');
}

/** The request's turns: system/developer texts joined as the system prompt, the last user turn as the prompt. */
function splitMessages(messages: CompletionBody['messages']) {
  const last = messages.at(-1);
  if (last?.role !== 'user' || textOf(last.content).trim() === '') {
    throw new HttpError(
      400,
      ERROR_CODES.VALIDATION_FAILED,
      'the last message must be a user message with text',
      {
        field: `/body/messages/${messages.length - 1}`,
      },
    );
  }
  const system = messages
    .filter((m) => m.role === 'system' || m.role === 'developer')
    .map((m) => textOf(m.content))
    .join('\n\n');
  const history: ProviderMessage[] = messages
    .slice(0, -1)
    .filter((m) => m.role === 'user' || m.role === 'assistant')
    .map((m) => ({ role: m.role === 'assistant' ? 'assistant' : 'user', content: textOf(m.content) }));
  return { system: system === '' ? null : system, history, prompt: textOf(last.content) };
}

function finishReason(result: ExchangeResult): string {
  return result.status === 'truncated' ? 'length' : 'stop';
}

export const openAiCompatibleRoutes: FastifyPluginAsyncTypebox<OpenAiCompatibleOptions> = async (
  app,
  options,
) => {
  const { identity, catalogue, exchange } = options;

  app.get(
    '/api/chat/v1/models',
    {
      schema: {
        summary: 'OpenAI-compatible: the models this tenant may use',
        headers: TenantHeaders,
        response: { 200: ModelObjects, ...authenticatedErrors },
      },
    },
    async (request) => {
      await identity.caller(request);
      return {
        object: 'list' as const,
        data: catalogue
          .list()
          .map((m) => ({ id: m.id, object: 'model' as const, created: 0, owned_by: m.provider })),
      };
    },
  );

  app.post(
    '/api/chat/v1/chat/completions',
    {
      schema: {
        summary: 'OpenAI-compatible chat completions, streamed or not, routed by model id',
        description:
          'Streams are data-only SSE ending with `data: [DONE]`; `stream_options.include_usage` adds the usage chunk.',
        headers: TenantHeaders,
        body: CompletionBody,
        response: { 200: Completion, ...errorResponses(400, 401, 403, 404, 413, 429, 502, 503) },
      },
    },
    async (request, reply) => {
      const caller = await identity.caller(request);
      const body = request.body;
      const model = catalogue.findById(body.model);
      if (!model) throw unknownModel('any enabled provider', body.model, '/body/model');
      const { system, history, prompt } = splitMessages(body.messages);
      const maxTokens = fitRequest(
        model,
        { system, history, prompt, maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined },
        { maxTokens: '/body/max_tokens', message: '/body/messages' },
      );
      if (exchange.quotas.monthlyTokens(caller.tenant) === undefined) throw planUnknown(caller.tenant);
      const conversationId = randomUUID();
      const newConversation: NewConversation = {
        userId: caller.sub,
        title: 'API completion',
        provider: model.provider,
        model: model.id,
        systemPrompt: system,
        source: 'api',
      };
      const id = `chatcmpl-${randomUUID().replaceAll('-', '')}`;
      const created = Math.floor(Date.now() / 1000);
      const signal = clientGone(reply);
      const run = (onText?: (text: string) => void) =>
        runExchange(exchange, {
          tenant: caller.tenant,
          userId: caller.sub,
          conversationId,
          newConversation,
          model,
          system,
          history,
          prompt,
          maxTokens,
          signal,
          ...(onText ? { onText } : {}),
        });

      if (!body.stream) {
        let result: ExchangeResult;
        try {
          result = await run();
        } catch (error) {
          if (isAbort(error)) return abandon(reply);
          throw error;
        }
        if (result.failure) throw providerFailed(result.failure);
        return {
          id,
          object: 'chat.completion' as const,
          created,
          model: model.id,
          choices: [
            {
              index: 0,
              message: { role: 'assistant' as const, content: result.reply, refusal: null },
              finish_reason: finishReason(result),
              logprobs: null,
            },
          ],
          usage: {
            prompt_tokens: result.inputTokens,
            completion_tokens: result.outputTokens,
            total_tokens: result.inputTokens + result.outputTokens,
          },
        };
      }

      const includeUsage = body.stream_options?.include_usage === true;
      const chunk = (choices: unknown[], usage?: unknown) => ({
        id,
        object: 'chat.completion.chunk',
        created,
        model: model.id,
        choices,
        ...(includeUsage ? { usage: usage ?? null } : {}),
      });
      const sse = new SseStream(reply);
      let first = true;
      let result: ExchangeResult;
      try {
        result = await run((text) => {
          const delta = first ? { role: 'assistant', content: text } : { content: text };
          first = false;
          sse.send(undefined, chunk([{ index: 0, delta, finish_reason: null, logprobs: null }]));
        });
      } catch (error) {
        if (isAbort(error)) return abandon(reply);
        if (!sse.started) throw error;
        request.log.error({ err: error }, 'a streamed completion failed after it started');
        sse.send(undefined, { error: { message: 'internal error', type: 'server_error', code: 'INTERNAL' } });
        sse.end();
        return reply;
      }
      if (result.failure) {
        // OpenAI's own mid-stream error frame, which its SDK raises as an APIError.
        const failed = providerFailed(result.failure);
        sse.send(undefined, { error: { message: failed.message, type: 'server_error', code: failed.code } });
        sse.end();
        return reply;
      }
      sse.send(
        undefined,
        chunk([{ index: 0, delta: {}, finish_reason: finishReason(result), logprobs: null }]),
      );
      if (includeUsage) {
        sse.send(
          undefined,
          chunk([], {
            prompt_tokens: result.inputTokens,
            completion_tokens: result.outputTokens,
            total_tokens: result.inputTokens + result.outputTokens,
          }),
        );
      }
      sse.send(undefined, '[DONE]');
      sse.end();
      return reply;
    },
  );
};
