import { Registry } from 'prom-client';
import { expect, test } from 'vitest';
import { type PoolStats, registerPoolMetrics } from './pool-metrics.ts';

test('pool gauges are read from the stats at each scrape', async () => {
  const registry = new Registry();
  let stats: PoolStats = {
    openPools: 2,
    drainingPools: 1,
    perTenant: {
      acme: { maxConnections: 4, inFlight: 3 },
      globex: { maxConnections: 4, inFlight: 6 },
    },
  };
  registerPoolMetrics(registry, () => stats);

  const first = await registry.metrics();
  expect(first).toContain('# TYPE db_pool_open_pools gauge\ndb_pool_open_pools 2\n');
  expect(first).toContain('db_pool_draining_pools 1\n');
  expect(first).toContain('db_pool_in_flight{tenant="acme"} 3\n');
  expect(first).toContain('db_pool_max_connections{tenant="acme"} 4\n');
  expect(first).toContain('db_pool_usage_ratio{tenant="acme"} 0.75\n');
  // Work waiting for a connection counts as in flight: the ratio goes above 1 when the pool queues.
  expect(first).toContain('db_pool_usage_ratio{tenant="globex"} 1.5\n');

  stats = { openPools: 1, drainingPools: 0, perTenant: { acme: { maxConnections: 4, inFlight: 0 } } };
  const second = await registry.metrics();
  expect(second).toContain('db_pool_open_pools 1\n');
  expect(second).toContain('db_pool_usage_ratio{tenant="acme"} 0\n');
  // globex's pool closed: its series are gone, not frozen at their last value.
  expect(second).not.toContain('globex');
});

test('a pool without connections has no usage ratio rather than a division by zero', async () => {
  const registry = new Registry();
  registerPoolMetrics(registry, () => ({
    openPools: 1,
    drainingPools: 0,
    perTenant: { acme: { maxConnections: 0, inFlight: 0 } },
  }));
  const body = await registry.metrics();
  expect(body).toContain('db_pool_max_connections{tenant="acme"} 0\n');
  expect(body).not.toContain('db_pool_usage_ratio{');
});
