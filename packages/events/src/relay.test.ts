import { devstack, test } from '@tenantry/devstack/testing';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, onTestFinished } from 'vitest';
import { createEvent, type EventEnvelope } from './envelope.ts';
import { appendToOutbox } from './outbox.ts';
import { createOutboxRelay, type OutboxRelayOptions } from './relay.ts';
import {
  createTenantTopic,
  messageCount,
  outboxRows,
  provisionTenant,
  readTopic,
  type TestTenant,
  testKafka,
} from './test-support.ts';

/** The relay against the test devstack's PostgreSQL and Kafka; each test provisions its own tenant. */
let kafka: Kafka;
let kafkaAdmin: Admin;
const POLL = { timeout: 60_000, interval: 100 };

beforeAll(async () => {
  kafka = testKafka(devstack().kafka.brokers);
  kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
});

afterAll(async () => {
  await kafkaAdmin.disconnect();
});

async function tenantForTest(options: { withTopic?: boolean } = {}): Promise<TestTenant> {
  const t = await provisionTenant({ postgresUrl: devstack().postgres.url, kafkaAdmin }, options);
  onTestFinished(() => t.remove());
  return t;
}

function relayFor(t: TestTenant, options: Partial<OutboxRelayOptions> = {}) {
  const relay = createOutboxRelay({ kafka, tenants: () => [{ tenant: t.tenant, sql: t.sql }], ...options });
  onTestFinished(() => relay.stop());
  return relay;
}

function event(t: TestTenant, aggregateId: string, payload: unknown): EventEnvelope {
  return createEvent({ type: 'test.something_happened', tenant: t.tenant, aggregateId, payload });
}

describe('outbox relay', () => {
  test('an event is published exactly when its transaction commits', async () => {
    const t = await tenantForTest();
    const committed = event(t, 'user-1', { n: 1 });
    const rolledBack = event(t, 'user-1', { n: 2 });
    await t.sql.begin((tx) => appendToOutbox(tx, committed));
    await expect(
      t.sql.begin(async (tx) => {
        await appendToOutbox(tx, rolledBack);
        throw new Error('the state change failed');
      }),
    ).rejects.toThrow('the state change failed');
    const relay = relayFor(t);

    expect(await relay.relayOnce(t.tenant)).toBe(1);
    expect(await relay.relayOnce(t.tenant)).toBe(0);

    const [received] = await readTopic(kafka, t.topic, 1);
    expect(received?.event).toEqual(committed);
    expect(received?.key).toBe('user-1');
    expect(await messageCount(kafkaAdmin, t.topic)).toBe(1);
    const rows = await outboxRows(t.sql);
    expect(rows).toEqual([{ id: committed.id, publishedAt: expect.any(Date), attempts: 1, lastError: null }]);
  });

  test('publishes in append order, batch by batch', async () => {
    const t = await tenantForTest();
    const events = [1, 2, 3, 4, 5].map((n) => event(t, 'order-1', { n }));
    await t.sql.begin(async (tx) => {
      for (const e of events) await appendToOutbox(tx, e);
    });
    const relay = relayFor(t, { batchSize: 2 });

    const batches = [];
    for (let i = 0; i < 4; i++) batches.push(await relay.relayOnce(t.tenant));

    expect(batches).toEqual([2, 2, 1, 0]);
    const received = await readTopic(kafka, t.topic, 5);
    expect(received.map((r) => r.event.id)).toEqual(events.map((e) => e.id));
  });

  test('a failed send leaves the events unpublished with the attempt recorded; they go out once it succeeds', async () => {
    const t = await tenantForTest({ withTopic: false });
    const e = event(t, 'user-1', { n: 1 });
    await t.sql.begin((tx) => appendToOutbox(tx, e));
    const relay = relayFor(t);

    await expect(relay.relayOnce(t.tenant)).rejects.toThrow(
      `while publishing 1 event(s) (first ${e.id}) of tenant ${t.tenant} to ${t.topic}`,
    );
    const [failed] = await outboxRows(t.sql);
    expect(failed).toMatchObject({ publishedAt: null, attempts: 1, lastError: expect.any(String) });

    await createTenantTopic(kafkaAdmin, t.tenant);
    expect(await relay.relayOnce(t.tenant)).toBe(1);
    const [published] = await outboxRows(t.sql);
    expect(published).toMatchObject({ publishedAt: expect.any(Date), attempts: 2 });
    expect((await readTopic(kafka, t.topic, 1))[0]?.event).toEqual(e);
  });

  test("publishes only the database's own tenant's events", async () => {
    const t = await tenantForTest();
    const foreign = createEvent({
      type: 'test.leaked',
      tenant: 'other-tenant',
      aggregateId: 'x',
      payload: 1,
    });
    await t.sql.begin((tx) => appendToOutbox(tx, foreign));

    expect(await relayFor(t).relayOnce(t.tenant)).toBe(0);
    expect(await messageCount(kafkaAdmin, t.topic)).toBe(0);
  });

  test('started, it publishes in the background until stopped', async () => {
    const t = await tenantForTest();
    const relay = relayFor(t, { pollIntervalMs: 50 });
    relay.start();

    const e = event(t, 'user-1', { n: 1 });
    await t.sql.begin((tx) => appendToOutbox(tx, e));

    await expect.poll(() => messageCount(kafkaAdmin, t.topic), POLL).toBe(1);
    await relay.stop();
    await t.sql.begin((tx) => appendToOutbox(tx, event(t, 'user-1', { n: 2 })));
    await expect(relay.relayOnce(t.tenant)).resolves.toBe(1);
  });

  test('two relays on one tenant publish every event once, in order', async () => {
    const t = await tenantForTest();
    const events = Array.from({ length: 30 }, (_, n) => event(t, 'order-1', { n }));
    await t.sql.begin(async (tx) => {
      for (const e of events) await appendToOutbox(tx, e);
    });
    const relays = [1, 2].map(() => relayFor(t, { batchSize: 3, pollIntervalMs: 10 }));
    for (const relay of relays) relay.start();

    await expect
      .poll(async () => (await outboxRows(t.sql)).filter((r) => r.publishedAt === null).length, POLL)
      .toBe(0);
    expect(await messageCount(kafkaAdmin, t.topic)).toBe(30);
    const received = await readTopic(kafka, t.topic, 30);
    expect(received.map((r) => r.event.id)).toEqual(events.map((e) => e.id));
  });
});
