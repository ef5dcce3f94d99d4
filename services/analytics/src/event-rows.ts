import { TypeCompiler } from '@sinclair/typebox/compiler';
import { EVENT_PAYLOADS, type EventEnvelope, InvalidEventError, parseEvent } from '@tenantry/events';

/** One row of `events`: the envelope, with the payload fields the rollups aggregate as columns. */
export interface EventRow {
  tenant: string;
  occurred_at: string;
  type: string;
  id: string;
  version: number;
  aggregate_id: string;
  user_id: string;
  provider: string;
  model: string;
  status: string;
  input_tokens: number;
  output_tokens: number;
  cost_micro_usd: number;
  duration_ms: number;
  ttft_ms: number | null;
  amount_minor: number;
  currency: string;
  plan: string;
  previous_plan: string;
  period_start: string;
  period_end: string;
  payload: string;
}

/** One row of `rejected_events`. */
export interface RejectedRow {
  tenant: string;
  topic: string;
  partition: number;
  offset: string;
  event_id: string;
  type: string;
  reason: string;
  raw: string;
}

export interface KafkaRecord {
  /** The tenant the topic belongs to: the only tenant an event on it may be stored under. */
  tenant: string;
  topic: string;
  partition: number;
  offset: string;
  value: Buffer | null;
}

export type Ingestible = { ok: true; row: EventRow } | { ok: false; rejected: RejectedRow };

/** Raw bytes kept with a rejection, enough to diagnose without storing a flood. */
const MAX_RAW_CHARS = 4_096;
const EPOCH = '1970-01-01 00:00:00.000';

const payloadCheckers = Object.fromEntries(
  Object.entries(EVENT_PAYLOADS).map(([type, schema]) => [type, TypeCompiler.Compile(schema)]),
) as Record<string, ReturnType<typeof TypeCompiler.Compile>>;

/** ClickHouse's DateTime64 text form, in UTC: `2026-12-04 16:52:32.123`. */
export function clickhouseTime(iso: string): string {
  return new Date(iso).toISOString().replace('T', ' ').replace('Z', '');
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : 0;
}

/** The row of a valid event: known types were checked against their contract before this. */
export function eventRow(event: EventEnvelope): EventRow {
  const p = record(event.payload);
  const isInvoice = event.type === 'billing.invoice_issued';
  return {
    tenant: event.tenant,
    occurred_at: clickhouseTime(event.occurredAt),
    type: event.type,
    id: event.id.toLowerCase(),
    version: event.version,
    aggregate_id: event.aggregateId,
    user_id: text(p.userId),
    provider: text(p.provider),
    model: text(p.model),
    status: text(p.status),
    input_tokens: count(p.inputTokens),
    output_tokens: count(p.outputTokens),
    cost_micro_usd: count(p.costMicroUsd),
    duration_ms: count(p.durationMs),
    ttft_ms: typeof p.timeToFirstTokenMs === 'number' ? count(p.timeToFirstTokenMs) : null,
    // An invoice's amount is what it bills; a payment's what was paid.
    amount_minor: isInvoice ? count(p.totalMinor) : count(p.amountMinor),
    currency: text(p.currency),
    plan: text(p.plan),
    previous_plan: text(p.previousPlan),
    period_start: isInvoice ? clickhouseTime(text(p.periodStart)) : EPOCH,
    period_end: isInvoice ? clickhouseTime(text(p.periodEnd)) : EPOCH,
    payload: JSON.stringify(event.payload),
  };
}

/**
 * A Kafka message as a row to store, or as a rejection with its reason. Rejected: what is not a valid
 * envelope, an envelope naming another tenant than the topic's (it would otherwise be counted in that
 * other tenant's analytics), and a payload that breaks its type's contract in @tenantry/events. Types
 * without a contract there are stored as they are.
 */
export function toIngestible(message: KafkaRecord): Ingestible {
  const reject = (reason: string, event?: Partial<EventEnvelope>): Ingestible => ({
    ok: false,
    rejected: {
      tenant: message.tenant,
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      event_id: typeof event?.id === 'string' ? event.id : '',
      type: typeof event?.type === 'string' ? event.type : '',
      reason,
      raw: (message.value?.toString('utf8') ?? '').slice(0, MAX_RAW_CHARS),
    },
  });
  let event: EventEnvelope;
  try {
    event = parseEvent(message.value);
  } catch (error) {
    if (error instanceof InvalidEventError) return reject(error.message);
    throw error;
  }
  if (event.tenant !== message.tenant) {
    return reject(
      `envelope names tenant "${event.tenant}" on the topic of tenant "${message.tenant}"`,
      event,
    );
  }
  const checker = payloadCheckers[event.type];
  const error = checker?.Errors(event.payload).First();
  if (error) {
    return reject(
      `invalid ${event.type} payload: ${error.path || '(payload)'} ${error.message.toLowerCase()}`,
      event,
    );
  }
  return { ok: true, row: eventRow(event) };
}
