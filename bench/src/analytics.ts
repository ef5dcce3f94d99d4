/**
 * Analytics: the service's Kafka → ClickHouse ingestion against raw @clickhouse/client batch inserts of
 * the same rows, freshness (produced → visible to an endpoint's query) at a steady rate, and the
 * endpoints' query latency over generated events across 100 tenants. One run, side by side.
 *
 *   node --import tsx bench/src/analytics.ts [--events 100000] [--rate 5000] [--seconds 10]
 *     [--query-events 1000000,10000000] [--profile bench]
 *
 * ClickHouse: the devstack's (a server when it has one, else the embedded engine in a scratch dir).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  applyClickHouseSchema,
  createEventStore,
  createIngester,
  createQueryRunner,
  ENDPOINTS,
  eventRow,
  messageCompleted,
} from '@tenantry/analytics';
import { type ClickHouseClient, createClickHouse } from '@tenantry/clickhouse';
import { createProgress, loadConfig, type Profile, up } from '@tenantry/devstack';
import { createLogger } from '@tenantry/logger';
import { eventsTopic } from '@tenantry/tenant-api';
import kafkajs from 'kafkajs';
import { markdownTable, summarize } from './stats.ts';

const { Kafka, logLevel } = kafkajs;
const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '10' },
    'query-events': { type: 'string', default: '1000000' },
    profile: { type: 'string', default: 'bench' },
  },
});
const EVENTS = Number(args.events);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const QUERY_SIZES = String(args['query-events']).split(',').map(Number);
const BATCH_ROWS = 10_000;
const QUERY_TENANTS = 100;
const QUERY_RUNS = 20;
const log = (line: string) => process.stderr.write(`${line}\n`);
const logger = createLogger({ service: 'analytics-bench', level: 'error' });

async function count(client: ClickHouseClient, sql: string): Promise<number> {
  const result = await client.query({ query: sql, format: 'JSONEachRow' });
  const [row] = await result.json<{ n: string }>();
  return Number(row?.n ?? 0);
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Generated events of `tenants` tenants over the last 90 days, through the materialized views. */
function generateSql(database: string, rows: number): string {
  return `INSERT INTO ${database}.events (tenant, occurred_at, type, id, version, aggregate_id, user_id, provider, model,
      status, input_tokens, output_tokens, cost_micro_usd, duration_ms, ttft_ms, amount_minor, currency, payload)
    SELECT concat('bench-t', toString(number % ${QUERY_TENANTS})) AS tenant,
      now64(3) - toIntervalSecond(cityHash64(number, 1) % (90 * 86400)) AS occurred_at,
      multiIf(cityHash64(number, 3) % 20 = 0, 'user.signed_up', cityHash64(number, 3) % 50 = 1, 'billing.payment_succeeded', 'chat.message_completed') AS type,
      generateUUIDv4(number) AS id, 1, toString(number), concat('u', toString(cityHash64(number, 2) % 2000)),
      if(type = 'chat.message_completed', ['openai', 'anthropic', 'google'][1 + number % 3], ''),
      if(type = 'chat.message_completed', ['gpt-4o', 'claude-sonnet', 'gemini-pro', 'gpt-4o-mini'][1 + number % 4], ''),
      if(number % 97 = 0, 'failed', 'completed'), number % 800, number % 1200, number % 5000, 200 + number % 3000,
      100 + number % 400, if(type = 'billing.payment_succeeded', 2900, 0), if(type = 'billing.payment_succeeded', 'usd', ''), '{}'
    FROM numbers(${rows})`;
}

async function main() {
  log(
    `Tenantry benchmark: analytics (${EVENTS} events ingested, ${RATE}/s for ${SECONDS} s, queries over ${QUERY_SIZES.join(', ')})`,
  );
  const { endpoints } = await up(loadConfig(args.profile as Profile), createProgress());
  let scratch: string | undefined;
  let client: ClickHouseClient;
  if (endpoints.clickhouse.mode === 'http') client = await createClickHouse(endpoints.clickhouse);
  else {
    scratch = mkdtempSync(join(tmpdir(), 'tenantry-analytics-bench-'));
    client = await createClickHouse({ mode: 'embedded', path: scratch });
  }
  const run = Date.now().toString(36);
  const db = {
    service: `bench_${run}_svc`,
    raw: `bench_${run}_raw`,
    fresh: `bench_${run}_fresh`,
    query: `bench_${run}_q`,
  };
  const tenants = [0, 1, 2, 3].map((i) => `ab-${run}-${i}`);
  const freshTenant = `ab-${run}-f`;
  const topics = [...tenants, freshTenant].map(eventsTopic);
  const kafka = new Kafka({
    clientId: 'analytics-bench',
    brokers: endpoints.kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const producer = kafka.producer();
  await admin.connect();
  await producer.connect();
  const groups: string[] = [];
  const results: Record<string, unknown> = {};
  try {
    await admin.createTopics({
      topics: [
        ...tenants.map((t) => ({ topic: eventsTopic(t), numPartitions: 3 })),
        { topic: eventsTopic(freshTenant), numPartitions: 1 },
      ],
    });
    for (const database of Object.values(db)) await applyClickHouseSchema(client, database, logger);

    // 1. Ingest: the same events through the service's ingester, and as raw batch inserts.
    const events = Array.from({ length: EVENTS }, (_, i) =>
      messageCompleted(
        tenants[i % tenants.length] as string,
        new Date(Date.now() - (i % 86_400) * 1000).toISOString(),
        {
          userId: `u${i % 1000}`,
        },
      ),
    );
    for (let i = 0; i < EVENTS; i += 5_000) {
      const chunk = events.slice(i, i + 5_000);
      await producer.sendBatch({
        topicMessages: tenants.map((tenant) => ({
          topic: eventsTopic(tenant),
          messages: chunk
            .filter((e) => e.tenant === tenant)
            .map((e) => ({ key: e.aggregateId, value: JSON.stringify(e) })),
        })),
      });
    }
    log('ingest: produced; consuming through the service');
    let firstStoredAt = 0;
    let storedAfterFirst = 0;
    const groupId = `analytics-bench-${run}`;
    groups.push(groupId);
    const ingester = createIngester({
      kafka,
      store: createEventStore(client, db.service),
      groupId,
      topicPattern: new RegExp(`^tenantry\\.ab-${run}-[0-3]\\.events$`),
      topicCheckIntervalMs: 60_000,
      batchRows: BATCH_ROWS,
      lingerMs: 200,
      logger,
      onStored: (batch) => {
        if (firstStoredAt === 0) firstStoredAt = performance.now();
        else storedAfterFirst += batch.inserted;
      },
    });
    const started = performance.now();
    await ingester.start();
    await until(
      'the service to store every event',
      600_000,
      async () => (await count(client, `SELECT count() AS n FROM ${db.service}.events`)) >= EVENTS,
    );
    const done = performance.now();
    await ingester.stop();
    const serviceRate = storedAfterFirst / ((done - firstStoredAt) / 1000);
    const rows = events.map(eventRow);
    const rawStarted = performance.now();
    for (let i = 0; i < rows.length; i += BATCH_ROWS) {
      await client.insert({
        table: `${db.raw}.events`,
        format: 'JSONEachRow',
        values: rows.slice(i, i + BATCH_ROWS),
      });
    }
    const rawRate = EVENTS / ((performance.now() - rawStarted) / 1000);
    results.ingest = {
      events: EVENTS,
      serviceEventsPerSecond: Math.round(serviceRate),
      serviceIncludingGroupJoinEventsPerSecond: Math.round(EVENTS / ((done - started) / 1000)),
      rawInsertEventsPerSecond: Math.round(rawRate),
      ratio: Math.round((serviceRate / rawRate) * 100) / 100,
    };
    log(`ingest: ${JSON.stringify(results.ingest)}`);

    // 2. Freshness: a steady rate; each 100 ms slice's events visible to a count query over the rollup.
    const freshGroup = `analytics-bench-${run}-fresh`;
    groups.push(freshGroup);
    const fresh = createIngester({
      kafka,
      store: createEventStore(client, db.fresh),
      groupId: freshGroup,
      topicPattern: new RegExp(`^tenantry\\.${freshTenant}\\.events$`),
      topicCheckIntervalMs: 60_000,
      batchRows: BATCH_ROWS,
      lingerMs: 200,
      logger,
    });
    await fresh.start();
    // Let the group join before the clock starts: freshness is about a running service.
    await producer.send({
      topic: eventsTopic(freshTenant),
      messages: [
        {
          value: JSON.stringify(messageCompleted(freshTenant, new Date().toISOString(), { userId: 'warm' })),
        },
      ],
    });
    const visible = () =>
      count(client, `SELECT sum(messages) AS n FROM ${db.fresh}.chat_hourly WHERE tenant = '${freshTenant}'`);
    await until('the freshness consumer to join', 120_000, async () => (await visible()) >= 1);
    const perSlice = Math.round(RATE / 10);
    const slices = SECONDS * 10;
    const producedAt: number[] = [];
    const latencies: number[] = [];
    let seen = 1;
    const watcher = (async () => {
      for (let k = 0; k < slices; ) {
        const n = await visible();
        const now = performance.now();
        while (k < slices && producedAt[k] !== undefined && n >= 1 + (k + 1) * perSlice) {
          latencies.push(now - (producedAt[k] as number));
          k++;
        }
        seen = n;
        await sleep(20);
      }
    })();
    const begin = performance.now();
    for (let k = 0; k < slices; k++) {
      const at = begin + k * 100;
      if (performance.now() < at) await sleep(at - performance.now());
      const batch = Array.from({ length: perSlice }, () =>
        messageCompleted(freshTenant, new Date().toISOString(), { userId: 'f' }),
      );
      producedAt[k] = performance.now();
      await producer.send({
        topic: eventsTopic(freshTenant),
        messages: batch.map((e) => ({ value: JSON.stringify(e) })),
      });
    }
    await Promise.race([
      watcher,
      sleep(60_000).then(() => {
        throw new Error(`freshness: ${seen} visible`);
      }),
    ]);
    await fresh.stop();
    const f = summarize(latencies);
    results.freshness = {
      ratePerSecond: RATE,
      seconds: SECONDS,
      p50Ms: Math.round(f.p50),
      p99Ms: Math.round(f.p99),
      maxMs: Math.round(f.max),
    };
    log(`freshness: ${JSON.stringify(results.freshness)}`);

    // 3. Queries over generated events across 100 tenants: one tenant's last 30 days, by day.
    const run1 = createQueryRunner({ client, timeoutSeconds: 30, logger });
    const queryRows: (string | number)[][] = [];
    let generated = 0;
    for (const size of QUERY_SIZES) {
      await client.command({ query: generateSql(db.query, size - generated) });
      generated = size;
      const today = new Date().toISOString().slice(0, 10);
      const start = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);
      const params = {
        tenant: 'bench-t7',
        startDate: start,
        endDate: today,
        tz: 'UTC',
        limit: 10,
        rowLimit: 10_001,
      };
      for (const endpoint of ENDPOINTS) {
        const times: number[] = [];
        let rowsRead = 0;
        for (let i = 0; i < QUERY_RUNS; i++) {
          const t0 = performance.now();
          rowsRead = 0;
          await endpoint.run({
            database: db.query,
            tenant: params.tenant,
            period: { startDate: start, endDate: today, interval: 'day', tz: 'UTC', days: 30 },
            limit: 10,
            maxRows: 10_000,
            query: async (sql) => {
              const result = await run1(sql, params);
              rowsRead += result.rowsRead;
              return result.rows;
            },
          });
          times.push(performance.now() - t0);
        }
        const s = summarize(times);
        queryRows.push([
          size.toLocaleString('en'),
          endpoint.path,
          s.p50.toFixed(1),
          s.p95.toFixed(1),
          rowsRead,
        ]);
      }
      log(`queries over ${size} events: done`);
    }
    results.queries = queryRows;

    process.stdout.write(`${JSON.stringify(results, null, 2)}\n\n`);
    process.stdout.write(
      `${markdownTable(
        ['ingest', 'events/s'],
        [
          [
            'service (Kafka → ClickHouse, after group join)',
            (results.ingest as { serviceEventsPerSecond: number }).serviceEventsPerSecond,
          ],
          [
            'raw @clickhouse/client batch inserts',
            (results.ingest as { rawInsertEventsPerSecond: number }).rawInsertEventsPerSecond,
          ],
          ['ratio', (results.ingest as { ratio: number }).ratio],
        ],
      )}\n\n${markdownTable(['freshness at events/s', 'p50 ms', 'p99 ms'], [[RATE, Math.round(f.p50), Math.round(f.p99)]])}\n\n${markdownTable(['events', 'endpoint', 'p50 ms', 'p95 ms', 'rows read'], queryRows)}\n`,
    );
  } finally {
    await producer.disconnect();
    await admin.deleteTopics({ topics }).catch(() => {});
    await admin.deleteGroups(groups).catch(() => {});
    await admin.disconnect();
    for (const database of Object.values(db))
      await client.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => {});
    await client.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
