import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClickHouseClient, createClickHouse } from '@tenantry/clickhouse';
import { devstack, uniqueName, until } from '@tenantry/devstack/testing';
import { createEvent, type EventEnvelope, serializeEvent } from '@tenantry/events';
import { type Role, TENANT_HEADER, TenantKeys } from '@tenantry/identity';
import { createLogger } from '@tenantry/logger';
import type { ServiceInstance } from '@tenantry/service-kit';
import { startTenantRuntime, type TenantRuntime } from '@tenantry/service-runtime';
import { eventsTopic } from '@tenantry/tenant-api';
import { type OperatorHarness, startOperatorHarness } from '@tenantry/tenant-operator/testing';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildAnalyticsService } from './analytics-service.ts';
import { applyClickHouseSchema } from './clickhouse-schema.ts';
import { type AnalyticsConfig, loadAnalyticsConfig } from './config.ts';
import { ENDPOINTS } from './endpoints.ts';
import {
  invoiceIssued,
  messageCompleted,
  paymentSucceeded,
  signedUp,
  subscriptionChanged,
} from './test-events.ts';

/**
 * The analytics service end to end: tenants onboarded by the real operator (so their topics exist),
 * events produced to those topics as the outbox relay publishes them, the real ClickHouse engine
 * (in-process chdb, or a server when the devstack has one), requests through the app.
 */

// kafkajs is CommonJS: Node's ESM loader exposes only its default export reliably.
const { Kafka, logLevel } = kafkajs;

/** An event's way: Kafka, group join, buffer, insert. Generous: the machine is shared. */
const EVENTUALLY = { timeout: 60_000, interval: 200 };
const READY = { timeout: 120_000, interval: 250 };
/** Small, so that a 10-day daily query shows truncation. */
const MAX_ROWS = 5;

let h: OperatorHarness;
let runtime: TenantRuntime;
let signer: TenantKeys;
let clickhouse: ClickHouseClient;
let config: AnalyticsConfig;
let app: ServiceInstance;
let producer: kafkajs.Producer;
let scratch: string | undefined;
let tenantA: string;
let tenantB: string;
let tenantC: string;
let groupId: string;
let database: string;

const logger = createLogger({ service: 'analytics', level: 'fatal' });

function kafka() {
  return new Kafka({
    clientId: 'analytics-test',
    brokers: devstack().kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
}

function buildApp(): Promise<ServiceInstance> {
  return buildAnalyticsService({
    runtime,
    config,
    logger,
    clickhouse,
    events: {
      groupId,
      topicPattern: new RegExp(`^tenantry\\.(${tenantA}|${tenantB}|${tenantC})\\.events$`),
      topicCheckIntervalMs: 1_000,
    },
  });
}

beforeAll(async () => {
  h = await startOperatorHarness();
  tenantA = h.tenantName('an-a');
  tenantB = h.tenantName('an-b');
  tenantC = h.tenantName('an-c');
  await Promise.all([h.createTenant(tenantA, {}), h.createTenant(tenantB, {})]);
  for (const tenant of [tenantA, tenantB]) {
    await until(
      `tenant ${tenant} Ready`,
      async () => (await h.condition(tenant, 'Ready'))?.status === 'True',
      READY,
    );
  }

  const endpoint = devstack().clickhouse;
  database = uniqueName('analytics').replace('-', '_');
  if (endpoint.mode === 'http') {
    clickhouse = await createClickHouse(endpoint);
  } else {
    // The embedded engine binds one data directory per process, and the devstack's is not this one's.
    scratch = mkdtempSync(join(tmpdir(), 'tenantry-analytics-'));
    clickhouse = await createClickHouse({ mode: 'embedded', path: scratch });
  }
  config = loadAnalyticsConfig({
    PLATFORM_NAMESPACE: h.namespace,
    KAFKA_BROKERS: devstack().kafka.brokers.join(','),
    DB_MAX_CONNECTIONS_PER_TENANT: '1',
    CLICKHOUSE_DATABASE: database,
    INGEST_BATCH_ROWS: '200',
    INGEST_LINGER_MS: '100',
    QUERY_MAX_ROWS: String(MAX_ROWS),
    LOG_LEVEL: 'fatal',
  });
  runtime = await startTenantRuntime({ service: 'analytics', settings: config, logger, kc: h.admin });
  signer = await TenantKeys.start({ kc: h.admin, namespace: h.keysNamespace, signing: true });
  await until(
    'the runtime to follow both tenants',
    async () =>
      [tenantA, tenantB].every((t) => runtime.databases.has(t) && runtime.keys.has(t) && signer.has(t)),
    READY,
  );
  groupId = uniqueName('analytics-test');
  producer = kafka().producer();
  await producer.connect();
  app = await buildApp();
});

afterAll(async () => {
  await producer?.disconnect();
  await app?.close();
  await runtime?.close();
  await signer?.close();
  if (groupId) {
    const admin = kafka().admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect();
  }
  await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => {});
  await clickhouse?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  await h?.stop();
});

async function produce(events: EventEnvelope[], topicTenant?: string) {
  const byTopic = new Map<string, { key: string; value: string }[]>();
  for (const event of events) {
    const topic = eventsTopic(topicTenant ?? event.tenant);
    const list = byTopic.get(topic) ?? [];
    list.push({ key: event.aggregateId, value: serializeEvent(event) });
    byTopic.set(topic, list);
  }
  await producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
}

async function token(tenant: string, role: Role) {
  return signer.sign({
    sub: randomUUID(),
    tenant,
    role,
    email: `someone@${tenant}.test`,
    emailVerified: true,
    sid: randomUUID(),
  });
}

async function get(tenant: string, path: string, role: Role = 'admin', headerTenant = tenant) {
  const response = await app.inject({
    method: 'GET',
    url: `/api/analytics/${path}`,
    headers: { [TENANT_HEADER]: headerTenant, authorization: `Bearer ${await token(tenant, role)}` },
  });
  return { status: response.statusCode, body: response.json() };
}

async function data(tenant: string, path: string): Promise<unknown[]> {
  const { status, body } = await get(tenant, path);
  if (status !== 200) throw new Error(`GET ${path} answered ${status}: ${JSON.stringify(body)}`);
  return body.data;
}

async function scalar(sql: string, params: Record<string, unknown>): Promise<number> {
  const result = await clickhouse.query({ query: sql, query_params: params, format: 'JSONEachRow' });
  const [row] = await result.json<{ n: string }>();
  return Number(row?.n ?? 0);
}

// Tenant A's story, in early March 2026: three signups (one before the range), chat, a plan, an
// invoice and a payment.
const u1 = randomUUID();
const u2 = randomUUID();
const u3 = randomUUID();
const RANGE = 'startDate=2026-03-02&endDate=2026-03-08';

describe('tenant A in ClickHouse, through the endpoints', () => {
  beforeAll(async () => {
    const a = tenantA;
    await produce([
      signedUp(a, randomUUID(), '2026-02-20T09:00:00.000Z'),
      signedUp(a, u1, '2026-03-02T10:00:00.000Z'),
      signedUp(a, u2, '2026-03-02T11:00:00.000Z'),
      // 23:30 UTC on the 4th is the 5th in Tokyo.
      signedUp(a, u3, '2026-03-04T23:30:00.000Z'),
      messageCompleted(a, '2026-03-02T12:00:00.000Z', {
        userId: u1,
        inputTokens: 100,
        outputTokens: 50,
        costMicroUsd: 1_500,
        durationMs: 1_000,
        timeToFirstTokenMs: 200,
      }),
      messageCompleted(a, '2026-03-03T12:00:00.000Z', {
        userId: u1,
        provider: 'anthropic',
        model: 'claude-sonnet',
        inputTokens: 200,
        outputTokens: 100,
        costMicroUsd: 3_000,
        durationMs: 2_000,
        timeToFirstTokenMs: null,
      }),
      messageCompleted(a, '2026-03-03T13:00:00.000Z', {
        userId: u2,
        inputTokens: 10,
        outputTokens: 5,
        costMicroUsd: 150,
        durationMs: 500,
        timeToFirstTokenMs: null,
        status: 'failed',
      }),
      subscriptionChanged(a, 'pro', '2026-03-01T08:00:00.000Z'),
      invoiceIssued(a, '2026-03-02T08:00:00.000Z', {
        totalMinor: 2_900,
        periodStart: '2026-03-01T00:00:00.000Z',
        periodEnd: '2026-03-31T00:00:00.000Z',
      }),
      paymentSucceeded(a, '2026-03-03T09:00:00.000Z', 2_000),
      // Tenant B's own traffic on the same days: never in A's answers.
      signedUp(tenantB, randomUUID(), '2026-03-02T10:00:00.000Z'),
      messageCompleted(tenantB, '2026-03-02T10:00:00.000Z', { userId: randomUUID(), costMicroUsd: 999_999 }),
    ]);
    await until(
      "tenant A's events stored",
      async () =>
        (await data(tenantA, `revenue/total?${RANGE}`)).length === 1 &&
        (await data(tenantA, `users/growth?${RANGE}`)).length === 2 &&
        (await data(tenantA, `chat/activity?${RANGE}`)).length === 2,
      EVENTUALLY,
    );
  });

  test('users: signups, growth, active and top users, by day and in another time zone', async () => {
    expect(await data(tenantA, `users/signups?${RANGE}`)).toEqual([
      { bucket: '2026-03-02', signups: 2 },
      { bucket: '2026-03-04', signups: 1 },
    ]);
    expect(await data(tenantA, `users/signups?${RANGE}&tz=Asia/Tokyo`)).toEqual([
      { bucket: '2026-03-02', signups: 2 },
      { bucket: '2026-03-05', signups: 1 },
    ]);
    expect(await data(tenantA, `users/growth?${RANGE}`)).toEqual([
      { bucket: '2026-03-02', signups: 2, totalUsers: 3 },
      { bucket: '2026-03-04', signups: 1, totalUsers: 4 },
    ]);
    expect(await data(tenantA, `users/active?${RANGE}`)).toEqual([
      { bucket: '2026-03-02', activeUsers: 2 },
      { bucket: '2026-03-03', activeUsers: 2 },
      { bucket: '2026-03-04', activeUsers: 1 },
    ]);
    expect(await data(tenantA, `users/active?${RANGE}&interval=week`)).toEqual([
      { bucket: '2026-03-02', activeUsers: 3 },
    ]);
    const top = await data(tenantA, `users/top?${RANGE}&limit=2`);
    expect(top).toEqual([
      { userId: u1, events: 3, messages: 2, tokens: 450, costMicroUsd: 4_500 },
      { userId: u2, events: 2, messages: 1, tokens: 15, costMicroUsd: 150 },
    ]);
  });

  test('chat and providers: tokens, per provider and model, latency, cost, popular models', async () => {
    expect(await data(tenantA, `chat/activity?${RANGE}`)).toEqual([
      { bucket: '2026-03-02', messages: 1, failed: 0 },
      { bucket: '2026-03-03', messages: 2, failed: 1 },
    ]);
    expect(await data(tenantA, `chat/tokens?${RANGE}&interval=week`)).toEqual([
      { bucket: '2026-03-02', inputTokens: 310, outputTokens: 155, totalTokens: 465 },
    ]);
    expect(await data(tenantA, `chat/by-provider?${RANGE}`)).toEqual([
      { provider: 'openai', messages: 2, inputTokens: 110, outputTokens: 55, costMicroUsd: 1_650 },
      { provider: 'anthropic', messages: 1, inputTokens: 200, outputTokens: 100, costMicroUsd: 3_000 },
    ]);
    expect(await data(tenantA, `chat/by-model?${RANGE}`)).toEqual([
      {
        provider: 'openai',
        model: 'gpt-4o',
        messages: 2,
        inputTokens: 110,
        outputTokens: 55,
        costMicroUsd: 1_650,
      },
      {
        provider: 'anthropic',
        model: 'claude-sonnet',
        messages: 1,
        inputTokens: 200,
        outputTokens: 100,
        costMicroUsd: 3_000,
      },
    ]);
    expect(await data(tenantA, `providers/usage?${RANGE}&interval=month`)).toEqual([
      { bucket: '2026-03-01', provider: 'anthropic', messages: 1, totalTokens: 300 },
      { bucket: '2026-03-01', provider: 'openai', messages: 2, totalTokens: 165 },
    ]);
    const performance = await data(tenantA, `providers/performance?${RANGE}`);
    expect(performance).toEqual([
      expect.objectContaining({
        provider: 'anthropic',
        messages: 1,
        failureRate: 0,
        p50DurationMs: 2_000,
        avgTimeToFirstTokenMs: null,
      }),
      expect.objectContaining({
        provider: 'openai',
        messages: 2,
        failureRate: 0.5,
        avgTimeToFirstTokenMs: 200,
      }),
    ]);
    expect(await data(tenantA, `providers/cost?${RANGE}&interval=month`)).toEqual([
      {
        bucket: '2026-03-01',
        provider: 'anthropic',
        costMicroUsd: 3_000,
        totalTokens: 300,
        costPer1kTokensMicroUsd: 10_000,
      },
      {
        bucket: '2026-03-01',
        provider: 'openai',
        costMicroUsd: 1_650,
        totalTokens: 165,
        costPer1kTokensMicroUsd: 10_000,
      },
    ]);
    expect(await data(tenantA, `providers/popular-models?${RANGE}&limit=1`)).toEqual([
      { provider: 'openai', model: 'gpt-4o', messages: 2, share: 0.6667 },
    ]);
  });

  test('revenue: total, over time, MRR, by plan, LTV, and margin against provider cost', async () => {
    expect(await data(tenantA, `revenue/total?${RANGE}`)).toEqual([
      { currency: 'usd', payments: 1, revenueMinor: 2_000 },
    ]);
    expect(await data(tenantA, `revenue/over-time?${RANGE}`)).toEqual([
      { bucket: '2026-03-03', currency: 'usd', payments: 1, revenueMinor: 2_000 },
    ]);
    // 2,900 for a 30-day period, normalised to an average month: 2900 × 30.436875 / 30.
    expect(await data(tenantA, `revenue/mrr?${RANGE}&interval=month`)).toEqual([
      { bucket: '2026-03-01', currency: 'usd', mrrMinor: 2_942 },
    ]);
    expect(await data(tenantA, `revenue/by-plan?${RANGE}`)).toEqual([
      { plan: 'pro', currency: 'usd', invoices: 1, invoicedMinor: 2_900 },
    ]);
    const [ltv] = await data(tenantA, `revenue/ltv?${RANGE}`);
    // 2,000 over 3 active users in a 7-day period (one month at least), each a lifetime of one month.
    expect(ltv).toEqual({
      currency: 'usd',
      revenueMinor: 2_000,
      activeUsers: 3,
      arpuMinor: 667,
      lifetimeMonths: 1,
      ltvMinor: 667,
    });
    expect(await data(tenantA, `revenue/margin?${RANGE}`)).toEqual([
      {
        bucket: '2026-03-02',
        revenueMinor: 0,
        costMicroUsd: 1_500,
        costMinor: 0.15,
        marginMinor: -0.15,
        marginRatio: null,
      },
      {
        bucket: '2026-03-03',
        revenueMinor: 2_000,
        costMicroUsd: 3_150,
        costMinor: 0.315,
        marginMinor: 1_999.685,
        marginRatio: 0.9998,
      },
    ]);
  });

  test('responses carry rows read and elapsed time; rows beyond the cap are cut and say so', async () => {
    const { body } = await get(tenantA, `users/signups?${RANGE}`);
    expect(body.meta).toMatchObject({
      startDate: '2026-03-02',
      endDate: '2026-03-08',
      interval: 'day',
      tz: 'UTC',
      rows: 2,
      truncated: false,
    });
    expect(body.meta.rowsRead).toBeGreaterThan(0);
    expect(body.meta.elapsedMs).toBeGreaterThan(0);

    // One signup a day for 7 days, with MAX_ROWS 5.
    await produce(
      Array.from({ length: 7 }, (_, day) =>
        signedUp(tenantB, randomUUID(), `2026-04-0${day + 1}T12:00:00.000Z`),
      ),
    );
    const week = 'users/signups?startDate=2026-04-01&endDate=2026-04-07';
    await expect.poll(async () => (await get(tenantB, week)).body.meta?.truncated, EVENTUALLY).toBe(true);
    expect((await get(tenantB, week)).body.data).toHaveLength(MAX_ROWS);
  });
});

describe('isolation and bad input', () => {
  test("tenant B never sees A's events, whatever it asks", async () => {
    // A's story is stored (the tests above waited for it); B's answers over the same days hold only B's.
    for (const endpoint of ENDPOINTS) {
      const { status, body } = await get(tenantB, `${endpoint.path}?${RANGE}`);
      expect(status, endpoint.path).toBe(200);
      expect(JSON.stringify(body.data), endpoint.path).not.toContain(u1);
    }
    expect(await data(tenantB, `chat/by-provider?${RANGE}`)).toEqual([
      { provider: 'openai', messages: 1, inputTokens: 10, outputTokens: 5, costMicroUsd: 999_999 },
    ]);
    expect(await data(tenantB, `revenue/total?${RANGE}`)).toEqual([]);
    // No parameter names a tenant: one that tries is refused.
    const named = await get(tenantB, `users/top?${RANGE}&tenant=${tenantA}`);
    expect({ status: named.status, code: named.body.error?.code }).toEqual({
      status: 400,
      code: 'VALIDATION_FAILED',
    });
    // B's token presented at A's host (header) does not verify there.
    expect((await get(tenantB, `users/top?${RANGE}`, 'admin', tenantA)).status).toBe(401);
  });

  test('SQL-ish strings in every parameter are refused or harmless, never a 500', async () => {
    const hostile = [
      "' OR 1=1 --",
      "2026-03-02' OR tenant != '",
      '1; DROP TABLE events',
      "UTC') OR ('1'='1",
      '{tenant:String}',
    ];
    const parameters = ['startDate', 'endDate', 'interval', 'tz', 'limit', 'tenant'];
    for (const endpoint of ENDPOINTS.filter((_, i) => i % 3 === 0)) {
      for (const parameter of parameters) {
        for (const value of hostile) {
          const { status, body } = await get(
            tenantB,
            `${endpoint.path}?${parameter}=${encodeURIComponent(value)}`,
          );
          expect([200, 400], `${endpoint.path} ${parameter}=${value}: ${JSON.stringify(body)}`).toContain(
            status,
          );
          if (status === 200) expect(JSON.stringify(body.data)).not.toContain(u1);
          // An unknown parameter is refused as a whole (/query); a known one by name.
          else expect(body.error.field).toBe(parameter === 'tenant' ? '/query' : `/query/${parameter}`);
        }
      }
    }
    expect(
      await scalar(`SELECT count() AS n FROM ${database}.events WHERE tenant = {t:String}`, { t: tenantA }),
    ).toBeGreaterThan(0);
  });

  test('a member is refused; invalid dates, interval or time zone are 400 naming the field', async () => {
    expect((await get(tenantA, `users/growth?${RANGE}`, 'member')).status).toBe(403);
    const cases: [string, number, string, string][] = [
      ['startDate=2026-03-10&endDate=2026-03-01', 400, 'INVALID_RANGE', '/query/endDate'],
      ['startDate=2025-01-01&endDate=2026-01-02', 400, 'RANGE_TOO_LONG', '/query/startDate'],
      ['startDate=2026-02-31&endDate=2026-03-02', 400, 'INVALID_RANGE', '/query/startDate'],
      ['startDate=03/02/2026', 400, 'VALIDATION_FAILED', '/query/startDate'],
      ['interval=hour', 400, 'VALIDATION_FAILED', '/query/interval'],
      ['tz=Mars/Olympus_Mons', 400, 'UNKNOWN_TIMEZONE', '/query/tz'],
      ['limit=1000', 400, 'VALIDATION_FAILED', '/query/limit'],
    ];
    for (const [query, status, code, field] of cases) {
      const response = await get(tenantA, `users/top?${query}`);
      expect({
        query,
        status: response.status,
        code: response.body.error?.code,
        field: response.body.error?.field,
      }).toEqual({
        query,
        status,
        code,
        field,
      });
    }
    // Exactly 366 days is allowed.
    expect((await get(tenantA, 'users/signups?startDate=2025-03-08&endDate=2026-03-08')).status).toBe(200);
  });
});

describe('ingestion', () => {
  test('malformed events are recorded with their reason and skipped; the partition moves on', async () => {
    const key = randomUUID();
    const topic = eventsTopic(tenantA);
    const valid = signedUp(tenantA, randomUUID(), '2026-05-01T10:00:00.000Z');
    const badPayload = createEvent({
      type: 'chat.message_completed',
      tenant: tenantA,
      aggregateId: key,
      occurredAt: '2026-05-01T10:00:00.000Z',
      payload: { userId: u1, provider: 'openai' },
    });
    const otherTenant = signedUp(tenantB, randomUUID(), '2026-05-01T10:00:00.000Z');
    await producer.send({
      topic,
      messages: [
        { key, value: 'not json at all' },
        { key, value: JSON.stringify({ id: 'nope', type: 'user.signed_up' }) },
        { key, value: serializeEvent(badPayload) },
        // An envelope naming B, on A's topic: neither A's nor B's to count.
        { key, value: serializeEvent(otherTenant) },
        { key, value: serializeEvent({ ...valid, aggregateId: key }) },
      ],
    });
    await expect
      .poll(
        () => scalar(`SELECT count() AS n FROM ${database}.events WHERE id = {id:UUID}`, { id: valid.id }),
        EVENTUALLY,
      )
      .toBe(1);
    const result = await clickhouse.query({
      query: `SELECT event_id, reason FROM ${database}.rejected_events FINAL WHERE tenant = {t:String} ORDER BY offset`,
      query_params: { t: tenantA },
      format: 'JSONEachRow',
    });
    const rejected = await result.json<{ event_id: string; reason: string }>();
    expect(rejected).toHaveLength(4);
    expect(rejected[0]?.reason).toMatch(/not JSON/);
    expect(rejected[1]?.reason).toMatch(/invalid event/);
    expect(rejected[2]).toMatchObject({
      event_id: badPayload.id,
      reason: expect.stringMatching(/invalid chat.message_completed payload/),
    });
    expect(rejected[3]).toMatchObject({
      event_id: otherTenant.id,
      reason: expect.stringMatching(/names tenant/),
    });
    expect(
      await scalar(`SELECT count() AS n FROM ${database}.events WHERE id = {id:UUID}`, {
        id: otherTenant.id,
      }),
    ).toBe(0);
  });

  test('a restart mid-stream and redelivered events lose nothing and count nothing twice', {
    timeout: 180_000,
  }, async () => {
    const total = 3_000;
    const events = Array.from({ length: total }, (_, i) =>
      messageCompleted(tenantB, `2026-06-01T${String(i % 24).padStart(2, '0')}:00:00.000Z`, {
        userId: randomUUID(),
        inputTokens: 1,
        outputTokens: 1,
      }),
    );
    const stored = () =>
      scalar(
        `SELECT count() AS n FROM ${database}.events WHERE tenant = {t:String} AND type = 'chat.message_completed' AND toDate(occurred_at) = '2026-06-01'`,
        { t: tenantB },
      );
    const half = total / 2;
    for (let i = 0; i < half; i += 500) await produce(events.slice(i, i + 500));
    // Stop the service (its consumer) once part of the stream is in; the rest arrives while it is down,
    // with the first 700 events again, as an at-least-once publisher may redeliver them.
    await until('part of the stream stored', async () => (await stored()) > 0, EVENTUALLY);
    await app.close();
    const before = await stored();
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThanOrEqual(half);
    for (let i = half; i < total; i += 500) await produce(events.slice(i, i + 500));
    await produce(events.slice(0, 700));
    app = await buildApp();
    const day = 'chat/activity?startDate=2026-06-01&endDate=2026-06-01';
    await expect
      .poll(async () => (await data(tenantB, day))[0], EVENTUALLY)
      .toEqual({
        bucket: '2026-06-01',
        messages: total,
        failed: 0,
      });
    expect(await stored()).toBe(total);
    expect(
      await scalar(
        `SELECT uniqExact(id) AS n FROM ${database}.events WHERE tenant = {t:String} AND toDate(occurred_at) = '2026-06-01'`,
        {
          t: tenantB,
        },
      ),
    ).toBe(total);
    // The rollups counted each event once, too.
    expect(await data(tenantB, 'chat/tokens?startDate=2026-06-01&endDate=2026-06-01')).toEqual([
      { bucket: '2026-06-01', inputTokens: total, outputTokens: total, totalTokens: 2 * total },
    ]);
  });

  test('a tenant created while the service runs is picked up without a restart', {
    timeout: 240_000,
  }, async () => {
    await h.createTenant(tenantC, {});
    await until(
      `tenant ${tenantC} Ready`,
      async () => (await h.condition(tenantC, 'Ready'))?.status === 'True',
      READY,
    );
    await until(
      'the runtime to follow tenant C',
      async () => runtime.keys.has(tenantC) && signer.has(tenantC) && runtime.databases.has(tenantC),
      READY,
    );
    await produce([signedUp(tenantC, randomUUID(), '2026-03-03T10:00:00.000Z')]);
    await expect
      .poll(async () => (await get(tenantC, `users/signups?${RANGE}`)).body.data, EVENTUALLY)
      .toEqual([{ bucket: '2026-03-03', signups: 1 }]);
  });

  test('GET /health reports Kafka and ClickHouse', async () => {
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect({ status: response.statusCode, body: response.json() }).toEqual({
      status: 200,
      body: { status: 'healthy', service: 'analytics', checks: { kafka: 'up', clickhouse: 'up' } },
    });
  });

  test('the schema files are applied once: a second start applies nothing', async () => {
    expect(await applyClickHouseSchema(clickhouse, database, logger)).toEqual([]);
    expect(await scalar(`SELECT count() AS n FROM ${database}.schema_versions FINAL`, {})).toBe(2);
  });
});
