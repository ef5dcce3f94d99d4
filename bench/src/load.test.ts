import { expect, test } from 'vitest';
import { fixedRate } from './load.ts';

test('fixedRate never counts a latency from a due time still ahead', async () => {
  // At 2000/s requests are due every 0.5 ms, finer than timers: some are sent a little early.
  const result = await fixedRate(2000, 300, async () => {});
  expect(result.latencies).toHaveLength(600);
  expect(Math.min(...result.latencies)).toBeGreaterThanOrEqual(0);
});

test('fixedRate counts a stall from when each request was due', async () => {
  let first = true;
  const result = await fixedRate(1000, 100, async () => {
    if (!first) return;
    first = false;
    // Blocks the generator itself: the requests due meanwhile go out late, and say so.
    const end = performance.now() + 50;
    while (performance.now() < end) {}
  });
  expect(Math.max(...result.latencies)).toBeGreaterThanOrEqual(40);
});
