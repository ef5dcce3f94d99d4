import { expect, test } from 'vitest';
import { markdownTable, summarize } from './stats.ts';

test('summarize gives nearest-rank percentiles', () => {
  const s = summarize([5, 1, 4, 2, 3, 6, 7, 8, 9, 10]);
  expect(s).toMatchObject({ n: 10, p50: 5, p95: 10, max: 10, mean: 5.5 });
  expect(summarize([42])).toMatchObject({ p50: 42, p95: 42, max: 42 });
});

test('markdownTable renders a header separator', () => {
  expect(markdownTable(['a', 'b'], [[1, 2]])).toBe('| a | b |\n| --- | --- |\n| 1 | 2 |');
});
