import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { down, type Endpoints, loadConfig, silentProgress, up } from '@tenantry/devstack';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createEvent, type EventEnvelope } from './envelope.ts';
import { appendToOutbox } from './outbox.ts';
import { createOutboxRelay } from './relay.ts';
import { messageCount, outboxRows, provisionTenant, readTopic, testKafka } from './test-support.ts';

/**
 * The relay through a real Kafka outage. It runs against a private PostgreSQL and Kafka of this
 * file's own (a second devstack, postgres + kafka only), so Kafka can really be stopped and started
 * without disturbing other test files.
 */
const stateDir = mkdtempSync(join(tmpdir(), 'tenantry-events-outage-'));
const privateStack = loadConfig('test', {
  ...process.env,
  TENANTRY_STATE_DIR: stateDir,
  TENANTRY_INFRA: 'local',
});
const SLOW = { timeout: 120_000, interval: 200 };
let endpoints: Endpoints;
let kafka: Kafka;
let kafkaAdmin: Admin;

beforeAll(async () => {
  ({ endpoints } = await up(privateStack, silentProgress, { only: ['postgres', 'kafka'] }));
  kafka = testKafka(endpoints.kafka.brokers);
  kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
}, 180_000);

afterAll(async () => {
  await kafkaAdmin?.disconnect();
  await down(privateStack, silentProgress);
  rmSync(stateDir, { recursive: true, force: true });
}, 180_000);

describe('outbox relay during a Kafka outage', { timeout: 180_000 }, () => {
  test('events appended while Kafka is down are all published once it is back, in order per aggregate', async () => {
    const t = await provisionTenant({ postgresUrl: endpoints.postgres.url, kafkaAdmin });
    const relay = createOutboxRelay({
      kafka,
      tenants: () => [{ tenant: t.tenant, sql: t.sql }],
      batchSize: 4,
      pollIntervalMs: 100,
      maxBackoffMs: 1_000,
    });
    const append = async (aggregateId: string, n: number): Promise<EventEnvelope> => {
      const event = createEvent({ type: 'test.counted', tenant: t.tenant, aggregateId, payload: { n } });
      await t.sql.begin((tx) => appendToOutbox(tx, event));
      return event;
    };
    const unpublished = async () => (await outboxRows(t.sql)).filter((r) => r.publishedAt === null);
    try {
      relay.start();
      const before = await append('a', 0);
      await expect.poll(async () => (await unpublished()).length, SLOW).toBe(0);

      await down(privateStack, silentProgress, { only: ['kafka'] });
      const during: EventEnvelope[] = [];
      for (let n = 1; n <= 6; n++) {
        during.push(await append('a', n), await append('b', n));
      }
      // The relay keeps trying, and says so in the rows it claimed.
      await expect
        .poll(async () => (await unpublished()).some((r) => r.attempts >= 2 && r.lastError !== null), SLOW)
        .toBe(true);
      expect(await unpublished()).toHaveLength(during.length);

      await up(privateStack, silentProgress, { only: ['kafka'] });
      await expect.poll(async () => (await unpublished()).length, SLOW).toBe(0);

      const expected = [before, ...during];
      // At least once: a send that reached Kafka but failed to report it is sent again.
      expect(await messageCount(kafkaAdmin, t.topic)).toBeGreaterThanOrEqual(expected.length);
      const received = await readTopic(kafka, t.topic, expected.length);
      const firstSeen = [...new Map(received.map((r) => [r.event.id, r.event])).values()];
      expect(new Set(firstSeen.map((e) => e.id))).toEqual(new Set(expected.map((e) => e.id)));
      for (const aggregate of ['a', 'b']) {
        const order = (events: EventEnvelope[]) =>
          events.filter((e) => e.aggregateId === aggregate).map((e) => (e.payload as { n: number }).n);
        expect(order(firstSeen)).toEqual(order(expected));
      }
      const rows = await outboxRows(t.sql);
      expect(rows.filter((r) => r.attempts > 1).every((r) => r.lastError !== null)).toBe(true);
    } finally {
      await relay.stop();
      await t.remove();
    }
  });
});
