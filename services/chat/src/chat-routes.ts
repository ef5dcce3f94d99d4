import { randomUUID } from 'node:crypto';
import { type FastifyPluginAsyncTypebox, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { TSchema } from '@sinclair/typebox';
import { authenticatedErrors, type RequestIdentity, TenantHeaders } from '@tenantry/identity';
import { decodeCursor, encodeCursor, errorResponses, HttpError, strictBody } from '@tenantry/service-kit';
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import { conversationNotFound, planUnknown, providerFailed } from './chat-errors.ts';
import { type ExchangeDeps, type ExchangeResult, runExchange } from './chat-exchange.ts';
import {
  Conversation,
  ConversationList,
  ConversationParams,
  ConversationWithMessages,
  CreateConversationBody,
  type Message,
  ModelList,
  PageQuery,
  SendMessageBody,
  SendMessageResult,
  TITLE_MAX_LENGTH,
  UpdateConversationBody,
  UsageReport,
} from './chat-schemas.ts';
import {
  conversationHistory,
  createConversation,
  deleteOwnConversation,
  findOwnConversation,
  listMessages,
  listOwnConversations,
  type NewConversation,
  updateOwnConversation,
} from './conversation-store.ts';
import type { ModelCatalogue } from './model-catalogue.ts';
import { fitRequest, resolveModel } from './model-resolution.ts';
import { ProviderCallError } from './providers/index.ts';
import { usageOf } from './quota-store.ts';
import type { ConversationRow, MessageRow } from './schema.ts';
import { clientGone, SseStream } from './sse.ts';
import { periodOf } from './usage-period.ts';

export interface ChatRoutesOptions {
  identity: RequestIdentity;
  catalogue: ModelCatalogue;
  exchange: ExchangeDeps;
}

/** 503: the tenant's database (or its plan) is unavailable for now. */
const unavailable = errorResponses(503);

/**
 * TypeBox rather than the app's AJV for bodies: AJV coerces types and strips undeclared properties
 * (Fastify's defaults); this compiler checks the body as it came (see the users service).
 */
const strictValidator = {
  validatorCompiler: (part: { schema: unknown }) =>
    TypeBoxValidatorCompiler({ ...part, schema: part.schema as TSchema } as never),
};

function toConversation(row: ConversationRow): Conversation {
  return {
    id: row.id,
    title: row.title,
    provider: row.provider,
    model: row.model,
    systemPrompt: row.systemPrompt,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    role: row.role === 'assistant' ? 'assistant' : 'user',
    content: row.content,
    provider: row.provider,
    model: row.model,
    usage:
      row.inputTokens === null || row.outputTokens === null
        ? null
        : { inputTokens: row.inputTokens, outputTokens: row.outputTokens, estimated: row.estimated ?? false },
    costMicroUsd: row.costMicroUsd,
    status: row.status as Message['status'],
    timeToFirstTokenMs: row.timeToFirstTokenMs,
    durationMs: row.durationMs,
    createdAt: row.createdAt.toISOString(),
  };
}

function toResult(result: ExchangeResult, provider: string, model: string): SendMessageResult {
  return {
    conversationId: result.conversationId,
    messageId: result.messageId,
    provider,
    model,
    reply: result.reply,
    status: result.status,
    usage: {
      inputTokens: result.inputTokens,
      outputTokens: result.outputTokens,
      estimated: result.estimated,
    },
    costMicroUsd: result.costMicroUsd,
    timeToFirstTokenMs: result.timeToFirstTokenMs,
    durationMs: result.durationMs,
  };
}

/** The error body an SSE `error` event carries: the same code and message a JSON answer would have. */
function sseError(error: unknown, log: FastifyBaseLogger): { code: string; message: string } {
  const http = error instanceof ProviderCallError ? providerFailed(error) : error;
  if (http instanceof HttpError) return { code: http.code, message: http.message };
  log.error({ err: error }, 'a streamed chat request failed after it started');
  return { code: 'INTERNAL', message: 'internal error' };
}

/** A title from the first message: its first line, shortened. */
function titleOf(message: string): string {
  const line = message.trim().split('\n')[0] ?? '';
  return line.length <= 80 ? line : `${line.slice(0, 79)}…`;
}

/**
 * The chat API. Every handler resolves the caller through identity and queries only the caller's
 * tenant's database, and within it only the caller's conversations: another user's id is a 404.
 */
export const chatRoutes: FastifyPluginAsyncTypebox<ChatRoutesOptions> = async (app, options) => {
  const { identity, catalogue, exchange } = options;
  const { databases } = exchange;

  app.get(
    '/api/chat/conversations',
    {
      schema: {
        summary: "The caller's conversations, newest first",
        description: 'Cursor-paginated: pass nextCursor as cursor until it is null.',
        headers: TenantHeaders,
        querystring: PageQuery,
        response: { 200: ConversationList, ...authenticatedErrors, ...unavailable },
      },
    },
    async (request): Promise<ConversationList> => {
      const caller = await identity.caller(request);
      const { limit, cursor } = request.query;
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      const { rows, more } = await listOwnConversations(
        databases.drizzle(caller.tenant),
        caller.sub,
        limit,
        after,
      );
      const last = rows.at(-1);
      return {
        items: rows.map(toConversation),
        nextCursor: more && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
      };
    },
  );

  app.post(
    '/api/chat/conversations',
    {
      schema: {
        summary: 'Starts a conversation',
        description:
          'provider and model, when given, are the defaults of POST /api/chat in this conversation.',
        headers: TenantHeaders,
        body: CreateConversationBody,
        response: { 201: Conversation, ...authenticatedErrors, ...unavailable },
      },
      ...strictValidator,
      preValidation: strictBody(CreateConversationBody),
    },
    async (request, reply) => {
      const caller = await identity.caller(request);
      const { title, provider, model, systemPrompt } = request.body;
      if (provider !== undefined || model !== undefined) resolveModel(catalogue, provider, model);
      const id = await createConversation(databases.sql(caller.tenant), caller.tenant, {
        userId: caller.sub,
        title: title.trim(),
        provider: provider ?? null,
        model: model ?? null,
        systemPrompt: systemPrompt ?? null,
      });
      const row = await findOwnConversation(databases.drizzle(caller.tenant), caller.sub, id);
      if (!row) throw new Error(`conversation ${id} vanished after its creation`);
      return reply.code(201).send(toConversation(row));
    },
  );

  app.get(
    '/api/chat/conversations/:id',
    {
      schema: {
        summary: 'A conversation of the caller, with a page of its messages (oldest first)',
        headers: TenantHeaders,
        params: ConversationParams,
        querystring: PageQuery,
        response: { 200: ConversationWithMessages, ...authenticatedErrors, ...unavailable },
      },
    },
    async (request): Promise<ConversationWithMessages> => {
      const caller = await identity.caller(request);
      const db = databases.drizzle(caller.tenant);
      const row = await findOwnConversation(db, caller.sub, request.params.id);
      if (!row) throw conversationNotFound(request.params.id);
      const { limit, cursor } = request.query;
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      const page = await listMessages(db, row.id, limit, after);
      const last = page.rows.at(-1);
      return {
        ...toConversation(row),
        messages: page.rows.map(toMessage),
        nextCursor: page.more && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
      };
    },
  );

  app.patch(
    '/api/chat/conversations/:id',
    {
      schema: {
        summary: "Changes a conversation's title, defaults or system prompt",
        description: 'Only the properties given change; null clears a default or the system prompt.',
        headers: TenantHeaders,
        params: ConversationParams,
        body: UpdateConversationBody,
        response: { 200: Conversation, ...authenticatedErrors, ...unavailable },
      },
      ...strictValidator,
      preValidation: strictBody(UpdateConversationBody),
    },
    async (request) => {
      const caller = await identity.caller(request);
      const db = databases.drizzle(caller.tenant);
      const current = await findOwnConversation(db, caller.sub, request.params.id);
      if (!current) throw conversationNotFound(request.params.id);
      const changes = request.body;
      const provider = changes.provider === undefined ? current.provider : changes.provider;
      const model = changes.model === undefined ? current.model : changes.model;
      if (provider !== null || model !== null) resolveModel(catalogue, provider, model);
      const updated = await updateOwnConversation(db, caller.sub, current.id, {
        ...changes,
        ...(changes.title === undefined ? {} : { title: changes.title.trim() }),
      });
      if (!updated) throw conversationNotFound(request.params.id);
      return toConversation(updated);
    },
  );

  app.delete(
    '/api/chat/conversations/:id',
    {
      schema: {
        summary: 'Deletes a conversation and its messages',
        description: 'Usage already recorded stays counted in the period.',
        headers: TenantHeaders,
        params: ConversationParams,
        response: { 204: { type: 'null', description: 'Deleted' }, ...authenticatedErrors, ...unavailable },
      },
    },
    async (request, reply) => {
      const caller = await identity.caller(request);
      const deleted = await deleteOwnConversation(
        databases.sql(caller.tenant),
        caller.tenant,
        caller.sub,
        request.params.id,
      );
      if (!deleted) throw conversationNotFound(request.params.id);
      return reply.code(204).send();
    },
  );

  app.post(
    '/api/chat',
    {
      schema: {
        summary: 'Sends a message and answers with the reply',
        description: [
          'Without conversationId, a new conversation is started. provider and model default to the',
          "conversation's. The reservation of input + maxTokens against the tenant's monthly quota is",
          'taken before the provider is called (429 QUOTA_EXCEEDED otherwise) and settled to the usage after.',
          '',
          'With `stream: true` the answer is `text/event-stream`: `event: delta` `{"text"}` for each piece',
          'of the reply, then `event: done` with the same object as the JSON answer (usage, cost, status).',
          'A reply that breaks sends `event: error` `{"code","message"}` before `done` (status failed,',
          'usage estimated). Errors before the first token are ordinary JSON error answers.',
        ].join('\n'),
        headers: TenantHeaders,
        body: SendMessageBody,
        response: { 200: SendMessageResult, ...errorResponses(400, 401, 403, 404, 413, 429, 502, 503) },
      },
      ...strictValidator,
      preValidation: strictBody(SendMessageBody),
    },
    async (request, reply) => {
      const caller = await identity.caller(request);
      const body = request.body;
      const db = databases.drizzle(caller.tenant);
      const conversation =
        body.conversationId === undefined
          ? undefined
          : await findOwnConversation(db, caller.sub, body.conversationId);
      if (body.conversationId !== undefined && !conversation) {
        throw conversationNotFound(body.conversationId, '/body/conversationId');
      }
      const model = resolveModel(
        catalogue,
        body.provider ?? conversation?.provider,
        body.model ?? conversation?.model,
      );
      const system = conversation?.systemPrompt ?? null;
      const history = conversation ? await conversationHistory(db, conversation.id) : [];
      const maxTokens = fitRequest(
        model,
        { system, history, prompt: body.message, maxTokens: body.maxTokens },
        { maxTokens: '/body/maxTokens', message: '/body/message' },
      );
      // Refused before a conversation is created for it: a plan not known yet is not the client's doing.
      if (exchange.quotas.monthlyTokens(caller.tenant) === undefined) throw planUnknown(caller.tenant);
      // A new conversation is stored with its first exchange: a provider that fails leaves none behind.
      const conversationId = conversation?.id ?? randomUUID();
      const newConversation: NewConversation | undefined = conversation
        ? undefined
        : {
            userId: caller.sub,
            title: titleOf(body.message).slice(0, TITLE_MAX_LENGTH) || 'New conversation',
            provider: model.provider,
            model: model.id,
            systemPrompt: null,
          };
      const signal = clientGone(reply);
      const run = (onText?: (text: string) => void) =>
        runExchange(exchange, {
          tenant: caller.tenant,
          userId: caller.sub,
          conversationId,
          ...(newConversation ? { newConversation } : {}),
          model,
          system,
          history,
          prompt: body.message,
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
        return toResult(result, model.provider, model.id);
      }
      await streamExchange(reply, request.log, run, (result) => toResult(result, model.provider, model.id));
      return reply;
    },
  );

  app.get(
    '/api/chat/models',
    {
      schema: {
        summary: 'The models this tenant may use, with context windows and prices',
        headers: TenantHeaders,
        response: { 200: ModelList, ...authenticatedErrors, ...unavailable },
      },
    },
    async (request) => {
      await identity.caller(request);
      return {
        items: catalogue.list().map((m) => ({
          provider: m.provider,
          id: m.id,
          displayName: m.displayName,
          contextWindow: m.contextWindow,
          maxOutputTokens: m.maxOutputTokens,
          pricing: {
            inputMicroUsdPerMillion: m.inputMicroUsdPerMillion,
            outputMicroUsdPerMillion: m.outputMicroUsdPerMillion,
          },
        })),
      };
    },
  );

  app.get(
    '/api/chat/usage',
    {
      schema: {
        summary: "This period's tokens: the tenant's quota, used, reserved and remaining, and the caller's",
        description: 'Periods are calendar months (UTC); resetsAt is when the next one starts.',
        headers: TenantHeaders,
        response: { 200: UsageReport, ...authenticatedErrors, ...unavailable },
      },
    },
    async (request): Promise<UsageReport> => {
      const caller = await identity.caller(request);
      const quota = exchange.quotas.monthlyTokens(caller.tenant);
      if (quota === undefined) throw planUnknown(caller.tenant);
      const period = periodOf(new Date());
      const figures = await usageOf(databases.sql(caller.tenant), period, caller.sub);
      return {
        periodStart: period.start.toISOString(),
        periodEnd: period.end.toISOString(),
        resetsAt: period.end.toISOString(),
        quotaTokens: quota,
        usedTokens: figures.usedTokens,
        reservedTokens: figures.reservedTokens,
        remainingTokens: Math.max(0, quota - figures.usedTokens - figures.reservedTokens),
        caller: { usedTokens: figures.callerUsedTokens },
      };
    },
  );
};

/** Runs an exchange answering with SSE; errors before the first event stay JSON errors. */
async function streamExchange(
  reply: FastifyReply,
  log: FastifyBaseLogger,
  run: (onText: (text: string) => void) => Promise<ExchangeResult>,
  summary: (result: ExchangeResult) => SendMessageResult,
): Promise<void> {
  const sse = new SseStream(reply);
  let result: ExchangeResult;
  try {
    result = await run((text) => sse.send('delta', { text }));
  } catch (error) {
    if (isAbort(error)) {
      abandon(reply);
      return;
    }
    if (!sse.started) throw error;
    sse.send('error', sseError(error, log));
    sse.end();
    return;
  }
  if (result.failure) sse.send('error', sseError(result.failure, log));
  sse.send('done', summary(result));
  sse.end();
}

/** The client left before anything reached it (the provider call was aborted with it). */
export function isAbort(error: unknown): boolean {
  return error instanceof ProviderCallError && error.failure === 'aborted';
}

/** Nobody is left to answer: close the socket instead of rendering an error no one reads. */
export function abandon(reply: FastifyReply): FastifyReply {
  if (!reply.sent) reply.hijack();
  reply.raw.destroy();
  return reply;
}
