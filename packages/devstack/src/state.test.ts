import { expect, test } from 'vitest';
import { kafkaClusterId } from './state.ts';

test('Kafka cluster ids are 22 URL-safe characters and never start with a dash', () => {
  // A leading '-' made kafka-storage read the id as an option (1 stack in 64 failed to format).
  for (let i = 0; i < 5000; i++) {
    const id = kafkaClusterId();
    expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  }
});
