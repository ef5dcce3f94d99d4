import { Registry } from 'prom-client';
import { expect, test } from 'vitest';
import { type ConsumerLag, registerConsumerLagMetrics } from './consumer-lag.ts';

test('the lag is read at each scrape, a series per partition; a failed read leaves none', async () => {
  const registry = new Registry();
  let answer: ConsumerLag[] | Error = [
    { topic: 'tenantry.acme.events', partition: 0, lag: 7 },
    { topic: 'tenantry.acme.events', partition: 1, lag: 0 },
  ];
  const errors: unknown[] = [];
  registerConsumerLagMetrics(
    registry,
    'users',
    async () => {
      if (answer instanceof Error) throw answer;
      return answer;
    },
    (error) => errors.push(error),
  );

  const first = await registry.metrics();
  expect(first).toContain('kafka_consumer_lag{group="users",topic="tenantry.acme.events",partition="0"} 7\n');
  expect(first).toContain('kafka_consumer_lag{group="users",topic="tenantry.acme.events",partition="1"} 0\n');

  answer = new Error('while reading the lag of consumer group users: broker down');
  const second = await registry.metrics();
  expect(second).not.toContain('kafka_consumer_lag{');
  expect(errors).toEqual([answer]);

  answer = [{ topic: 'tenantry.globex.events', partition: 0, lag: 2 }];
  const third = await registry.metrics();
  expect(third).toContain(
    'kafka_consumer_lag{group="users",topic="tenantry.globex.events",partition="0"} 2\n',
  );
  // acme's topic is no longer consumed: its series are gone, not frozen.
  expect(third).not.toContain('tenantry.acme.events');
});
