import { setTimeout as sleep } from 'node:timers/promises';
import { devstack, test, uniqueName } from '@tenantry/devstack/testing';
import type { Admin, Kafka } from 'kafkajs';
import type { Sql, TransactionSql } from 'postgres';
import { afterAll, beforeAll, describe, expect, onTestFinished } from 'vitest';
import { createEventConsumer, type EventConsumerOptions } from './consumer.ts';
import { createEvent, type EventEnvelope, serializeEvent } from './envelope.ts';
import { provisionTenant, type TestTenant, testKafka } from './test-support.ts';

/**
 * The consumer against the test devstack. Each test consumes only its own tenants' topics (the
 * pattern names them), handles events by inserting into a table of the tenant database, and asserts
 * on that table: the handler's effect, committed or not.
 */
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

/** A provisioned tenant with a `handled` table the handlers write their effect to. */
async function tenantForTest(tenant = uniqueName('ev')): Promise<TestTenant> {
  const t = await provisionTenant({ postgresUrl: devstack().postgres.url, kafkaAdmin }, { tenant });
  onTestFinished(() => t.remove());
  await t.ownerSql`create table handled (event_id uuid not null, type text not null)`;
  return t;
}

async function recordEffect(event: EventEnvelope, tx: TransactionSql): Promise<void> {
  await tx`insert into handled (event_id, type) values (${event.id}, ${event.type})`;
}

async function effects(t: TestTenant, event: EventEnvelope): Promise<number> {
  const [row] = await t.sql<{ count: number }[]>`
    select count(*)::int as count from handled where event_id = ${event.id}
  `;
  return row?.count ?? 0;
}

async function processed(t: TestTenant, event: EventEnvelope) {
  return t.sql<{ consumer: string; failure: string | null }[]>`
    select consumer, failure from processed_events where event_id = ${event.id}
  `;
}

function eventFor(t: TestTenant, type: string, aggregateId = 'agg-1'): EventEnvelope {
  return createEvent({ type, tenant: t.tenant, aggregateId, payload: { at: Date.now() } });
}

/**
 * A producer per call: a kafkajs producer keeps every topic it ever sent to in its metadata requests,
 * and fails them all once one of those topics is deleted (as each test deletes its tenant's).
 */
async function publish(topic: string, key: string, ...values: string[]): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, messages: values.map((value) => ({ key, value })) });
  } finally {
    await producer.disconnect();
  }
}

/** Consumes exactly `tenants`' topics (those not yet created too) with a group of its own. */
async function startConsumer(
  tenants: string[],
  sqlOf: (tenant: string) => Sql,
  options: Partial<EventConsumerOptions> = {},
) {
  const groupId = uniqueName('events-consumer');
  const consumer = createEventConsumer({
    kafka,
    groupId,
    consumerName: 'test-service',
    tenantSql: sqlOf,
    handle: recordEffect,
    topicPattern: new RegExp(`^tenantry\\.(${tenants.join('|')})\\.events$`),
    topicCheckIntervalMs: 500,
    retryBackoffMs: 50,
    ...options,
  });
  onTestFinished(async () => {
    await consumer.stop();
    await kafkaAdmin.deleteGroups([groupId]).catch(() => {});
  });
  await consumer.start();
  return consumer;
}

describe('event consumer', () => {
  test('a duplicate delivery is handled once', async () => {
    const t = await tenantForTest();
    const event = eventFor(t, 'test.duplicated');
    const after = eventFor(t, 'test.after');
    // Same key, same partition: once `after` is handled, both copies were consumed before it.
    await publish(t.topic, 'agg-1', serializeEvent(event), serializeEvent(event), serializeEvent(after));

    await startConsumer([t.tenant], () => t.sql);

    await expect.poll(() => effects(t, after), POLL).toBe(1);
    expect(await effects(t, event)).toBe(1);
    expect(await processed(t, event)).toEqual([{ consumer: 'test-service', failure: null }]);
  });

  test('events of types it does not handle are passed over without a record', async () => {
    const t = await tenantForTest();
    const ignored = eventFor(t, 'test.other_business');
    const handled = eventFor(t, 'test.handled');
    await publish(t.topic, 'agg-1', serializeEvent(ignored), serializeEvent(handled));

    await startConsumer([t.tenant], () => t.sql, { types: ['test.handled'] });

    await expect.poll(() => effects(t, handled), POLL).toBe(1);
    expect(await effects(t, ignored)).toBe(0);
    expect(await processed(t, ignored)).toEqual([]);
  });

  test('picks up the topic of a tenant created after it started', async () => {
    const early = await tenantForTest();
    const lateName = uniqueName('ev');
    const tenants = new Map<string, Sql>([[early.tenant, early.sql]]);
    const sqlOf = (tenant: string) => {
      const sql = tenants.get(tenant);
      if (!sql) throw new Error(`unknown tenant ${tenant}`);
      return sql;
    };
    await startConsumer([early.tenant, lateName], sqlOf);
    const first = eventFor(early, 'test.early');
    await publish(early.topic, 'agg-1', serializeEvent(first));
    await expect.poll(() => effects(early, first), POLL).toBe(1);

    const late = await tenantForTest(lateName);
    tenants.set(late.tenant, late.sql);
    const second = eventFor(late, 'test.late');
    await publish(late.topic, 'agg-1', serializeEvent(second));

    await expect.poll(() => effects(late, second), POLL).toBe(1);
    const third = eventFor(early, 'test.early_again');
    await publish(early.topic, 'agg-1', serializeEvent(third));
    await expect.poll(() => effects(early, third), POLL).toBe(1);
    expect(await effects(early, first)).toBe(1);
  });

  test('a handler error rolls back, and the event is retried', async () => {
    const t = await tenantForTest();
    const event = eventFor(t, 'test.flaky');
    let calls = 0;
    const handle = async (e: EventEnvelope, tx: TransactionSql) => {
      calls++;
      await recordEffect(e, tx);
      if (calls === 1) throw new Error('the mail server hung up');
    };
    await publish(t.topic, 'agg-1', serializeEvent(event));

    await startConsumer([t.tenant], () => t.sql, { handle });

    await expect.poll(async () => (await processed(t, event)).length, POLL).toBe(1);
    expect(calls).toBe(2);
    // The first attempt's insert was rolled back with its processed_events row.
    expect(await effects(t, event)).toBe(1);
    expect(await processed(t, event)).toEqual([{ consumer: 'test-service', failure: null }]);
  });

  test('a poison event is recorded and skipped after maxAttempts; so is an invalid message', async () => {
    const t = await tenantForTest();
    const poison = eventFor(t, 'test.poison');
    const foreign = createEvent({
      type: 'test.foreign',
      tenant: 'other-tenant',
      aggregateId: 'agg-1',
      payload: 1,
    });
    const after = eventFor(t, 'test.after');
    let poisonCalls = 0;
    const handle = async (e: EventEnvelope, tx: TransactionSql) => {
      if (e.type === 'test.poison') {
        poisonCalls++;
        throw new Error('cannot handle this one');
      }
      await recordEffect(e, tx);
    };
    await publish(
      t.topic,
      'agg-1',
      serializeEvent(poison),
      '{"not": "an envelope"}',
      serializeEvent(foreign),
      serializeEvent(after),
    );

    await startConsumer([t.tenant], () => t.sql, { handle, maxAttempts: 3 });

    await expect.poll(() => effects(t, after), POLL).toBe(1);
    expect(poisonCalls).toBe(3);
    expect(await processed(t, poison)).toEqual([
      { consumer: 'test-service', failure: 'cannot handle this one' },
    ]);
    expect(await processed(t, foreign)).toEqual([]);
    // Recorded as processed: a redelivery is not retried.
    await publish(t.topic, 'agg-1', serializeEvent(poison), serializeEvent(eventFor(t, 'test.last')));
    await expect
      .poll(async () => (await t.sql`select 1 from handled where type = 'test.last'`).length, POLL)
      .toBe(1);
    expect(poisonCalls).toBe(3);
  });

  test('lag counts what is on the partition past the committed offset, down to 0 once consumed', async () => {
    const t = await tenantForTest();
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The first event holds the partition until released: nothing is committed meanwhile.
    const handle = async (e: EventEnvelope, tx: TransactionSql) => {
      await released;
      await recordEffect(e, tx);
    };
    const events = Array.from({ length: 5 }, () => eventFor(t, 'test.lagging'));
    await publish(t.topic, 'agg-1', ...events.map((e) => serializeEvent(e)));
    const consumer = await startConsumer([t.tenant], () => t.sql, { handle });
    // Released at the end even when an assertion fails, so stop() does not wait on the handler.
    onTestFinished(() => release());

    const lagOf = async () => (await consumer.lag()).reduce((total, p) => total + p.lag, 0);
    const partitions = await consumer.lag();
    expect(partitions.map((p) => p.topic)).toEqual(partitions.map(() => t.topic));
    expect(partitions.length).toBeGreaterThan(0);
    expect(await lagOf()).toBe(5);

    release();
    await expect.poll(() => effects(t, events[4] as EventEnvelope), POLL).toBe(1);
    await expect.poll(lagOf, POLL).toBe(0);
  });

  test('a tenant whose database is unavailable waits, without holding up other tenants or being marked poison', async () => {
    const [down, up] = [await tenantForTest(), await tenantForTest()];
    let available = false;
    const unavailable = Object.assign(new Error(`the database of tenant ${down.tenant} is unavailable`), {
      statusCode: 503,
    });
    const waiting = eventFor(down, 'test.waiting');
    await publish(down.topic, 'agg-1', serializeEvent(waiting));
    // One partition at a time: a partition held by the unavailable tenant would starve the other.
    await startConsumer([down.tenant, up.tenant], (tenant) => (tenant === down.tenant ? down.sql : up.sql), {
      partitionsConsumedConcurrently: 1,
      maxAttempts: 2,
      unavailablePauseMs: 300,
      handle: async (e, tx) => {
        if (e.tenant === down.tenant && !available) throw unavailable;
        await recordEffect(e, tx);
      },
    });
    await sleep(1_000);
    const others = Array.from({ length: 3 }, () => eventFor(up, 'test.other'));
    for (const e of others) await publish(up.topic, 'agg-1', serializeEvent(e));
    for (const e of others) await expect.poll(() => effects(up, e), POLL).toBe(1);
    // Not recorded as poison however often it was tried: the failure was the database's, not the event's.
    expect(await processed(down, waiting)).toEqual([]);

    available = true;
    await expect.poll(() => effects(down, waiting), POLL).toBe(1);
    expect(await processed(down, waiting)).toEqual([{ consumer: 'test-service', failure: null }]);
  });

  test('topics of tenants it does not serve are left alone, and read from the beginning once it does', async () => {
    const t = await tenantForTest();
    const early = eventFor(t, 'test.early');
    await publish(t.topic, 'agg-1', serializeEvent(early));
    let served = false;
    const consumer = await startConsumer([t.tenant], () => t.sql, { serves: () => served });
    await sleep(1_500);
    expect(await effects(t, early)).toBe(0);
    // Not subscribed at all: no partition of it, so nothing retried or paused meanwhile.
    expect(await consumer.lag()).toEqual([]);

    served = true;
    await expect.poll(() => effects(t, early), POLL).toBe(1);
  });
});
