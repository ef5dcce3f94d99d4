import { FormatRegistry, type Static, type TSchema, Type } from '@sinclair/typebox';

// The bodies are checked by TypeBox's compiler (see chat-routes.ts), which knows only taught formats.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (value) => UUID.test(value));

/** The HTTP shapes of the chat API; every route declares its params, query, body and responses. */

export const TITLE_MAX_LENGTH = 200;
export const SYSTEM_PROMPT_MAX_LENGTH = 20_000;
/**
 * A message's size in characters. The real bound is the model's context window, checked in tokens
 * (413 CONTEXT_TOO_LONG); this one only keeps absurd bodies from being tokenized at all.
 */
export const MESSAGE_MAX_LENGTH = 400_000;
/** maxTokens when a request does not say (capped by the model's own output limit). */
export const DEFAULT_MAX_TOKENS = 1024;
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601, UTC' });
const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Id = Type.String({ format: 'uuid' });
const ProviderName = Type.String({
  minLength: 1,
  maxLength: 40,
  description: 'openai, anthropic or google (GET /api/chat/models lists what this platform enables)',
});
const ModelId = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'A model id of GET /api/chat/models',
});
const Title = Type.String({ minLength: 1, maxLength: TITLE_MAX_LENGTH, pattern: '\\S' });
const SystemPrompt = Type.String({ minLength: 1, maxLength: SYSTEM_PROMPT_MAX_LENGTH });

export const Conversation = Type.Object({
  id: Id,
  title: Type.String(),
  provider: nullable(Type.String()),
  model: nullable(Type.String()),
  systemPrompt: nullable(Type.String()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Conversation = Static<typeof Conversation>;

export const Usage = Type.Object({
  inputTokens: Type.Integer({ minimum: 0 }),
  outputTokens: Type.Integer({ minimum: 0 }),
  estimated: Type.Boolean({ description: 'True when the stream broke before the provider reported usage' }),
});

export const MessageStatus = Type.Union([
  Type.Literal('completed'),
  Type.Literal('failed'),
  Type.Literal('aborted'),
  Type.Literal('truncated'),
]);

export const Message = Type.Object({
  id: Id,
  role: Type.Union([Type.Literal('user'), Type.Literal('assistant')]),
  content: Type.String(),
  provider: nullable(Type.String()),
  model: nullable(Type.String()),
  usage: nullable(Usage),
  costMicroUsd: nullable(Type.Integer({ minimum: 0 })),
  status: nullable(MessageStatus),
  timeToFirstTokenMs: nullable(Type.Integer({ minimum: 0 })),
  durationMs: nullable(Type.Integer({ minimum: 0 })),
  createdAt: Timestamp,
});
export type Message = Static<typeof Message>;

const NextCursor = Type.Union([Type.String(), Type.Null()], {
  description: 'Pass as cursor for the next page; null on the last page',
});

export const ConversationList = Type.Object({ items: Type.Array(Conversation), nextCursor: NextCursor });
export type ConversationList = Static<typeof ConversationList>;

export const ConversationWithMessages = Type.Composite([
  Conversation,
  Type.Object({ messages: Type.Array(Message), nextCursor: NextCursor }),
]);
export type ConversationWithMessages = Static<typeof ConversationWithMessages>;

export const PageQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'nextCursor of the previous page' }),
    ),
  },
  { additionalProperties: false },
);

export const ConversationParams = Type.Object({ id: Id });

export const CreateConversationBody = Type.Object(
  {
    title: Title,
    provider: Type.Optional(ProviderName),
    model: Type.Optional(ModelId),
    systemPrompt: Type.Optional(SystemPrompt),
  },
  { additionalProperties: false },
);
export type CreateConversationBody = Static<typeof CreateConversationBody>;

export const UpdateConversationBody = Type.Object(
  {
    title: Type.Optional(Title),
    provider: Type.Optional(nullable(ProviderName)),
    model: Type.Optional(nullable(ModelId)),
    systemPrompt: Type.Optional(nullable(SystemPrompt)),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateConversationBody = Static<typeof UpdateConversationBody>;

export const SendMessageBody = Type.Object(
  {
    conversationId: Type.Optional(Type.String({ format: 'uuid', description: 'None: a new conversation' })),
    message: Type.String({ minLength: 1, maxLength: MESSAGE_MAX_LENGTH, pattern: '\\S' }),
    provider: Type.Optional(ProviderName),
    model: Type.Optional(ModelId),
    maxTokens: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: `Reply length cap; ${DEFAULT_MAX_TOKENS} (or the model's limit) by default`,
      }),
    ),
    stream: Type.Optional(Type.Boolean({ description: 'Answer with Server-Sent Events' })),
  },
  { additionalProperties: false },
);
export type SendMessageBody = Static<typeof SendMessageBody>;

export const SendMessageResult = Type.Object({
  conversationId: Id,
  messageId: Id,
  provider: Type.String(),
  model: Type.String(),
  reply: Type.String(),
  status: MessageStatus,
  usage: Usage,
  costMicroUsd: Type.Integer({ minimum: 0 }),
  timeToFirstTokenMs: nullable(Type.Integer({ minimum: 0 })),
  durationMs: Type.Integer({ minimum: 0 }),
});
export type SendMessageResult = Static<typeof SendMessageResult>;

export const ModelInfo = Type.Object({
  provider: Type.String(),
  id: Type.String(),
  displayName: Type.String(),
  contextWindow: Type.Integer(),
  maxOutputTokens: Type.Integer(),
  pricing: Type.Object({
    inputMicroUsdPerMillion: Type.Integer({ description: 'micro-USD per million input tokens' }),
    outputMicroUsdPerMillion: Type.Integer({ description: 'micro-USD per million output tokens' }),
  }),
});
export const ModelList = Type.Object({ items: Type.Array(ModelInfo) });

export const UsageReport = Type.Object({
  periodStart: Timestamp,
  periodEnd: Timestamp,
  resetsAt: Timestamp,
  quotaTokens: Type.Integer({ minimum: 0 }),
  usedTokens: Type.Integer({ minimum: 0 }),
  reservedTokens: Type.Integer({ minimum: 0, description: 'Held by requests in flight' }),
  remainingTokens: Type.Integer({ minimum: 0 }),
  caller: Type.Object({ usedTokens: Type.Integer({ minimum: 0 }) }),
});
export type UsageReport = Static<typeof UsageReport>;
