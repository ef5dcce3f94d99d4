import type { IncomingMessage, ServerResponse } from 'node:http';
import { type FakeModel, findModel, inputLimit, modelsOf } from '../catalogue.ts';
import { serveGeneration } from '../generation.ts';
import { BodyError, isObject, readJsonBody, sendError, sendJson } from '../http.ts';
import { geminiResponseId } from '../ids.ts';
import type { ErrorReply, Plan, Renderer, WireError, WireProtocol } from '../protocol.ts';
import type { FakeState } from '../state.ts';

/** The Gemini API (https://generativelanguage.googleapis.com), served under /gemini. */
export async function handleGemini(
  state: FakeState,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  url: URL,
): Promise<void> {
  const protocol = geminiProtocol(url);
  // /{v1beta|v1}/models, /{version}/models/{model}, /{version}/models/{model}:{method}
  const match = /^\/(v1beta|v1)\/models(?:\/([^/:]+)(?::([A-Za-z]+))?)?$/.exec(path);
  const [, , modelName, method] = match ?? [];
  const known =
    match &&
    ((req.method === 'GET' && method === undefined) ||
      (req.method === 'POST' && (method === 'generateContent' || method === 'streamGenerateContent')));
  if (!known) return sendError(res, protocol, { kind: 'route-not-found', method: req.method ?? '', path });

  const authError = authenticate(state, req, url);
  if (authError) return sendError(res, protocol, authError);

  if (modelName === undefined) {
    return sendJson(res, 200, { models: modelsOf('gemini').map(modelResource) });
  }
  const name = decodeURIComponent(modelName);
  const model = findModel('gemini', name);
  if (!model) return sendError(res, protocol, { kind: 'model-not-found', model: name });
  if (method === undefined) return sendJson(res, 200, modelResource(model));

  const stream = method === 'streamGenerateContent';
  if (stream && url.searchParams.get('alt') !== 'sse') {
    // Without alt=sse Google streams one JSON array; the SDKs always ask for SSE, so the fake only speaks that.
    return sendError(res, protocol, {
      kind: 'invalid-request',
      message: 'The fake serves streamGenerateContent only with alt=sse.',
    });
  }
  let body: unknown;
  try {
    body = await readJsonBody(req);
  } catch (error) {
    if (!(error instanceof BodyError)) throw error;
    return sendError(res, protocol, { kind: 'invalid-request', message: error.message });
  }
  const parsed = parseGenerateRequest(body, model, stream);
  if ('error' in parsed) return sendError(res, protocol, parsed.error);
  const header = req.headers['x-fake-fault'];
  await serveGeneration(
    state,
    res,
    protocol,
    { ...parsed.request, faultHeader: Array.isArray(header) ? header.join(',') : header },
    geminiRenderer,
  );
}

/** Gemini takes the key in x-goog-api-key or in ?key=. */
function authenticate(state: FakeState, req: IncomingMessage, url: URL): WireError | undefined {
  const header = req.headers['x-goog-api-key'];
  const key = (typeof header === 'string' && header.trim()) || url.searchParams.get('key')?.trim();
  if (!key) return { kind: 'missing-key' };
  if (state.defaults.apiKeys && !state.defaults.apiKeys.has(key)) return { kind: 'invalid-key' };
  return undefined;
}

type ParsedGenerate =
  | {
      request: {
        model: FakeModel;
        texts: string[];
        lastUserText: string;
        maxTokens: number | undefined;
        stream: boolean;
      };
    }
  | { error: WireError };

function parseGenerateRequest(body: unknown, model: FakeModel, stream: boolean): ParsedGenerate {
  if (!isObject(body)) return invalid('Invalid JSON payload received. Expected an object.');
  if (!Array.isArray(body.contents) || body.contents.length === 0) {
    return invalid('* GenerateContentRequest.contents: contents is not specified\n');
  }
  const config = isObject(body.generationConfig) ? body.generationConfig : {};
  const maxTokens = config.maxOutputTokens;
  if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && Number(maxTokens) >= 1)) {
    return invalid(
      `Unable to submit request because it has a maxOutputTokens value of ${String(maxTokens)} but the supported range is from 1 (inclusive) to ${model.maxOutputTokens + 1} (exclusive). Update the value and try again.`,
    );
  }
  const contents = body.contents.filter(isObject);
  // A content without a role is the user's, as Google documents for single-turn requests.
  const lastUser = [...contents].reverse().find((c) => c.role === undefined || c.role === 'user');
  return {
    request: {
      model,
      texts: [partsText(body.systemInstruction), ...contents.map(partsText)],
      lastUserText: lastUser ? partsText(lastUser) : '',
      maxTokens: typeof maxTokens === 'number' ? maxTokens : undefined,
      stream,
    },
  };
}

function partsText(content: unknown): string {
  if (!isObject(content) || !Array.isArray(content.parts)) return '';
  return content.parts
    .filter(isObject)
    .map((p) => (typeof p.text === 'string' ? p.text : ''))
    .filter((t) => t !== '')
    .join('\n');
}

function invalid(message: string): { error: WireError } {
  return { error: { kind: 'invalid-request', message } };
}

function modelResource(model: FakeModel) {
  return {
    name: `models/${model.id}`,
    version: '001',
    displayName: model.displayName,
    description: `${model.displayName} (served by the Tenantry provider fakes)`,
    inputTokenLimit: inputLimit(model),
    outputTokenLimit: model.maxOutputTokens,
    supportedGenerationMethods: [
      'generateContent',
      'countTokens',
      'createCachedContent',
      'batchGenerateContent',
    ],
    temperature: 1,
    topP: 0.95,
    topK: 64,
    maxTemperature: 2,
    thinking: true,
  };
}

function geminiProtocol(url: URL): WireProtocol {
  const version = url.pathname.includes('/v1/') ? 'v1' : 'v1beta';
  return {
    vendor: 'gemini',
    sseLineEnd: '\r\n',
    commonHeaders: () => ({}),
    error: (error) => geminiError(error, version),
  };
}

function geminiError(error: WireError, version: string): ErrorReply {
  const reply = (code: number, status: string, message: string, details?: unknown[]): ErrorReply => ({
    status: code,
    body: { error: { code, message, status, ...(details ? { details } : {}) } },
  });
  switch (error.kind) {
    // Google answers a missing key with 403 and a wrong one with 400, not 401.
    case 'missing-key':
      return reply(
        403,
        'PERMISSION_DENIED',
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
      );
    case 'invalid-key':
      return reply(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'API_KEY_INVALID',
          domain: 'googleapis.com',
          metadata: { service: 'generativelanguage.googleapis.com' },
        },
      ]);
    case 'model-not-found':
      return reply(
        404,
        'NOT_FOUND',
        `models/${error.model} is not found for API version ${version}, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.`,
      );
    case 'invalid-request':
      return reply(400, 'INVALID_ARGUMENT', error.message);
    case 'context-exceeded':
      return reply(
        400,
        'INVALID_ARGUMENT',
        `The input token count (${error.inputTokens}) exceeds the maximum number of tokens allowed (${error.limit}).`,
      );
    case 'max-tokens-too-large':
      return reply(
        400,
        'INVALID_ARGUMENT',
        `Unable to submit request because it has a maxOutputTokens value of ${error.requested} but the supported range is from 1 (inclusive) to ${error.limit + 1} (exclusive). Update the value and try again.`,
      );
    case 'rate-limit':
      // Google states the delay in a RetryInfo detail; the retry-after header is sent as well for clients
      // (and the chat service) that read only headers.
      return {
        ...reply(
          429,
          'RESOURCE_EXHAUSTED',
          `You exceeded your current quota, please check your plan and billing details. Please retry in ${error.retryAfterSeconds}s.`,
          [
            {
              '@type': 'type.googleapis.com/google.rpc.RetryInfo',
              retryDelay: `${error.retryAfterSeconds}s`,
            },
          ],
        ),
        headers: { 'retry-after': String(error.retryAfterSeconds) },
      };
    case 'server-error':
      return reply(
        500,
        'INTERNAL',
        'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
      );
    case 'overloaded':
      return reply(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.');
    case 'route-not-found':
      return reply(404, 'NOT_FOUND', `The requested URL ${error.path} was not found on this server.`);
  }
}

function geminiRenderer(plan: Plan): Renderer {
  const responseId = geminiResponseId();
  const finishReason = plan.finish === 'length' ? 'MAX_TOKENS' : 'STOP';
  const usageMetadata = {
    promptTokenCount: plan.inputTokens,
    candidatesTokenCount: plan.pieces.length,
    totalTokenCount: plan.inputTokens + plan.pieces.length,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: plan.inputTokens }],
  };
  const response = (text: string, final: boolean) => ({
    candidates: [
      {
        content: { parts: [{ text }], role: 'model' },
        ...(final ? { finishReason } : {}),
        index: 0,
      },
    ],
    ...(final ? { usageMetadata } : {}),
    modelVersion: plan.model.snapshot,
    responseId,
  });
  const last = plan.pieces.length - 1;
  return {
    completion: () => response(plan.text, true),
    streamStart: () => [],
    // Gemini has no closing event: the last text frame carries finishReason and usageMetadata.
    streamToken: (index) => [{ data: response(plan.pieces[index] ?? '', index === last) }],
    streamEnd: () => [],
    streamError: () => [
      {
        data: {
          error: {
            code: 500,
            message:
              'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
            status: 'INTERNAL',
          },
        },
      },
    ],
  };
}
