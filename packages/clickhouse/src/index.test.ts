import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devstack, uniqueName } from '@tenantry/devstack/testing';
import { afterAll, expect, test } from 'vitest';
import { type ClickHouseTarget, createClickHouse } from './index.ts';

// The embedded engine is one per process and owns its directory, so this test file gets its own.
const scratch = mkdtempSync(join(tmpdir(), 'tenantry-chdb-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function target(): ClickHouseTarget {
  const { clickhouse } = devstack();
  return clickhouse.mode === 'http' ? clickhouse : { mode: 'embedded', path: scratch };
}

test('@clickhouse/client inserts and queries with query parameters through the ClickHouse engine', async () => {
  const client = await createClickHouse(target());
  const database = uniqueName('smoke').replace('-', '_');
  try {
    await client.command({ query: `CREATE DATABASE ${database}` });
    await client.command({
      query: `CREATE TABLE ${database}.events (tenant String, type String, at DateTime64(3, 'UTC'), tokens UInt32)
              ENGINE = MergeTree ORDER BY (tenant, at)`,
    });
    await client.insert({
      table: `${database}.events`,
      format: 'JSONEachRow',
      values: [
        { tenant: 'acme', type: 'chat.message_completed', at: '2026-11-01 10:00:00.000', tokens: 120 },
        { tenant: 'acme', type: 'chat.message_completed', at: '2026-11-02 10:00:00.000', tokens: 80 },
        { tenant: 'globex', type: 'chat.message_completed', at: '2026-11-01 11:00:00.000', tokens: 999 },
      ],
    });
    const result = await client.query({
      query: `SELECT tenant, count() AS messages, sum(tokens) AS tokens FROM ${database}.events
              WHERE tenant = {tenant:String} AND at >= {since:DateTime64(3, 'UTC')} GROUP BY tenant`,
      query_params: { tenant: 'acme', since: '2026-11-01 00:00:00.000' },
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ tenant: string; messages: string; tokens: string }>();
    expect(rows).toEqual([{ tenant: 'acme', messages: '2', tokens: '200' }]);

    // Parameters are bound by the engine, never spliced into SQL.
    const hostile = await client.query({
      query: `SELECT count() AS n FROM ${database}.events WHERE tenant = {tenant:String}`,
      query_params: { tenant: "acme' OR '1'='1" },
      format: 'JSONEachRow',
    });
    expect(await hostile.json()).toEqual([{ n: '0' }]);
  } finally {
    await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await client.close();
  }
});
