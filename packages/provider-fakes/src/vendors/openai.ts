import type { IncomingMessage, ServerResponse } from 'node:http';
import { type FakeModel, findModel, modelsOf } from '../catalogue.ts';
import { serveGeneration } from '../generation.ts';
import { BodyError, isObject, type JsonObject, readJsonBody, sendError, sendJson } from '../http.ts';
import { openaiCompletionId, openaiFingerprint, openaiRequestId, unixSeconds } from '../ids.ts';
import type { ErrorReply, Frame, Plan, Renderer, WireError, WireProtocol } from '../protocol.ts';
import type { FakeState } from '../state.ts';

/** OpenAI's Chat Completions API (https://api.openai.com/v1), served under /openai/v1. */
export async function handleOpenAI(
  state: FakeState,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const protocol = openaiProtocol();
  const route = `${req.method} ${path}`;
  const modelPath = /^GET \/v1\/models\/(.+)$/.exec(route);
  if (route !== 'POST /v1/chat/completions' && route !== 'GET /v1/models' && !modelPath) {
    return sendError(res, protocol, { kind: 'route-not-found', method: req.method ?? '', path });
  }
  const authError = authenticate(state, req);
  if (authError) return sendError(res, protocol, authError);

  if (route === 'GET /v1/models') {
    return sendJson(
      res,
      200,
      { object: 'list', data: modelsOf('openai').flatMap(modelObjects) },
      protocol.commonHeaders(),
    );
  }
  if (modelPath) {
    const name = decodeURIComponent(modelPath[1] ?? '');
    const model = findModel('openai', name);
    if (!model) return sendError(res, protocol, { kind: 'model-not-found', model: name });
    const object = modelObjects(model).find((m) => m.id === name);
    return sendJson(res, 200, object, protocol.commonHeaders());
  }

  let body: unknown;
  try {
    body = await readJsonBody(req);
  } catch (error) {
    if (!(error instanceof BodyError)) throw error;
    return sendError(res, protocol, { kind: 'invalid-request', message: error.message });
  }
  const parsed = parseChatRequest(body);
  if ('error' in parsed) return sendError(res, protocol, parsed.error);
  const { model, request, includeUsage } = parsed;
  await serveGeneration(
    state,
    res,
    protocol,
    { ...request, model, faultHeader: header(req, 'x-fake-fault') },
    (plan) => openaiRenderer(plan, includeUsage),
  );
}

function authenticate(state: FakeState, req: IncomingMessage): WireError | undefined {
  const key = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
  if (!key) return { kind: 'missing-key' };
  if (state.defaults.apiKeys && !state.defaults.apiKeys.has(key)) return { kind: 'invalid-key' };
  return undefined;
}

type ParsedChat =
  | {
      model: FakeModel;
      includeUsage: boolean;
      request: { texts: string[]; lastUserText: string; maxTokens: number | undefined; stream: boolean };
    }
  | { error: WireError };

function parseChatRequest(body: unknown): ParsedChat {
  if (!isObject(body)) return invalid('The request body must be a JSON object.');
  if (typeof body.model !== 'string' || body.model === '') {
    return invalid('you must provide a model parameter', 'model');
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    return invalid("Missing required parameter: 'messages'.", 'messages');
  }
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (
    maxTokens !== undefined &&
    maxTokens !== null &&
    !(Number.isInteger(maxTokens) && Number(maxTokens) >= 1)
  ) {
    return invalid(`Invalid 'max_tokens': integer below minimum value. Expected a value >= 1.`, 'max_tokens');
  }
  const stream = body.stream === true;
  if (body.stream_options != null && !stream) {
    return invalid(
      "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      'stream_options',
    );
  }
  const model = findModel('openai', body.model);
  if (!model) return { error: { kind: 'model-not-found', model: body.model } };

  const messages = body.messages.filter(isObject);
  const texts = messages.map((m) => contentText(m.content));
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const includeUsage = isObject(body.stream_options) && body.stream_options.include_usage === true;
  return {
    model,
    includeUsage,
    request: {
      texts,
      lastUserText: lastUser ? contentText(lastUser.content) : '',
      maxTokens: typeof maxTokens === 'number' ? maxTokens : undefined,
      stream,
    },
  };
}

/** A message's content is a string or an array of parts; only text parts carry words. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter(
      (part): part is JsonObject => isObject(part) && part.type === 'text' && typeof part.text === 'string',
    )
    .map((part) => part.text as string)
    .join('\n');
}

function invalid(message: string, param?: string): { error: WireError } {
  return { error: { kind: 'invalid-request', message, ...(param ? { param } : {}) } };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** OpenAI lists both the alias and its dated snapshot. */
function modelObjects(
  model: FakeModel,
): { id: string; object: 'model'; created: number; owned_by: string }[] {
  const created = unixSeconds(new Date(model.released));
  return [model.id, model.snapshot].map((id) => ({ id, object: 'model', created, owned_by: 'system' }));
}

function openaiProtocol(): WireProtocol {
  const requestId = openaiRequestId();
  return {
    vendor: 'openai',
    sseLineEnd: '\n',
    commonHeaders: () => ({ 'x-request-id': requestId, 'openai-version': '2020-10-01' }),
    error: openaiError,
  };
}

function openaiError(error: WireError): ErrorReply {
  const body = (
    status: number,
    message: string,
    type: string,
    param: string | null,
    code: string | null,
  ) => ({
    status,
    body: { error: { message, type, param, code } },
  });
  switch (error.kind) {
    case 'missing-key':
      return body(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
        'invalid_request_error',
        null,
        null,
      );
    case 'invalid-key':
      return body(
        401,
        'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
        'invalid_request_error',
        null,
        'invalid_api_key',
      );
    case 'model-not-found':
      return body(
        404,
        `The model \`${error.model}\` does not exist or you do not have access to it.`,
        'invalid_request_error',
        null,
        'model_not_found',
      );
    case 'invalid-request':
      return body(400, error.message, 'invalid_request_error', error.param ?? null, null);
    case 'context-exceeded':
      return body(
        400,
        `This model's maximum context length is ${error.limit} tokens. However, your messages resulted in ${error.inputTokens} tokens. Please reduce the length of the messages.`,
        'invalid_request_error',
        'messages',
        'context_length_exceeded',
      );
    case 'max-tokens-too-large':
      return body(
        400,
        `max_tokens is too large: ${error.requested}. This model supports at most ${error.limit} completion tokens, whereas you provided ${error.requested}.`,
        'invalid_request_error',
        'max_tokens',
        'invalid_value',
      );
    case 'rate-limit':
      return {
        ...body(
          429,
          `Rate limit reached for ${error.model.id} in organization org-fake on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in ${error.retryAfterSeconds}s. Visit https://platform.openai.com/account/rate-limits to learn more.`,
          'requests',
          null,
          'rate_limit_exceeded',
        ),
        headers: { 'retry-after': String(error.retryAfterSeconds) },
      };
    case 'server-error':
      return body(
        500,
        'The server had an error while processing your request. Sorry about that!',
        'server_error',
        null,
        null,
      );
    case 'overloaded':
      return body(
        503,
        'The engine is currently overloaded, please try again later.',
        'server_error',
        null,
        null,
      );
    case 'route-not-found':
      return body(404, `Invalid URL (${error.method} ${error.path})`, 'invalid_request_error', null, null);
  }
}

function openaiRenderer(plan: Plan, includeUsage: boolean): Renderer {
  const id = openaiCompletionId();
  const created = unixSeconds();
  const fingerprint = openaiFingerprint();
  const model = plan.model.snapshot;
  const finishReason = plan.finish === 'length' ? 'length' : 'stop';
  const usage = {
    prompt_tokens: plan.inputTokens,
    completion_tokens: plan.pieces.length,
    total_tokens: plan.inputTokens + plan.pieces.length,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
  // With include_usage every chunk carries `usage: null` except the last, which carries the totals.
  const chunk = (choices: unknown[], usageField: unknown = null): Frame => ({
    data: {
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      service_tier: 'default',
      system_fingerprint: fingerprint,
      choices,
      ...(includeUsage ? { usage: usageField } : {}),
    },
  });
  const choice = (delta: object, finish: string | null = null) => ({
    index: 0,
    delta,
    logprobs: null,
    finish_reason: finish,
  });
  return {
    completion: () => ({
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: plan.text, refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: finishReason,
        },
      ],
      usage,
      service_tier: 'default',
      system_fingerprint: fingerprint,
    }),
    streamStart: () => [chunk([choice({ role: 'assistant', content: '', refusal: null })])],
    streamToken: (index) => [chunk([choice({ content: plan.pieces[index] })])],
    streamEnd: () => [
      chunk([choice({}, finishReason)]),
      ...(includeUsage ? [chunk([], usage)] : []),
      { data: '[DONE]' },
    ],
    // OpenAI reports a failure after the 200 as a data frame holding an error object.
    streamError: () => [
      {
        data: {
          error: {
            message: 'The server had an error while processing your request. Sorry about that!',
            type: 'server_error',
            param: null,
            code: null,
          },
        },
      },
    ],
  };
}
