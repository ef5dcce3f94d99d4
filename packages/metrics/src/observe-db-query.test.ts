import { expect, test } from 'vitest';
import { observeDbQuery } from './observe-db-query.ts';
import { createServiceMetrics } from './service-metrics.ts';

test('observeDbQuery records milliseconds as seconds, without a tenant label', async () => {
  const metrics = createServiceMetrics();
  const onQuery = observeDbQuery(metrics);
  onQuery('acme', 250);
  onQuery('globex', 500);

  const body = await metrics.registry.metrics();
  expect(body).toContain('db_query_duration_seconds_bucket{le="0.1",operation="query"} 0\n');
  expect(body).toContain('db_query_duration_seconds_bucket{le="0.25",operation="query"} 1\n');
  expect(body).toContain('db_query_duration_seconds_bucket{le="0.5",operation="query"} 2\n');
  expect(body).toContain('db_query_duration_seconds_sum{operation="query"} 0.75\n');
  expect(body).toContain('db_query_duration_seconds_count{operation="query"} 2\n');
  expect(body).not.toContain('acme');
  expect(body).not.toContain('tenant=');
});
