import { randomUUID } from 'node:crypto';
import { appendToOutbox, type ChatMessageCompleted, createEvent } from '@tenantry/events';
import type { Logger } from '@tenantry/logger';
import type { TenantDatabases } from '@tenantry/tenant-db';
import { planUnknown, providerFailed } from './chat-errors.ts';
import { insertConversation, type NewConversation, recordExchange } from './conversation-store.ts';
import { costMicroUsd, type ModelEntry } from './model-catalogue.ts';
import type { QuotaSource } from './plan-quotas.ts';
import { type ProviderAdapter, ProviderCallError, type ProviderMessage } from './providers/index.ts';
import { releaseTokens, reserveTokens, settleTokens } from './quota-store.ts';
import { estimateInputTokens, estimateTokens, inputReservation } from './token-estimate.ts';
import { periodOf } from './usage-period.ts';

/**
 * One exchange: the user's message to a provider and its reply, under the tenant's quota. The
 * order is what keeps the accounting right:
 *   1. reserve input estimate + maxTokens (429 before any provider is called);
 *   2. stream from the provider, handing each delta to the caller as it arrives;
 *   3. a failure before any text: release, nothing stored, 502/503;
 *      otherwise store both messages, settle the reservation to the usage and publish
 *      chat.message_completed in one transaction. Usage is the provider's, or, when the stream broke
 *      or the client left before it arrived, an estimate (flagged) that is never zero.
 */

export interface ExchangeRequest {
  tenant: string;
  userId: string;
  conversationId: string;
  /** Set when the conversation is new: it is created with the exchange's record, not before the call. */
  newConversation?: NewConversation;
  model: ModelEntry;
  system: string | null;
  history: ProviderMessage[];
  prompt: string;
  maxTokens: number;
  /** Fires when the client went away: aborts the provider call. */
  signal: AbortSignal;
  /** Each text delta, as it arrives. */
  onText?: (text: string) => void;
}

export type ExchangeStatus = ChatMessageCompleted['status'];

export interface ExchangeResult {
  conversationId: string;
  messageId: string;
  userMessageId: string;
  reply: string;
  inputTokens: number;
  outputTokens: number;
  estimated: boolean;
  costMicroUsd: number;
  status: ExchangeStatus;
  timeToFirstTokenMs: number | null;
  durationMs: number;
  /** Why the reply broke (status failed), for the caller to report after the usage was recorded. */
  failure?: ProviderCallError;
}

export interface ExchangeDeps {
  databases: TenantDatabases;
  quotas: QuotaSource;
  adapters: ReadonlyMap<string, ProviderAdapter>;
  logger: Logger;
}

/** The input tokens a request is estimated at, for the context check and the reservation. */
export function estimateRequestInput(
  system: string | null,
  history: ProviderMessage[],
  prompt: string,
): number {
  return estimateInputTokens([...(system ? [system] : []), ...history.map((m) => m.content), prompt]);
}

export async function runExchange(deps: ExchangeDeps, request: ExchangeRequest): Promise<ExchangeResult> {
  const { tenant, model } = request;
  const adapter = deps.adapters.get(model.provider);
  if (!adapter) throw new Error(`no adapter for the enabled provider ${model.provider}`);
  const quota = deps.quotas.monthlyTokens(tenant);
  if (quota === undefined) throw planUnknown(tenant);

  const inputEstimate = estimateRequestInput(request.system, request.history, request.prompt);
  const reservation = inputReservation(inputEstimate) + request.maxTokens;
  const period = periodOf(new Date());
  const sql = deps.databases.sql(tenant);
  await reserveTokens(sql, tenant, period, reservation, quota);

  const started = performance.now();
  let firstTokenAt: number | undefined;
  let reply = '';
  let usage: { inputTokens: number; outputTokens: number } | undefined;
  let finish: 'stop' | 'length' | undefined;
  let failure: ProviderCallError | undefined;
  try {
    for await (const event of adapter.stream({
      model: model.id,
      system: request.system ?? undefined,
      messages: [...request.history, { role: 'user', content: request.prompt }],
      maxTokens: request.maxTokens,
      signal: request.signal,
    })) {
      if (event.type === 'text') {
        firstTokenAt ??= performance.now();
        reply += event.text;
        request.onText?.(event.text);
      } else if (event.type === 'usage') {
        usage = { inputTokens: event.inputTokens, outputTokens: event.outputTokens };
      } else {
        finish = event.reason;
      }
    }
    if (finish === undefined) {
      // The stream ended without saying how the reply ended: it was cut, by the client leaving (some
      // SDKs end the iteration quietly on abort) or by the provider.
      throw request.signal.aborted
        ? new ProviderCallError(model.provider, 'aborted', 'the client went away')
        : new ProviderCallError(model.provider, 'failed', 'the stream ended before the reply finished');
    }
  } catch (error) {
    failure =
      error instanceof ProviderCallError
        ? error
        : new ProviderCallError(model.provider, 'failed', String(error), { cause: error });
  }
  const durationMs = Math.round(performance.now() - started);

  if (failure && reply === '' && usage === undefined) {
    // Nothing reached the client and the provider charged nothing it told us of: give the tokens back.
    await releaseTokens(sql, period, reservation).catch((error: unknown) =>
      deps.logger.error({ err: error, tenant, reservation }, 'a reservation could not be released'),
    );
    if (failure.failure === 'aborted') throw failure;
    throw providerFailed(failure);
  }

  const status: ExchangeStatus = failure
    ? failure.failure === 'aborted'
      ? 'aborted'
      : 'failed'
    : finish === 'length'
      ? 'truncated'
      : 'completed';
  const estimated = usage === undefined;
  // An estimate is never zero: the input was sent, whatever came back.
  const inputTokens = usage?.inputTokens ?? Math.max(1, inputEstimate);
  const outputTokens = usage?.outputTokens ?? estimateTokens(reply);
  const result: ExchangeResult = {
    conversationId: request.conversationId,
    messageId: randomUUID(),
    userMessageId: randomUUID(),
    reply,
    inputTokens,
    outputTokens,
    estimated,
    costMicroUsd: costMicroUsd(model, inputTokens, outputTokens),
    status,
    timeToFirstTokenMs: firstTokenAt === undefined ? null : Math.round(firstTokenAt - started),
    durationMs,
    ...(failure ? { failure } : {}),
  };
  const payload: ChatMessageCompleted = {
    conversationId: result.conversationId,
    messageId: result.messageId,
    userId: request.userId,
    provider: model.provider,
    model: model.id,
    inputTokens,
    outputTokens,
    estimated,
    costMicroUsd: result.costMicroUsd,
    timeToFirstTokenMs: result.timeToFirstTokenMs,
    durationMs,
    status,
  };
  try {
    await sql.begin(async (tx) => {
      if (request.newConversation) {
        await insertConversation(tx, tenant, request.conversationId, request.newConversation);
      }
      await recordExchange(tx, {
        ...payload,
        userMessageId: result.userMessageId,
        assistantMessageId: result.messageId,
        prompt: request.prompt,
        reply,
      });
      await appendToOutbox(
        tx,
        createEvent({ type: 'chat.message_completed', tenant, aggregateId: result.conversationId, payload }),
      );
      // Last: settling locks the tenant's period row, which every reservation needs, until commit.
      await settleTokens(tx, {
        tenant,
        period,
        reserved: reservation,
        used: inputTokens + outputTokens,
        userId: request.userId,
        quota,
      });
    });
  } catch (error) {
    // The reply was produced but not recorded: the reservation stays counted as used rather than
    // free, so the quota errs on the tenant's side of never overshooting.
    await sql`
      update chat_usage_periods set reserved_tokens = greatest(reserved_tokens - ${reservation}, 0),
        used_tokens = used_tokens + ${reservation}
      where period_start = ${period.start.toISOString()}::timestamptz
    `.catch(() => {});
    throw error;
  }
  return result;
}
