import type { IncomingMessage, ServerResponse } from 'node:http';
import { type FakeModel, findModel, modelsOf } from '../catalogue.ts';
import { serveGeneration } from '../generation.ts';
import { BodyError, isObject, type JsonObject, readJsonBody, sendError, sendJson } from '../http.ts';
import { anthropicMessageId, anthropicRequestId } from '../ids.ts';
import type { ErrorReply, Plan, Renderer, WireError, WireProtocol } from '../protocol.ts';
import type { FakeState } from '../state.ts';

/** Anthropic's Messages API (https://api.anthropic.com), served under /anthropic. */
export async function handleAnthropic(
  state: FakeState,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const requestId = anthropicRequestId();
  const protocol = anthropicProtocol(requestId);
  const route = `${req.method} ${path}`;
  const modelPath = /^GET \/v1\/models\/(.+)$/.exec(route);
  if (route !== 'POST /v1/messages' && route !== 'GET /v1/models' && !modelPath) {
    return sendError(res, protocol, { kind: 'route-not-found', method: req.method ?? '', path });
  }
  const authError = authenticate(state, req);
  if (authError) return sendError(res, protocol, authError);
  if (!req.headers['anthropic-version']) {
    return sendError(res, protocol, {
      kind: 'invalid-request',
      message: 'anthropic-version: header is required',
    });
  }

  if (route === 'GET /v1/models') {
    // Newest first, as the real list is ordered.
    const data = modelsOf('anthropic')
      .sort((a, b) => b.released.localeCompare(a.released))
      .map(modelInfo);
    return sendJson(
      res,
      200,
      { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null },
      protocol.commonHeaders(),
    );
  }
  if (modelPath) {
    const name = decodeURIComponent(modelPath[1] ?? '');
    const model = findModel('anthropic', name);
    if (!model) return sendError(res, protocol, { kind: 'model-not-found', model: name });
    return sendJson(res, 200, modelInfo(model), protocol.commonHeaders());
  }

  let body: unknown;
  try {
    body = await readJsonBody(req);
  } catch (error) {
    if (!(error instanceof BodyError)) throw error;
    return sendError(res, protocol, { kind: 'invalid-request', message: error.message });
  }
  const parsed = parseMessagesRequest(body);
  if ('error' in parsed) return sendError(res, protocol, parsed.error);
  const header = req.headers['x-fake-fault'];
  await serveGeneration(
    state,
    res,
    protocol,
    { ...parsed.request, faultHeader: Array.isArray(header) ? header.join(',') : header },
    (plan) => anthropicRenderer(plan, requestId),
  );
}

/** Anthropic takes an API key in x-api-key, or an OAuth token as a bearer. */
function authenticate(state: FakeState, req: IncomingMessage): WireError | undefined {
  const apiKey = req.headers['x-api-key'];
  const key =
    (typeof apiKey === 'string' && apiKey.trim()) ||
    /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
  if (!key) return { kind: 'missing-key' };
  if (state.defaults.apiKeys && !state.defaults.apiKeys.has(key)) return { kind: 'invalid-key' };
  return undefined;
}

type ParsedMessages =
  | {
      request: {
        model: FakeModel;
        texts: string[];
        lastUserText: string;
        maxTokens: number;
        stream: boolean;
      };
    }
  | { error: WireError };

function parseMessagesRequest(body: unknown): ParsedMessages {
  if (!isObject(body)) return invalid('The request body must be a JSON object.');
  if (typeof body.model !== 'string' || body.model === '') return invalid('model: Field required');
  if (body.max_tokens === undefined) return invalid('max_tokens: Field required');
  if (!Number.isInteger(body.max_tokens) || Number(body.max_tokens) < 1) {
    return invalid('max_tokens: Input should be greater than or equal to 1');
  }
  if (!Array.isArray(body.messages)) return invalid('messages: Field required');
  if (body.messages.length === 0) return invalid('messages: at least one message is required');
  const model = findModel('anthropic', body.model);
  if (!model) return { error: { kind: 'model-not-found', model: body.model } };

  const messages = body.messages.filter(isObject);
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  return {
    request: {
      model,
      texts: [contentText(body.system), ...messages.map((m) => contentText(m.content))],
      lastUserText: lastUser ? contentText(lastUser.content) : '',
      maxTokens: Number(body.max_tokens),
      stream: body.stream === true,
    },
  };
}

/** `system` and message contents are a string or an array of blocks; text blocks carry the words. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((b): b is JsonObject => isObject(b) && b.type === 'text' && typeof b.text === 'string')
    .map((b) => b.text as string)
    .join('\n');
}

function invalid(message: string): { error: WireError } {
  return { error: { kind: 'invalid-request', message } };
}

function modelInfo(model: FakeModel) {
  return {
    type: 'model',
    id: model.snapshot,
    display_name: model.displayName,
    created_at: `${model.released}T00:00:00Z`,
    max_input_tokens: model.contextWindow,
    max_tokens: model.maxOutputTokens,
  };
}

function anthropicProtocol(requestId: string): WireProtocol {
  return {
    vendor: 'anthropic',
    sseLineEnd: '\n',
    commonHeaders: () => ({ 'request-id': requestId }),
    error: (error) => anthropicError(error, requestId),
  };
}

function anthropicError(error: WireError, requestId: string): ErrorReply {
  const reply = (status: number, type: string, message: string): ErrorReply => ({
    status,
    body: { type: 'error', error: { type, message }, request_id: requestId },
  });
  switch (error.kind) {
    case 'missing-key':
      return reply(401, 'authentication_error', 'x-api-key header is required');
    case 'invalid-key':
      return reply(401, 'authentication_error', 'invalid x-api-key');
    case 'model-not-found':
      return reply(404, 'not_found_error', `model: ${error.model}`);
    case 'invalid-request':
      return reply(400, 'invalid_request_error', error.message);
    case 'context-exceeded':
      return reply(
        400,
        'invalid_request_error',
        `prompt is too long: ${error.inputTokens} tokens > ${error.limit} maximum`,
      );
    case 'max-tokens-too-large':
      return reply(
        400,
        'invalid_request_error',
        `max_tokens: ${error.requested} > ${error.limit}, which is the maximum allowed number of output tokens for ${error.model.snapshot}`,
      );
    case 'rate-limit':
      return {
        ...reply(
          429,
          'rate_limit_error',
          "This request would exceed your organization's rate limit of 50 requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.",
        ),
        headers: { 'retry-after': String(error.retryAfterSeconds) },
      };
    case 'server-error':
      return reply(500, 'api_error', 'Internal server error');
    case 'overloaded':
      return reply(529, 'overloaded_error', 'Overloaded');
    case 'route-not-found':
      return reply(404, 'not_found_error', 'Not Found');
  }
}

function anthropicRenderer(plan: Plan, requestId: string): Renderer {
  const id = anthropicMessageId();
  const stopReason = plan.finish === 'length' ? 'max_tokens' : 'end_turn';
  const usage = (outputTokens: number) => ({
    input_tokens: plan.inputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    output_tokens: outputTokens,
    service_tier: 'standard',
  });
  const message = (content: unknown[], stop: string | null, outputTokens: number) => ({
    id,
    type: 'message',
    role: 'assistant',
    model: plan.model.snapshot,
    content,
    stop_reason: stop,
    stop_sequence: null,
    usage: usage(outputTokens),
  });
  return {
    completion: () => message([{ type: 'text', text: plan.text }], stopReason, plan.pieces.length),
    // message_start reports the input tokens; like the real API it counts one output token already.
    streamStart: () => [
      { event: 'message_start', data: { type: 'message_start', message: message([], null, 1) } },
      {
        event: 'content_block_start',
        data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      },
      { event: 'ping', data: { type: 'ping' } },
    ],
    streamToken: (index) => [
      {
        event: 'content_block_delta',
        data: {
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'text_delta', text: plan.pieces[index] },
        },
      },
    ],
    // message_delta's usage is cumulative: the final output_tokens is the whole reply.
    streamEnd: () => [
      { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
      {
        event: 'message_delta',
        data: {
          type: 'message_delta',
          delta: { stop_reason: stopReason, stop_sequence: null },
          usage: {
            input_tokens: plan.inputTokens,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            output_tokens: plan.pieces.length,
          },
        },
      },
      { event: 'message_stop', data: { type: 'message_stop' } },
    ],
    streamError: () => [
      {
        event: 'error',
        data: {
          type: 'error',
          error: { type: 'overloaded_error', message: 'Overloaded' },
          request_id: requestId,
        },
      },
    ],
  };
}
