import type { ServerResponse } from 'node:http';
import { type FakeModel, inputLimit, type Vendor } from './catalogue.ts';
import {
  DirectiveError,
  type Directives,
  type FaultName,
  parseDirectives,
  parseFaultHeader,
  stripDirectives,
} from './directives.ts';
import { encodeFrames, sendError, sendJson, writeFlushed } from './http.ts';
import { emitPaced, untilAborted } from './pacing.ts';
import type { Frame, Plan, Renderer, WireError, WireProtocol } from './protocol.ts';
import type { FakeState } from './state.ts';
import { countTokens, replyPieces } from './tokens.ts';

/** Reply length when neither max_tokens nor a [[tokens:N]] directive asks for less. */
export const DEFAULT_REPLY_TOKENS = 40;
const DEFAULT_RETRY_AFTER_SECONDS = 1;

/** A chat request after each vendor has parsed its own body shape. */
export interface GenerationRequest {
  model: FakeModel;
  /** Every text the request carries (system prompt included): what input tokens are counted from. */
  texts: readonly string[];
  /** The last user message: the prompt the reply derives from, and where directives are read. */
  lastUserText: string;
  maxTokens: number | undefined;
  stream: boolean;
  faultHeader: string | undefined;
}

/** The reply the fakes give to `prompt` (directives are ignored), for tests that predict it. */
export function fakeReply(prompt: string, tokens = DEFAULT_REPLY_TOKENS): string {
  return replyPieces(stripDirectives(prompt), tokens).join('');
}

export function planGeneration(
  request: GenerationRequest,
  directives: Directives,
): { plan: Plan } | { error: WireError } {
  const { model, maxTokens } = request;
  if (maxTokens !== undefined && maxTokens > model.maxOutputTokens) {
    return {
      error: { kind: 'max-tokens-too-large', requested: maxTokens, limit: model.maxOutputTokens, model },
    };
  }
  const inputTokens = request.texts.reduce((sum, text) => sum + countTokens(text), 0);
  if (inputTokens > inputLimit(model)) {
    return { error: { kind: 'context-exceeded', inputTokens, limit: inputLimit(model), model } };
  }
  const natural = directives.tokens ?? DEFAULT_REPLY_TOKENS;
  const count = Math.min(natural, maxTokens ?? natural);
  const pieces = replyPieces(stripDirectives(request.lastUserText), count);
  return {
    plan: { model, inputTokens, pieces, text: pieces.join(''), finish: count < natural ? 'length' : 'stop' },
  };
}

/**
 * Serves one chat request: validates it, applies the requested fault, and delivers the reply paced
 * at the token rate, either as one JSON body or as the vendor's SSE stream.
 */
export async function serveGeneration(
  state: FakeState,
  res: ServerResponse,
  protocol: WireProtocol,
  request: GenerationRequest,
  render: (plan: Plan) => Renderer,
): Promise<void> {
  const vendor = protocol.vendor;
  let directives: Directives;
  try {
    directives = { ...parseDirectives(request.lastUserText), ...parseFaultHeader(request.faultHeader) };
  } catch (error) {
    if (!(error instanceof DirectiveError)) throw error;
    return sendError(res, protocol, { kind: 'invalid-request', message: error.message });
  }
  const planned = planGeneration(request, directives);
  if ('error' in planned) return sendError(res, protocol, planned.error);
  const { plan } = planned;

  const fault = activeFault(state, vendor, request, directives);
  if (fault) state.countFault(vendor, fault);
  if (fault === 'rate-limit') {
    const retryAfterSeconds = directives.retryAfter ?? DEFAULT_RETRY_AFTER_SECONDS;
    return sendError(res, protocol, { kind: 'rate-limit', retryAfterSeconds, model: plan.model });
  }
  if (fault === 'server-error' || fault === 'overloaded') return sendError(res, protocol, { kind: fault });

  const exchange = state.begin(vendor, res);
  const rate = directives.rate ?? state.defaults.tokensPerSecond;
  const total = plan.pieces.length;
  // A mid-stream fault always leaves the reply unfinished, so the client cannot mistake it for a whole one.
  const faultAfter = Math.max(0, Math.min(directives.faultAfter ?? Math.floor(total / 2), total - 1));
  const renderer = render(plan);
  const { signal } = exchange;

  if (!request.stream) {
    const delivered = await emitPaced(fault ? faultAfter : total, rate, signal, () => {});
    if (!delivered) return;
    if (fault === 'error-mid-stream') return sendError(res, protocol, { kind: 'server-error' });
    if (fault === 'drop-mid-stream') return exchange.destroy();
    if (fault === 'never-ends') return untilAborted(signal);
    sendJson(res, 200, renderer.completion(), protocol.commonHeaders());
    state.countCompleted(vendor);
    return;
  }

  // The promise of the latest write, so a drop can wait until what was sent has reached the socket.
  let flushed = Promise.resolve();
  const write = (frames: Frame[]) => {
    flushed = writeFlushed(res, encodeFrames(frames, protocol.sseLineEnd));
  };
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...protocol.commonHeaders(),
  });
  // The SDKs return the stream object once headers arrive; do not hold them back until the first token.
  res.flushHeaders();
  write(renderer.streamStart());
  const delivered = await emitPaced(fault ? faultAfter : total, rate, signal, (i) =>
    write(renderer.streamToken(i)),
  );
  if (!delivered) return;
  switch (fault) {
    case 'error-mid-stream':
      res.end(encodeFrames(renderer.streamError(), protocol.sseLineEnd));
      return;
    case 'drop-mid-stream':
      await flushed;
      return exchange.destroy();
    case 'never-ends':
      return untilAborted(signal);
    default:
      res.end(encodeFrames(renderer.streamEnd(), protocol.sseLineEnd));
      state.countCompleted(vendor);
  }
}

function activeFault(
  state: FakeState,
  vendor: Vendor,
  request: GenerationRequest,
  directives: Directives,
): FaultName | undefined {
  const { fault } = directives;
  if (!fault || !directives.faultOnce) return fault;
  const key = [vendor, request.model.id, fault, request.lastUserText, request.faultHeader ?? ''].join(
    '\u0000',
  );
  return state.onceFires(key) ? fault : undefined;
}
