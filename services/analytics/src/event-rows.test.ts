import { randomUUID } from 'node:crypto';
import { serializeEvent } from '@tenantry/events';
import { expect, test } from 'vitest';
import { type KafkaRecord, toIngestible } from './event-rows.ts';
import { invoiceIssued, messageCompleted } from './test-events.ts';

function record(value: string | null, tenant = 'acme'): KafkaRecord {
  return {
    tenant,
    topic: `tenantry.${tenant}.events`,
    partition: 0,
    offset: '7',
    value: value === null ? null : Buffer.from(value),
  };
}

test('a chat message becomes a row with its tokens, cost and latency as columns', () => {
  const userId = randomUUID();
  const event = messageCompleted('acme', '2026-03-02T12:00:00.500Z', {
    userId,
    inputTokens: 12,
    outputTokens: 34,
    costMicroUsd: 560,
    timeToFirstTokenMs: null,
  });
  const result = toIngestible(record(serializeEvent(event)));
  expect(result).toMatchObject({
    ok: true,
    row: {
      tenant: 'acme',
      id: event.id,
      occurred_at: '2026-03-02 12:00:00.500',
      user_id: userId,
      provider: 'openai',
      input_tokens: 12,
      output_tokens: 34,
      cost_micro_usd: 560,
      ttft_ms: null,
    },
  });
});

test('an invoice keeps its total and service period', () => {
  const event = invoiceIssued('acme', '2026-03-02T08:00:00.000Z', {
    totalMinor: 2_900,
    periodStart: '2026-03-01T00:00:00.000Z',
    periodEnd: '2026-03-31T00:00:00.000Z',
  });
  expect(toIngestible(record(serializeEvent(event)))).toMatchObject({
    ok: true,
    row: {
      amount_minor: 2_900,
      currency: 'usd',
      period_start: '2026-03-01 00:00:00.000',
      period_end: '2026-03-31 00:00:00.000',
    },
  });
});

test('rejections say why: no value, not JSON, an invalid envelope, another tenant, a broken contract', () => {
  const reasons = (value: string | null, tenant?: string) => {
    const result = toIngestible(record(value, tenant));
    return result.ok ? 'stored' : result.rejected.reason;
  };
  expect(reasons(null)).toMatch(/no value/);
  expect(reasons('{oops')).toMatch(/not JSON/);
  expect(reasons(JSON.stringify({ id: 'x' }))).toMatch(/invalid event: field "\w+"/);
  const event = messageCompleted('acme', '2026-03-02T12:00:00.000Z', { userId: 'u1' });
  expect(reasons(serializeEvent(event), 'globex')).toMatch(
    /names tenant "acme" on the topic of tenant "globex"/,
  );
  expect(reasons(serializeEvent({ ...event, payload: { ...event.payload, inputTokens: -1 } }))).toMatch(
    /invalid chat.message_completed payload: \/inputTokens/,
  );
  // A type without a contract is stored as it is.
  expect(reasons(serializeEvent({ ...event, type: 'chat.something_new', payload: { anything: true } }))).toBe(
    'stored',
  );
});
