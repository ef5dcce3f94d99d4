import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { devstack, test, uniqueName } from '@tenantry/devstack/testing';
import { activeTraceId, startTelemetry, type Telemetry } from '@tenantry/telemetry';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, expect, onTestFinished } from 'vitest';
import { createEventConsumer } from './consumer.ts';
import { createEvent } from './envelope.ts';
import { appendToOutbox } from './outbox.ts';
import { createOutboxRelay } from './relay.ts';
// Provisions a tenant with the operator's building blocks.
import { provisionTenant, testKafka } from './test-support.ts';

/**
 * The trace of a request reaches the consumers of the events it caused: through the outbox row, the
 * relay and Kafka's headers, on the devstack's real PostgreSQL and Kafka.
 */
const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
let kafka: Kafka;
let kafkaAdmin: Admin;
const POLL = { timeout: 60_000, interval: 100 };

beforeAll(async () => {
  telemetry = startTelemetry({
    serviceName: 'kafka-trace-test',
    spanProcessor: new SimpleSpanProcessor({ exporter }),
  });
  kafka = testKafka(devstack().kafka.brokers);
  kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
});

afterAll(async () => {
  await kafkaAdmin.disconnect();
  await telemetry.shutdown();
});

test('the handler of an event runs in the trace of the request that appended it', async () => {
  const t = await provisionTenant(
    { postgresUrl: devstack().postgres.url, kafkaAdmin },
    { tenant: uniqueName('trace') },
  );
  onTestFinished(() => t.remove());
  const event = createEvent({ type: 'user.signed_up', tenant: t.tenant, aggregateId: 'user-1', payload: {} });

  const requestTraceId = await trace
    .getTracer('test')
    .startActiveSpan('POST /api/auth/signup', async (span) => {
      try {
        await t.sql.begin((tx) => appendToOutbox(tx, event));
        return span.spanContext().traceId;
      } finally {
        span.end();
      }
    });

  // Relayed outside any span: the context travels with the outbox row, not with the relay.
  const relay = createOutboxRelay({ kafka, tenants: () => [{ tenant: t.tenant, sql: t.sql }] });
  onTestFinished(() => relay.stop());
  expect(activeTraceId()).toBeUndefined();
  expect(await relay.relayOnce(t.tenant)).toBe(1);

  const handled: { eventId: string; traceId: string | undefined }[] = [];
  const groupId = uniqueName('trace-consumer');
  const consumer = createEventConsumer({
    kafka,
    groupId,
    consumerName: 'telemetry-test',
    tenantSql: () => t.sql,
    topicPattern: new RegExp(`^tenantry\\.${t.tenant}\\.events$`),
    topicCheckIntervalMs: 500,
    handle: async (received, tx) => {
      await tx`select 1`;
      handled.push({ eventId: received.id, traceId: activeTraceId() });
    },
  });
  onTestFinished(async () => {
    await consumer.stop();
    await kafkaAdmin.deleteGroups([groupId]).catch(() => {});
  });
  await consumer.start();

  await expect.poll(() => handled, POLL).toEqual([{ eventId: event.id, traceId: requestTraceId }]);
  expect(exporter.getFinishedSpans().map((span) => span.spanContext().traceId)).toEqual([requestTraceId]);
});
