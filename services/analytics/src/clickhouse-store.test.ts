import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClickHouseClient, createClickHouse } from '@tenantry/clickhouse';
import { devstack, uniqueName } from '@tenantry/devstack/testing';
import { createLogger } from '@tenantry/logger';
import { HttpError } from '@tenantry/service-kit';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ANALYTICS_ERROR_CODES } from './analytics-errors.ts';
import { applyClickHouseSchema } from './clickhouse-schema.ts';
import { eventRow } from './event-rows.ts';
import { createEventStore } from './event-store.ts';
import { createQueryRunner } from './query-runner.ts';
import { messageCompleted } from './test-events.ts';

/** The store and the query runner against the real engine, without Kafka. */

const logger = createLogger({ service: 'analytics', level: 'fatal' });
let scratch: string | undefined;
let client: ClickHouseClient;
const database = uniqueName('analytics_store').replace('-', '_');

beforeAll(async () => {
  const endpoint = devstack().clickhouse;
  if (endpoint.mode === 'http') client = await createClickHouse(endpoint);
  else {
    // The embedded engine binds one data directory per process; this file's process gets its own.
    scratch = mkdtempSync(join(tmpdir(), 'tenantry-analytics-store-'));
    client = await createClickHouse({ mode: 'embedded', path: scratch });
  }
  await applyClickHouseSchema(client, database, logger);
});

afterAll(async () => {
  await client?.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => {});
  await client?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function count(sql: string): Promise<number> {
  const result = await client.query({ query: sql, format: 'JSONEachRow' });
  const [row] = await result.json<{ n: string }>();
  return Number(row?.n);
}

test('a batch stored again, or an event repeated within one, is stored and rolled up once', async () => {
  const store = createEventStore(client, database);
  const rows = Array.from({ length: 50 }, (_, i) =>
    eventRow(
      messageCompleted('store-test', `2026-06-01T${String(i % 24).padStart(2, '0')}:15:00.000Z`, {
        userId: 'u1',
      }),
    ),
  );
  expect(await store.store(rows, [])).toEqual({ inserted: 50, duplicates: 0, rejected: 0 });
  // A redelivery overlapping the first batch, with an event twice in it.
  const again = [...rows.slice(40), rows[45] as (typeof rows)[number], ...rows.slice(0, 5)];
  expect(await store.store(again, [])).toEqual({ inserted: 0, duplicates: 16, rejected: 0 });
  expect(await count(`SELECT count() AS n FROM ${database}.events WHERE tenant = 'store-test'`)).toBe(50);
  expect(
    await count(`SELECT sum(messages) AS n FROM ${database}.chat_hourly WHERE tenant = 'store-test'`),
  ).toBe(50);
});

test('a query that runs over its time is cancelled and answered 503 ANALYTICS_QUERY_TIMEOUT', async () => {
  const run = createQueryRunner({ client, timeoutSeconds: 0.2, logger });
  const error = await run('SELECT count() AS n FROM numbers(100000000000) WHERE number % 7 = 3', {}).catch(
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(HttpError);
  expect(error).toMatchObject({ statusCode: 503, code: ANALYTICS_ERROR_CODES.QUERY_TIMEOUT });
  // The same runner answers the next query.
  expect((await run('SELECT 1 AS n', {})).rows).toEqual([{ n: 1 }]);
});
